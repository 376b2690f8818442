"""Onionbalance: several app servers behind one onion address.

Sources know one address, the *front*. Nothing serves on it: the `onionbalance` daemon (Debian
package `onionbalance`) on a front machine holds its key, fetches the descriptors of the
*instances* (each app server's own source onion service), and publishes a descriptor for the
front that lists introduction points of every instance that is up. A source's tor then meets
one of the app servers, chosen at random among the introduction points.

Two halves live here:

- the instance side, for `skrynka serve`: tor supports Onionbalance instances only for services
  in its torrc (`HiddenServiceOnionbalanceInstance 1`, plus a file `ob_config` in the service
  directory naming `MasterOnionAddress`), not for those added with ADD_ONION, so
  `instance_torrc_lines` gives the lines for the tor skrynka launches, pointing at the key
  directory we already keep in tor's layout;
- the front side, for `skrynka onion balance-config`: the front's key (created once, PEM as
  onionbalance's own tools write it) and onionbalance's `config.yaml` listing the instances.

Every address is checked (length, alphabet, checksum) before anything is written, and every
problem of a front configuration is reported at once; a file is written to a temporary name,
fsynced and renamed, so a failed run leaves the previous configuration in place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from onion.address import address_from_public_key, public_key_from_address
from onion.errors import BalanceConfigInvalid, OnionAddressInvalid, OnionKeyInvalid
from onion.keystore import write_private_file

OB_CONFIG_NAME = "ob_config"
FRONT_KEY_NAME = "frontend.key"
FRONT_CONFIG_NAME = "config.yaml"
VIRTUAL_PORT = 80


def check_onion_address(text: str, what: str = "onion address") -> str:
    """`text` as "<56 characters>.onion" (".onion" may be left off); OnionAddressInvalid if it
    is not a v3 address whose checksum matches."""
    address = text.strip().lower().removeprefix("http://").rstrip("/")
    try:
        public_key_from_address(address)
    except ValueError as error:
        raise OnionAddressInvalid(what, text, str(error)) from error
    return address.removesuffix(".onion") + ".onion"


# The instance side -------------------------------------------------------------------------


def write_ob_config(service_dir: Path, front_address: str) -> None:
    """Tell tor which front this service is an instance of (read when tor loads the service)."""
    front = check_onion_address(front_address, "Onionbalance front address")
    write_private_file(service_dir / OB_CONFIG_NAME, f"MasterOnionAddress {front}\n".encode())


def instance_torrc_lines(service_dir: Path, port: int) -> tuple[str, ...]:
    """torrc lines hosting the service in `service_dir` as an Onionbalance instance.

    No proof-of-work defence: the front's descriptor, written by onionbalance, carries no PoW
    parameters, so clients coming through the front would never solve a puzzle anyway.
    """
    return (
        f"HiddenServiceDir {service_dir}",
        f"HiddenServicePort {VIRTUAL_PORT} 127.0.0.1:{port}",
        "HiddenServiceOnionbalanceInstance 1",
    )


# The front side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FrontConfig:
    """What `write_front_config` left in the front's directory."""

    address: str
    key_path: Path
    config_path: Path | None
    instances: tuple[str, ...]
    key_created: bool


def load_or_create_front_key(directory: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The front's identity key from `directory`, created (0600) if there is none yet."""
    path = directory / FRONT_KEY_NAME
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as error:
            raise OnionKeyInvalid(str(path), str(error)) from error
        if not isinstance(key, Ed25519PrivateKey):
            raise OnionKeyInvalid(str(path), "not an ed25519 key")
        return key, False
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private_file(path, pem)
    return key, True


def front_address_of(key: Ed25519PrivateKey) -> str:
    return address_from_public_key(key.public_key().public_bytes_raw()) + ".onion"


def render_onionbalance_config(key_path: Path, instances: list[str]) -> str:
    """onionbalance's config.yaml for one front and its instances (addresses already checked).

    JSON strings are valid YAML scalars, so the key path needs no YAML quoting rules of its own.
    """
    lines = [
        "# Onionbalance configuration written by 'skrynka onion balance-config'.",
        "# Run it again with the full list of app servers to add or remove one, then reload",
        "# onionbalance (SIGHUP: systemctl kill --signal=HUP onionbalance).",
        "services:",
        f"- key: {json.dumps(str(key_path))}",
        "  instances:",
    ]
    for number, address in enumerate(instances, start=1):
        lines.append(f"  - address: {address}")
        lines.append(f"    name: app-server-{number}")
    return "\n".join(lines) + "\n"


def write_front_config(directory: Path, instances: list[str]) -> FrontConfig:
    """Create the front's key if needed and, given instances, write onionbalance's config.

    Every problem with the instance list (not an address, listed twice, the front itself) is
    reported at once in BalanceConfigInvalid, and then nothing is written.
    """
    problems: list[str] = []
    checked: list[str] = []
    for text in instances:
        try:
            address = check_onion_address(text, "app server address")
        except OnionAddressInvalid as error:
            problems.append(str(error))
            continue
        if address in checked:
            problems.append(f"{address} is listed twice; list each app server once.")
        else:
            checked.append(address)
    key_path = directory / FRONT_KEY_NAME
    if key_path.exists():
        key, _ = load_or_create_front_key(directory)
        if front_address_of(key) in checked:
            problems.append(
                f"{front_address_of(key)} is the front's own address, not an app server's: "
                "give each app server's source onion address ('skrynka onion status' there)."
            )
    if problems:
        raise BalanceConfigInvalid(problems)
    key, created = load_or_create_front_key(directory)
    config_path = None
    if checked:
        config_path = directory / FRONT_CONFIG_NAME
        write_private_file(
            config_path, render_onionbalance_config(key_path, checked).encode("utf-8")
        )
    return FrontConfig(front_address_of(key), key_path, config_path, tuple(checked), created)
