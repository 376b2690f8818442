"""Onion service keys and authorised staff devices, kept in the instance data dir.

Layout (each service directory is a valid tor HiddenServiceDir, so an operator who prefers
a system tor can copy it as it is; see `onion.torrc`):

    DATA_DIR/onion/                  0700
      source/                        0700
        hs_ed25519_secret_key        0600  tor's format: 32-byte header + 64-byte expanded key
        hs_ed25519_public_key        0600
        hostname                     0600  "<id>.onion"
      journalist/                    the same files, plus
        authorized_clients/<name>.auth     "descriptor:x25519:<base32 public key>"
      ports.json                     the local ports last published (no secrets)

Every file is written to a temporary name, fsynced and renamed, so a crash leaves either the
old or the new file. Key bytes are never logged.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
from dataclasses import dataclass
from pathlib import Path

from onion.address import address_from_public_key
from onion.client_key import check_client_name, format_auth_file, parse_auth_file
from onion.errors import ClientExists, ClientUnknown, OnionKeyInvalid
from onion.service_key import (
    ServiceKey,
    generate_service_key,
    parse_public_key_file,
    parse_secret_key_file,
)


class ServiceRole(enum.Enum):
    SOURCE = "source"
    JOURNALIST = "journalist"


@dataclass(frozen=True)
class AuthorizedClient:
    name: str
    public_b32: str


@dataclass(frozen=True)
class PublishedPorts:
    source_port: int
    journalist_port: int


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically with mode 0600 (never briefly readable by others)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _make_private_dir(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir's mode is filtered by the umask and ignored for an existing directory.
    os.chmod(directory, 0o700)


class OnionKeyStore:
    """Reads and writes the onion keys of one instance (`DATA_DIR/onion`)."""

    def __init__(self, onion_dir: Path) -> None:
        self.onion_dir = onion_dir

    def service_dir(self, role: ServiceRole) -> Path:
        return self.onion_dir / role.value

    @property
    def clients_dir(self) -> Path:
        return self.service_dir(ServiceRole.JOURNALIST) / "authorized_clients"

    def load_service_key(self, role: ServiceRole) -> ServiceKey | None:
        """The stored key, None if none was created yet; OnionKeyInvalid if damaged."""
        directory = self.service_dir(role)
        secret_path = directory / "hs_ed25519_secret_key"
        if not secret_path.exists():
            return None
        try:
            secret = parse_secret_key_file(secret_path.read_bytes())
            public = parse_public_key_file((directory / "hs_ed25519_public_key").read_bytes())
            hostname = (directory / "hostname").read_text("ascii").strip()
        except (OSError, ValueError) as error:
            raise OnionKeyInvalid(str(directory), str(error)) from error
        if hostname != address_from_public_key(public) + ".onion":
            raise OnionKeyInvalid(str(directory), "hostname does not match the public key")
        return ServiceKey(secret, public)

    def ensure_service_key(self, role: ServiceRole) -> ServiceKey:
        """The stored key, created and stored first if there is none."""
        key = self.load_service_key(role)
        if key is not None:
            return key
        key = generate_service_key()
        directory = self.service_dir(role)
        _make_private_dir(self.onion_dir)
        _make_private_dir(directory)
        # Public half and hostname first: the secret key's presence marks a complete set.
        write_private_file(directory / "hs_ed25519_public_key", key.public_key_file())
        write_private_file(directory / "hostname", (key.onion_address + "\n").encode("ascii"))
        write_private_file(directory / "hs_ed25519_secret_key", key.secret_key_file())
        return key

    def list_clients(self) -> list[AuthorizedClient]:
        """Authorised staff devices, sorted by name; OnionKeyInvalid if a file is damaged."""
        if not self.clients_dir.is_dir():
            return []
        clients = []
        for path in sorted(self.clients_dir.glob("*.auth")):
            try:
                public = parse_auth_file(path.read_text("ascii"))
            except (OSError, ValueError) as error:
                raise OnionKeyInvalid(str(path), str(error)) from error
            clients.append(AuthorizedClient(path.stem, public))
        return clients

    def add_client(self, name: str, public_b32: str) -> AuthorizedClient:
        check_client_name(name)
        path = self.clients_dir / f"{name}.auth"
        if path.exists():
            raise ClientExists(name)
        _make_private_dir(self.onion_dir)
        _make_private_dir(self.service_dir(ServiceRole.JOURNALIST))
        _make_private_dir(self.clients_dir)
        write_private_file(path, format_auth_file(public_b32).encode("ascii"))
        return AuthorizedClient(name, public_b32)

    def remove_client(self, name: str) -> None:
        check_client_name(name)
        path = self.clients_dir / f"{name}.auth"
        try:
            path.unlink()
        except FileNotFoundError:
            raise ClientUnknown(name) from None
        _sync_directory(self.clients_dir)

    def save_ports(self, ports: PublishedPorts) -> None:
        _make_private_dir(self.onion_dir)
        data = {"source_port": ports.source_port, "journalist_port": ports.journalist_port}
        write_private_file(self.onion_dir / "ports.json", json.dumps(data).encode("ascii"))

    def load_ports(self) -> PublishedPorts | None:
        """The ports of the last publish; None if never published (or the file is damaged:
        it is only a hint for re-publishing, rewritten by every publish)."""
        try:
            data = json.loads((self.onion_dir / "ports.json").read_text("ascii"))
            return PublishedPorts(int(data["source_port"]), int(data["journalist_port"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
