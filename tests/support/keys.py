"""Real OpenPGP key pairs for tests, made by the gpg binary (ed25519/cv25519, no passphrase)."""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from crypto.submission_key import export_public_key, generate_key_pair
from crypto.types import Fingerprint


@dataclass(frozen=True)
class KeyPair:
    """A submission key pair: the public half to give a server, the secret half to decrypt."""

    public_armored: str
    fingerprint: Fingerprint
    # A GNUPGHOME holding the secret key (the stand-in for the air-gapped workstation).
    secret_home: Path


def make_key_pair(home: Path, name: str = "Skrynka test submission key") -> KeyPair:
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    fingerprint = generate_key_pair(home, name)
    return KeyPair(
        public_armored=export_public_key(home, fingerprint),
        fingerprint=fingerprint,
        secret_home=home,
    )


def _gpg(home: Path, *args: str) -> bytes:
    result = subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            *args,
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def _only_fingerprint(home: Path) -> Fingerprint:
    listing = _gpg(home, "--with-colons", "--list-keys").decode()
    return Fingerprint(
        next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    )


def make_unusual_key_pair(
    home: Path, *, algorithm: str = "ed25519", subkey: str = "cv25519", expired: bool = False
) -> KeyPair:
    """A key pair a server must refuse: an RSA-2048 one (``algorithm="rsa2048"``,
    ``subkey="rsa2048"``) or one whose expiry date has passed (made with a clock set in 2020)."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    clock = ["--faked-system-time", "20200101T000000"] if expired else []
    expiry = "1d" if expired else "never"
    _gpg(
        home,
        *clock,
        "--quick-gen-key",
        "Refused key <refused@example.org>",
        algorithm,
        "sign",
        expiry,
    )
    fingerprint = _only_fingerprint(home)
    _gpg(home, *clock, "--quick-add-key", fingerprint, subkey, "encr", expiry)
    stop_agent(home)
    return KeyPair(
        public_armored=_gpg(home, "--armor", "--export", fingerprint).decode(),
        fingerprint=fingerprint,
        secret_home=home,
    )


def export_secret_armored(pair: KeyPair) -> str:
    try:
        return _gpg(pair.secret_home, "--armor", "--export-secret-keys", pair.fingerprint).decode()
    finally:
        stop_agent(pair.secret_home)


def stop_agent(home: Path) -> None:
    """Stop the gpg-agent a secret-key operation started for ``home``."""
    subprocess.run(
        ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, timeout=30
    )


def import_into(home: Path, armored: str) -> None:
    """Put key material into a keyring with plain gpg, bypassing Skrynka's checks."""
    subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--import"],
        input=armored.encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    stop_agent(home)
