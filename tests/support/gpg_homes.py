"""GnuPG homes with short paths for crypto tests, and plain-gpg cross-checks of our output.

gpg-agent puts its socket in the home, and a Unix socket path must stay under 108 bytes, so
homes live directly under /tmp rather than under pytest's long tmp_path. The fixtures below are
imported by the conftest of each folder that uses them.
"""

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crypto.digest import PlaintextDigest
from crypto.encryption import open_encryptor
from crypto.submission_key import export_public_key, generate_key_pair, import_submission_key
from crypto.types import Fingerprint

HomeFactory = Callable[[], Path]


@dataclass(frozen=True)
class KeyHome:
    home: Path
    fingerprint: Fingerprint


def make_home_factory() -> tuple[HomeFactory, Callable[[], None]]:
    made: list[Path] = []

    def make() -> Path:
        home = Path(tempfile.mkdtemp(prefix="skr-t-", dir="/tmp"))
        made.append(home)
        return home

    def cleanup() -> None:
        for home in made:
            subprocess.run(
                ["gpgconf", "--homedir", str(home), "--kill", "all"],
                capture_output=True,
                check=False,
            )
            shutil.rmtree(home, ignore_errors=True)

    return make, cleanup


def run_gpg_cli(home: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Plain gpg, as an operator would run it (used to cross-check our output)."""
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--trust-model", "always", *args],
        input=stdin,
        capture_output=True,
        check=False,
    )


def digest_of(data: bytes) -> PlaintextDigest:
    """The digest a stream of exactly these bytes must report, computed the plain way."""
    return PlaintextDigest(
        len(data), hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest()
    )


def encrypt_stream(
    server: KeyHome, output: Path, data: bytes, piece: int, gzip_name: str | None = None
) -> PlaintextDigest:
    """Encrypt data to the server's key in writes of `piece` bytes, as an upload arrives."""
    with open_encryptor(server.home, [server.fingerprint], output, gzip_name=gzip_name) as enc:
        for start in range(0, len(data), piece):
            enc.write(data[start : start + piece])
        return enc.finish()


@pytest.fixture(scope="session")
def session_home_factory() -> Iterator[HomeFactory]:
    make, cleanup = make_home_factory()
    yield make
    cleanup()


@pytest.fixture
def gpg_home_factory() -> Iterator[HomeFactory]:
    """Fresh, empty GnuPG homes for one test."""
    make, cleanup = make_home_factory()
    yield make
    cleanup()


@pytest.fixture(scope="session")
def workstation(session_home_factory: HomeFactory) -> KeyHome:
    """A home holding a submission key pair, as the air-gapped workstation would."""
    home = session_home_factory()
    return KeyHome(home, generate_key_pair(home, "Test workstation"))


@pytest.fixture(scope="session")
def other_workstation(session_home_factory: HomeFactory) -> KeyHome:
    """A second, unrelated key pair: the 'wrong key' in decryption tests."""
    home = session_home_factory()
    return KeyHome(home, generate_key_pair(home, "Someone else"))


@pytest.fixture(scope="session")
def server(session_home_factory: HomeFactory, workstation: KeyHome) -> KeyHome:
    """A server home holding only the submission public key."""
    home = session_home_factory()
    public = export_public_key(workstation.home, workstation.fingerprint)
    return KeyHome(home, import_submission_key(home, public))
