"""Onionbalance's two halves: an app server's instance files and the front's key and config."""

from __future__ import annotations

import json
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from onion.address import address_from_public_key
from onion.balance import (
    FRONT_CONFIG_NAME,
    FRONT_KEY_NAME,
    OB_CONFIG_NAME,
    check_onion_address,
    instance_torrc_lines,
    write_front_config,
    write_ob_config,
)
from onion.errors import BalanceConfigInvalid, OnionAddressInvalid
from onion.service_key import generate_service_key

ONIONBALANCE_PYTHON = "/usr/bin/python3"  # Debian's onionbalance runs on the system Python


def an_address() -> str:
    return generate_service_key().onion_address


def with_bad_checksum(address: str) -> str:
    flipped = "a" if address[50] != "a" else "b"
    return address[:50] + flipped + address[51:]


def test_an_address_is_normalised_and_its_checksum_checked():
    address = an_address()
    assert check_onion_address(address) == address
    assert check_onion_address(address.removesuffix(".onion").upper()) == address
    assert check_onion_address(f"http://{address}/") == address
    with pytest.raises(OnionAddressInvalid, match="checksum"):
        check_onion_address(with_bad_checksum(address))
    with pytest.raises(OnionAddressInvalid, match="56 characters"):
        check_onion_address("expyuzz4wqqyqhjn.onion")


def test_an_instance_names_its_front_beside_its_keys(tmp_path):
    front = an_address()
    service_dir = tmp_path / "source"
    service_dir.mkdir(mode=0o700)
    write_ob_config(service_dir, front)
    assert (service_dir / OB_CONFIG_NAME).read_text() == f"MasterOnionAddress {front}\n"
    assert (service_dir / OB_CONFIG_NAME).stat().st_mode & 0o777 == 0o600
    assert instance_torrc_lines(service_dir, 8080) == (
        f"HiddenServiceDir {service_dir}",
        "HiddenServicePort 80 127.0.0.1:8080",
        "HiddenServiceOnionbalanceInstance 1",
    )


def test_the_front_key_is_made_once_and_its_address_kept(tmp_path):
    first = write_front_config(tmp_path / "front", [])
    assert first.key_created
    assert first.config_path is None
    key_file = tmp_path / "front" / FRONT_KEY_NAME
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    public = key.public_key().public_bytes_raw()  # type: ignore[union-attr]
    assert first.address == address_from_public_key(public) + ".onion"
    again = write_front_config(tmp_path / "front", [an_address()])
    assert not again.key_created
    assert again.address == first.address


def test_onionbalance_reads_the_config_it_is_given(tmp_path):
    instances = [an_address(), an_address()]
    front = write_front_config(tmp_path / "front dir", instances)
    assert front.config_path == tmp_path / "front dir" / FRONT_CONFIG_NAME
    # Loaded the way onionbalance loads it, with its own code and Debian's Python.
    script = (
        "import sys, json\n"
        "from onionbalance.common.util import read_config_data_from_file\n"
        "print(json.dumps(read_config_data_from_file(sys.argv[1])))\n"
    )
    result = subprocess.run(
        [ONIONBALANCE_PYTHON, "-c", script, str(front.config_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    config = json.loads(result.stdout)
    (service,) = config["services"]
    assert service["key"] == str(tmp_path / "front dir" / FRONT_KEY_NAME)
    assert [instance["address"] for instance in service["instances"]] == instances


def test_every_problem_with_the_instances_is_named_and_nothing_written(tmp_path):
    front = write_front_config(tmp_path / "front", [])
    good = an_address()
    with pytest.raises(BalanceConfigInvalid) as caught:
        write_front_config(
            tmp_path / "front", [good, with_bad_checksum(an_address()), good, front.address]
        )
    problems = caught.value.problems
    assert len(problems) == 3, problems
    assert "checksum" in problems[0]
    assert "listed twice" in problems[1]
    assert "the front's own address" in problems[2]
    assert not (tmp_path / "front" / FRONT_CONFIG_NAME).exists()
