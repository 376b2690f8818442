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
    for closed in ("SocksPort", "ControlPort", "ORPort", "DirPort", "ExitRelay"):
        assert options[closed] == "0", closed
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


def test_systemd_accepts_the_retention_service_and_timer(tmp_path):
    skrynka = shutil.which("skrynka") or str(
        Path(__file__).resolve().parents[2] / ".venv/bin/skrynka"
    )
    service = tmp_path / "skrynka-retention.service"
    text = (DEPLOY / "skrynka-retention.service").read_text()
    service.write_text(text.replace("/opt/skrynka/venv/bin/skrynka", skrynka))
    timer = tmp_path / "skrynka-retention.timer"
    timer.write_text((DEPLOY / "skrynka-retention.timer").read_text())
    result = subprocess.run(
        ["systemd-analyze", "verify", str(service), str(timer)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
