"""The shipped deploy/ files: tor accepts the torrc, systemd accepts the units, and the
commands they run are ones `skrynka` understands."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from onion.tor_connection import ControlSocketSpec, LaunchSpec, parse_controller_spec

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DEBIAN_DEFAULTS = Path("/usr/share/tor/tor-service-defaults-torrc")


def torrc_options(path: Path) -> dict[str, str]:
    options = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" ")
            options[key] = value
    return options


@pytest.mark.tor
def test_tor_accepts_the_hardened_torrc_on_top_of_debians_defaults(tmp_path):
    tor = shutil.which("tor", path="/usr/sbin:/usr/bin")
    assert tor is not None
    defaults = DEBIAN_DEFAULTS
    if not defaults.exists():
        defaults = tmp_path / "defaults-torrc"
        defaults.write_text("")
    result = subprocess.run(
        [tor, "--defaults-torrc", str(defaults), "-f", str(DEPLOY / "torrc"), "--verify-config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration was valid" in result.stdout


def test_torrc_exposes_nothing_but_onion_services():
    options = torrc_options(DEPLOY / "torrc")
    for closed in ("ControlPort", "ORPort", "DirPort", "ExitRelay"):
        assert options[closed] == "0", closed
    # The one way out, for time-stamp requests: a Unix socket for group debian-tor, no TCP port.
    assert options["SocksPort"] == "unix:/run/tor/socks GroupWritable RelaxDirModeCheck"
    assert options["Sandbox"] == "1"
    assert options["SafeLogging"] == "1"


def exec_start(unit: Path) -> list[str]:
    lines = [x for x in unit.read_text().splitlines() if x.startswith("ExecStart=")]
    return lines[-1].removeprefix("ExecStart=").split()


def test_service_runs_serve_through_the_system_tor_control_socket():
    command = exec_start(DEPLOY / "skrynka.service")
    assert command[1:3] == ["serve", "--tor-control"]
    assert parse_controller_spec(command[3]) == ControlSocketSpec(Path("/run/tor/control"))


def test_own_tor_drop_in_launches_tor():
    command = exec_start(DEPLOY / "skrynka.service.d" / "own-tor.conf")
    assert parse_controller_spec(command[command.index("--tor-control") + 1]) == LaunchSpec()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path):
    skrynka = shutil.which("skrynka") or str(
        Path(__file__).resolve().parents[2] / ".venv/bin/skrynka"
    )
    unit = tmp_path / "skrynka.service"
    text = (DEPLOY / "skrynka.service").read_text()
    unit.write_text(text.replace("/opt/skrynka/venv/bin/skrynka", skrynka))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_the_retention_service_runs_a_command_skrynka_knows():
    from server.cli import build_parser

    command = exec_start(DEPLOY / "skrynka-retention.service")
    assert command[1:] == ["retention", "run"]
    parsed = build_parser().parse_args(command[1:])
    assert parsed.retention_command == "run"
    timer = (DEPLOY / "skrynka-retention.timer").read_text()
    assert "Unit=skrynka-retention.service" in timer
    assert "OnCalendar=hourly" in timer



VENV_BIN = Path(__file__).resolve().parents[2] / ".venv/bin"


def _verify_units(tmp_path: Path, names: list[str]) -> subprocess.CompletedProcess[str]:
    paths = []
    for name in names:
        text = (DEPLOY / name).read_text().replace("/opt/skrynka/venv/bin", str(VENV_BIN))
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    return subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize(
    "unit", ["skrynka-timestamp", "skrynka-workstation-fixity", "skrynka-retention"]
)
def test_systemd_accepts_the_timers_and_their_services(tmp_path, unit):
    result = _verify_units(tmp_path, [f"{unit}.service", f"{unit}.timer"])
    assert result.returncode == 0, result.stderr


def test_the_timestamp_job_runs_the_timestamp_command_through_tors_socket():
    unit = (DEPLOY / "skrynka-timestamp.service").read_text()
    assert exec_start(DEPLOY / "skrynka-timestamp.service")[1:] == ["timestamp", "run"]
    assert "Environment=SKRYNKA_TSA_SOCKS_PROXY=unix:/run/tor/socks" in unit
    assert "SupplementaryGroups=debian-tor" in unit


def test_the_fixity_job_runs_fixity_without_network():
    unit = (DEPLOY / "skrynka-workstation-fixity.service").read_text()
    command = exec_start(DEPLOY / "skrynka-workstation-fixity.service")
    assert command[0].endswith("skrynka-workstation")
    assert command[1] == "fixity"
    assert "PrivateNetwork=yes" in unit
