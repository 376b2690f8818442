"""The submission secret key on the workstation: imported by the real gpg into a private home."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.keys import KeyPair
from workstation.errors import KeySetupError
from workstation.keyring import check_agent_socket_path, import_secret_key, secret_key_fingerprints


@pytest.fixture
def home(short_dir: Path) -> Iterator[Path]:
    path = short_dir / "gnupg"
    path.mkdir(mode=0o700)
    yield path
    subprocess.run(["gpgconf", "--homedir", str(path), "--kill", "gpg-agent"], check=False,
                   capture_output=True)


def test_an_empty_home_holds_no_secret_key(home: Path) -> None:
    assert secret_key_fingerprints(home) == []


def test_an_exported_secret_key_is_imported_and_listed(
    home: Path, secret_key_file: Path, submission_keypair: KeyPair
) -> None:
    assert import_secret_key(home, secret_key_file) == [submission_keypair.fingerprint]
    assert secret_key_fingerprints(home) == [submission_keypair.fingerprint]


def test_a_public_key_alone_is_refused_with_how_to_export(
    home: Path, tmp_path: Path, submission_keypair: KeyPair
) -> None:
    public = tmp_path / "public.asc"
    public.write_text(submission_keypair.public_armored)
    with pytest.raises(KeySetupError, match="gpg --armor --export-secret-keys"):
        import_secret_key(home, public)
    assert secret_key_fingerprints(home) == []


def test_a_file_that_is_no_key_at_all_is_refused(home: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.asc"
    junk.write_bytes(os.urandom(256))
    with pytest.raises(KeySetupError, match="holds no importable OpenPGP secret key"):
        import_secret_key(home, junk)


def test_an_unreadable_key_file_is_named(home: Path, tmp_path: Path) -> None:
    with pytest.raises(KeySetupError, match="cannot read"):
        import_secret_key(home, tmp_path / "missing.asc")


def test_a_home_too_deep_for_the_agent_socket_is_refused_before_gpg_runs(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without /run/user/UID gpg-agent puts its sockets in the home itself (as on this machine).
    monkeypatch.setattr("workstation.keyring._RUN_USER", short_dir / "no-run-user")
    deep = short_dir / ("d" * 90) / "gnupg"
    with pytest.raises(KeySetupError, match="too long for gpg-agent's socket"):
        check_agent_socket_path(deep)
    check_agent_socket_path(short_dir / "gnupg")
