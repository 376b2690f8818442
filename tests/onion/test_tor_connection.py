"""Reaching tor: a running one by port or socket, or one we launch; errors that say what to do."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from onion.errors import OnionError, TorAuthFailed, TorLaunchFailed, TorNotReachable
from onion.tor_connection import (
    ControlPortSpec,
    ControlSocketSpec,
    LaunchSpec,
    find_launched_tor,
    open_tor_connection,
    parse_controller_spec,
)
from tests.support.onion import OFFLINE
from tests.support.ports import free_port


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("launch", LaunchSpec()),
        ("unix:/run/tor/control", ControlSocketSpec(Path("/run/tor/control"))),
        ("/run/tor/control", ControlSocketSpec(Path("/run/tor/control"))),
        ("127.0.0.1:9051", ControlPortSpec("127.0.0.1", 9051)),
        ("9151", ControlPortSpec("127.0.0.1", 9151)),
    ],
)
def test_control_addresses_are_understood(text, expected):
    assert parse_controller_spec(text) == expected


@pytest.mark.parametrize("text", ["", "tor", "127.0.0.1:0", "127.0.0.1:70000", "host:"])
def test_bad_control_address_says_what_is_accepted(text):
    with pytest.raises(OnionError, match=r"127\.0\.0\.1:9051"):
        parse_controller_spec(text)


def test_password_is_kept_out_of_repr():
    spec = parse_controller_spec("127.0.0.1:9051", "hunter2")
    assert spec.password == "hunter2"
    assert "hunter2" not in repr(spec)


@pytest.mark.tor
def test_unreachable_control_port_names_the_address_and_the_fix(tmp_path):
    port = free_port()
    with pytest.raises(TorNotReachable) as caught:
        open_tor_connection(ControlPortSpec("127.0.0.1", port), tmp_path)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "ControlPort" in str(caught.value)


def test_missing_control_socket_is_not_reachable(tmp_path):
    with pytest.raises(TorNotReachable, match="ControlSocket"):
        open_tor_connection(ControlSocketSpec(tmp_path / "nope.sock"), tmp_path)


@pytest.mark.tor
def test_wrong_password_is_an_auth_failure_with_advice(system_tor, tmp_path):
    spec = ControlPortSpec("127.0.0.1", system_tor.control_port, "wrong password")
    with pytest.raises(TorAuthFailed) as caught:
        open_tor_connection(spec, tmp_path)
    assert "password is wrong" in str(caught.value)
    assert "HashedControlPassword" in str(caught.value)


@pytest.mark.tor
def test_missing_password_is_an_auth_failure(system_tor, tmp_path):
    spec = ControlPortSpec("127.0.0.1", system_tor.control_port)
    with pytest.raises(TorAuthFailed, match="none was given"):
        open_tor_connection(spec, tmp_path)


@pytest.mark.tor
def test_right_password_connects(system_tor, tmp_path):
    spec = ControlPortSpec("127.0.0.1", system_tor.control_port, system_tor.password)
    connection = open_tor_connection(spec, tmp_path)
    try:
        assert connection.info("version")
    finally:
        connection.close()
    assert system_tor.process.poll() is None, "closing a connection must not stop a system tor"


@pytest.mark.tor
def test_launched_tor_lives_in_the_data_dir_and_stops_on_close(data_dir, tor_binary):
    tor_dir = data_dir / "tor"
    connection = open_tor_connection(LaunchSpec(tor_binary, OFFLINE), tor_dir)
    try:
        assert connection.process is not None
        assert connection.controller.get_conf("DataDirectory") == str(tor_dir)
        assert find_launched_tor(tor_dir) == ControlSocketSpec(tor_dir / "control.sock")
        assert (tor_dir / "control.sock").stat().st_mode & 0o777 != 0o777
        assert (tor_dir.stat().st_mode & 0o777) == 0o700
        # A second client (e.g. `skrynka onion status`) can use the socket and cookie.
        other = open_tor_connection(find_launched_tor(tor_dir), tor_dir)
        other.close()
    finally:
        connection.close()
    assert connection.process.poll() is not None


@pytest.mark.tor
def test_long_data_dir_falls_back_to_a_tcp_control_port(tmp_path, tor_binary):
    tor_dir = tmp_path / ("d" * 60) / ("e" * 40) / "tor"
    connection = open_tor_connection(LaunchSpec(tor_binary, OFFLINE), tor_dir)
    try:
        spec = find_launched_tor(tor_dir)
        assert isinstance(spec, ControlPortSpec)
        assert spec.host == "127.0.0.1"
    finally:
        connection.close()


@pytest.mark.tor
def test_bad_extra_torrc_line_is_a_launch_failure(data_dir, tor_binary):
    with pytest.raises(TorLaunchFailed, match="verify-config"):
        open_tor_connection(LaunchSpec(tor_binary, (*OFFLINE, "NoSuchOption 1")), data_dir / "tor")


def test_missing_tor_binary_is_a_launch_failure(data_dir):
    with pytest.raises(TorLaunchFailed, match="apt install tor"):
        open_tor_connection(LaunchSpec("/nonexistent/tor", OFFLINE), data_dir / "tor")


@pytest.mark.tor
def test_launched_tor_survives_a_reload_and_still_closes_promptly(data_dir, tor_binary):
    """Reload re-reads the torrc file (not an empty stdin); and a reload event in flight,
    which can deadlock stem's own close, does not hang ours."""
    connection = open_tor_connection(LaunchSpec(tor_binary, OFFLINE), data_dir / "tor")
    ok, _ = connection.command("SIGNAL RELOAD")
    assert ok
    assert connection.info("version")
    assert connection.controller.get_conf("DisableNetwork") == "1"
    assert connection.process.poll() is None
    started = time.monotonic()
    connection.close()
    assert time.monotonic() - started < 30
    assert connection.process.poll() is not None
