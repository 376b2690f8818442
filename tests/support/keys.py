"""Real OpenPGP key pairs for tests, made by the gpg binary (ed25519/cv25519, no passphrase)."""

import os
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
