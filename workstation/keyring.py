"""The submission secret key on the workstation: imported into the store's GNUPGHOME at init.

`crypto` offers no secret-key import (the server must never hold one), so this module runs the
gpg binary itself for the two things the workstation needs: importing a secret key file and
listing which secret keys (or smartcard stubs) a home holds. It uses the same defensive options
as `crypto` (batch, no gpg.conf, no key servers).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from workstation.errors import KeySetupError

_SAFE_OPTIONS = ("--batch", "--no-tty", "--no-options", "--no-auto-key-retrieve",
                 "--status-fd", "2", "--with-colons", "--fixed-list-mode")
_TIMEOUT_SECONDS = 120
_MAX_SOCKET_PATH = 107
_RUN_USER = Path("/run/user")


def _gpg(home: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    binary = shutil.which("gpg")
    if binary is None:
        raise KeySetupError("gpg is not installed; install the Debian package gnupg")
    return subprocess.run(
        [binary, "--homedir", str(home), *_SAFE_OPTIONS, *args],
        input=stdin,
        capture_output=True,
        timeout=_TIMEOUT_SECONDS,
        check=False,
    )


def secret_key_fingerprints(home: Path) -> list[str]:
    """Fingerprints of primary keys with a secret part here (on disk or on a card)."""
    result = _gpg(home, "--list-secret-keys")
    fingerprints: list[str] = []
    expect_primary_fpr = False
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            expect_primary_fpr = True
        elif fields[0] == "fpr" and expect_primary_fpr:
            fingerprints.append(fields[9])
            expect_primary_fpr = False
    return fingerprints


def check_agent_socket_path(home: Path) -> None:
    """gpg-agent's sockets go in the GnuPG home unless /run/user/UID exists; a Unix socket path
    holds at most 107 bytes, and beyond that gpg fails with an obscure error."""
    longest = home.resolve() / "S.gpg-agent.browser"
    if len(os.fsencode(longest)) > _MAX_SOCKET_PATH and not _RUN_USER.joinpath(
        str(os.getuid())
    ).is_dir():
        raise KeySetupError(
            f"the store path {home.parent} is too long for gpg-agent's socket (at most"
            f" {_MAX_SOCKET_PATH} bytes for {longest}); choose a shorter --store such as"
            " /evidence"
        )


def import_secret_key(home: Path, key_file: Path) -> list[str]:
    """Import an exported secret key into `home`; return the secret fingerprints now present."""
    check_agent_socket_path(home)
    try:
        data = key_file.read_bytes()
    except OSError as exc:
        raise KeySetupError(f"cannot read {key_file}: {exc.strerror}") from exc
    result = _gpg(home, "--pinentry-mode", "loopback", "--import", stdin=data)
    fingerprints = secret_key_fingerprints(home)
    if result.returncode != 0 or not fingerprints:
        raise KeySetupError(
            f"{key_file} holds no importable OpenPGP secret key; export it with"
            " `gpg --armor --export-secret-keys FINGERPRINT` on the machine that has it"
        )
    return fingerprints
