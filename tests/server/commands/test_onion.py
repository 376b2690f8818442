"""`skrynka onion ...` as an operator uses it, against files on disk and a real tor."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from onion.client_key import decode_key
from onion.keystore import OnionKeyStore, ServiceRole
from onion.publisher import OnionPublisher
from onion.tor_connection import LaunchSpec
from server.commands.onion import register_onion_commands


def run(data_dir: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="skrynka")
    parser.add_argument("--data-dir", type=Path, default=data_dir)
    commands = parser.add_subparsers(dest="command", required=True)
    register_onion_commands(commands, lambda args: args.data_dir)
    args = parser.parse_args(["onion", *argv])
    return int(args.func(args))


@pytest.fixture
def data_dir(tmp_path):
    directory = tmp_path / "data"
    directory.mkdir(mode=0o700)
    return directory


def every_byte_under(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())


def test_add_client_prints_a_working_line_and_stores_only_the_public_key(data_dir, capsys):
    assert run(data_dir, "add-client", "anna-laptop") == 0
    out = capsys.readouterr().out
    keystore = OnionKeyStore(data_dir / "onion")
    journalist = keystore.load_service_key(ServiceRole.JOURNALIST)
    line = next(x for x in out.splitlines() if ":descriptor:x25519:" in x)
    service_id, _, _, private_b32 = line.split(":")
    assert service_id == journalist.service_id
    assert len(decode_key(private_b32)) == 32
    assert private_b32.encode() not in every_byte_under(data_dir)
    [client] = keystore.list_clients()
    assert client.name == "anna-laptop"
    assert f"http://{journalist.onion_address}" in out
    assert "applies when 'skrynka serve' starts" in out


def test_add_client_twice_fails_and_keeps_the_first_key(data_dir, capsys):
    run(data_dir, "add-client", "anna")
    before = (data_dir / "onion/journalist/authorized_clients/anna.auth").read_bytes()
    capsys.readouterr()
    assert run(data_dir, "add-client", "anna") == 1
    captured = capsys.readouterr()
    assert "already authorised" in captured.err
    assert ":descriptor:x25519:" not in captured.out
    assert (data_dir / "onion/journalist/authorized_clients/anna.auth").read_bytes() == before


def test_bad_name_is_refused_and_creates_nothing(data_dir, capsys):
    assert run(data_dir, "add-client", "../../etc/passwd") == 1
    assert "not a valid staff device name" in capsys.readouterr().err
    assert not (data_dir / "onion").exists()


def test_remove_client(data_dir, capsys):
    run(data_dir, "add-client", "anna")
    run(data_dir, "add-client", "boris")
    assert run(data_dir, "remove-client", "anna") == 0
    assert [c.name for c in OnionKeyStore(data_dir / "onion").list_clients()] == ["boris"]
    capsys.readouterr()
    assert run(data_dir, "remove-client", "anna") == 1
    assert "No staff device named 'anna'" in capsys.readouterr().err


def test_status_without_keys_or_tor(data_dir, capsys):
    assert run(data_dir, "status") == 0
    out = capsys.readouterr().out
    assert "no key yet" in out
    assert "staff devices:        0 (none)" in out
    assert "no running tor found" in out


def test_status_with_an_unreachable_tor_says_so(data_dir, capsys):
    assert run(data_dir, "status", "--tor-control", "127.0.0.1:1") == 0
    assert "Cannot reach tor's control port at 127.0.0.1:1" in capsys.readouterr().out


def test_missing_password_file_is_a_clear_error(data_dir, capsys):
    code = run(data_dir, "status", "--tor-control", "9051", "--tor-password-file", "/nope")
    assert code == 1
    assert "Cannot read the tor control password file /nope" in capsys.readouterr().err


@pytest.mark.tor
def test_status_and_clients_follow_a_running_serve(data_dir, capsys):
    tor = shutil.which("tor", path="/usr/sbin:/usr/bin")
    run(data_dir, "add-client", "anna")
    with OnionPublisher(data_dir, LaunchSpec(tor, ("DisableNetwork 1",))) as publisher:
        published = publisher.publish(18080, 18081)
        capsys.readouterr()
        assert run(data_dir, "status") == 0
        out = capsys.readouterr().out
        assert f"{published.source}  (published)" in out
        assert f"{published.journalist}  (published)" in out
        assert "staff devices:        1 (anna)" in out

        assert run(data_dir, "add-client", "boris") == 0
        assert "now admits 2 staff device(s)" in capsys.readouterr().out
        assert run(data_dir, "remove-client", "anna") == 0
        assert "now admits 1 staff device(s)" in capsys.readouterr().out
        assert run(data_dir, "remove-client", "boris") == 0
        assert "no longer publishes the journalist interface" in capsys.readouterr().out
        run(data_dir, "status")
        assert f"{published.journalist}  (not published)" in capsys.readouterr().out


def test_torrc_points_a_system_tor_at_copies_of_our_keys(data_dir, capsys):
    run(data_dir, "add-client", "anna")
    capsys.readouterr()
    assert run(data_dir, "torrc", "--source-port", "9000", "--journalist-port", "9001") == 0
    out = capsys.readouterr().out
    assert (
        "HiddenServiceDir /var/lib/tor/skrynka-source\nHiddenServicePort 80 127.0.0.1:9000" in out
    )
    assert "HiddenServicePort 80 127.0.0.1:9001" in out
    assert "HiddenServicePoWDefensesEnabled 1" in out
    assert str(data_dir / "onion" / "journalist") in out


def test_torrc_leaves_out_an_unrestricted_journalist_service(data_dir, capsys):
    assert run(data_dir, "torrc") == 0
    out = capsys.readouterr().out
    assert "HiddenServicePort 80 127.0.0.1:8080" in out
    config = [line for line in out.splitlines() if not line.startswith("#")]
    assert "HiddenServiceDir /var/lib/tor/skrynka-journalist" not in config
    assert "journalist interface is left out" in out
