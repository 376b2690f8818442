"""Fixtures for the workstation: a server signing key, the submission secret key as a file, an
initialised evidence store, and bundles made per docs/bundle-format.md."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.signing import Signer, generate_signing_seed
from crypto.submission_key import export_secret_key
from tests.support.keys import KeyPair
from tests.support.workstation import (
    MakeBundle,
    Workstation,
)
from tests.workstation.bundles import Sent, build_bundle
from workstation.cli import main


@pytest.fixture(scope="session")
def server_signer() -> Signer:
    return Signer(generate_signing_seed())


@pytest.fixture(scope="session")
def secret_key_file(tmp_path_factory: pytest.TempPathFactory, submission_keypair: KeyPair) -> Path:
    path = tmp_path_factory.mktemp("secret") / "submission-secret.asc"
    home, fingerprint = submission_keypair.secret_home, submission_keypair.fingerprint
    path.write_bytes(export_secret_key(home, fingerprint))
    return path


@pytest.fixture
def server_key_file(tmp_path: Path, server_signer: Signer) -> Path:
    path = tmp_path / "server-signing.pub"
    path.write_bytes(base64.b64encode(server_signer.public_key) + b"\n")
    return path


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: gpg-agent's socket lives in the store's GnuPG home and
    Unix socket paths are limited to 107 bytes, which pytest's tmp_path can exceed."""
    path = Path(tempfile.mkdtemp(prefix="skw-"))
    yield path
    for directory, _dirs, _files in os.walk(path):
        os.chmod(directory, 0o700)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def workstation(
    short_dir: Path,
    secret_key_file: Path,
    server_key_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Workstation]:
    store = short_dir / "evidence"
    code = main(["init", "--store", str(store), "--secret-key", str(secret_key_file),
                 "--server-key", str(server_key_file)])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    yield Workstation(store, capsys)
    # The secret-key import started a gpg-agent for this store's home; stop it.
    subprocess.run(["gpgconf", "--homedir", str(store / "gnupg"), "--kill", "gpg-agent"],
                   check=False, capture_output=True)


@pytest.fixture
def make_bundle(
    tmp_path: Path, submission_keypair: KeyPair, server_signer: Signer
) -> MakeBundle:
    counter = iter(range(1, 1000))

    def make(sent: list[Sent], signer: Signer | None = None) -> Path:
        n = next(counter)
        return build_bundle(
            tmp_path / f"skrynka-bundle-{n}.zip",
            submission_keypair.secret_home,
            submission_keypair.fingerprint,
            signer or server_signer,
            sent,
            tmp_path / f"bundle-work-{n}",
        )

    return make
