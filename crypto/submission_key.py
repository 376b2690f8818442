"""The submission key: the OpenPGP public key everything a source sends is encrypted to.

The server keeps only its public half. Importing and checking refuse anything that would let
the server decrypt (a secret key in the data or in the keyring), keys that have expired or been
revoked, keys too weak to protect evidence for decades, and keys that cannot encrypt.
"""

import re
import time
from dataclasses import dataclass
from pathlib import Path

from crypto._gpg import (
    describe_failure,
    generate_key,
    kill_agent,
    make_gpg,
    prepare_home,
    run_gpg,
)
from crypto.errors import (
    GpgFailed,
    InvalidSubmissionKey,
    SecretKeyPresent,
    SubmissionKeyExpired,
    SubmissionKeyMissing,
    SubmissionKeyRevoked,
    WeakSubmissionKey,
)
from crypto.types import Fingerprint

#: RSA, DSA and ElGamal below this many bits are refused (NIST: 128-bit security from 3072).
MIN_FINITE_FIELD_BITS = 3072
_FINITE_FIELD_ALGOS = {1: "RSA", 2: "RSA", 3: "RSA", 16: "ElGamal", 17: "DSA", 20: "ElGamal"}
_ECC_ALGOS = {18: "ECDH", 19: "ECDSA", 22: "EdDSA"}
#: Curves with at least 128-bit security that GnuPG 2.2 supports.
_STRONG_CURVES = frozenset(
    {
        "ed25519",
        "cv25519",
        "ed448",
        "cv448",
        "nistp256",
        "nistp384",
        "nistp521",
        "brainpoolp256r1",
        "brainpoolp384r1",
        "brainpoolp512r1",
    }
)
#: An armored public key with many subkeys and signatures stays far below this.
MAX_KEY_BYTES = 1024 * 1024
_FINGERPRINT = re.compile(r"[0-9A-F]{40}")
_SECRET_ARMOR = b"PRIVATE KEY BLOCK"


@dataclass(frozen=True)
class _KeyPart:
    """One primary key or subkey, from gpg's colon listing."""

    record: str
    validity: str
    length: int
    algorithm: int
    expires: int | None
    capabilities: str
    curve: str
    fingerprint: str


@dataclass(frozen=True)
class _Key:
    primary: _KeyPart
    subkeys: tuple[_KeyPart, ...]


def parse_fingerprint(text: str) -> Fingerprint:
    """Return ``text`` as a :data:`Fingerprint` (spaces removed, upper-cased) or raise."""
    candidate = "".join(text.split()).upper()
    if not _FINGERPRINT.fullmatch(candidate):
        raise InvalidSubmissionKey(
            "A key fingerprint is 40 hexadecimal characters; copy it from `gpg --fingerprint`."
        )
    return Fingerprint(candidate)


def import_submission_key(gnupg_home: Path, armored: str | bytes) -> Fingerprint:
    """Check ``armored`` (exactly one OpenPGP public key) and import it into ``gnupg_home``.

    Nothing is imported unless every check passes and the keyring holds no secret key.
    """
    data = armored.encode("utf-8") if isinstance(armored, str) else bytes(armored)
    if not data.strip() or len(data) > MAX_KEY_BYTES:
        raise InvalidSubmissionKey(
            "That is not an OpenPGP public key; export it with `gpg --armor --export FINGERPRINT`."
        )
    if _SECRET_ARMOR in data:
        raise SecretKeyPresent(
            "That is a SECRET key; the server must never hold it. Export only the public half "
            "with `gpg --armor --export FINGERPRINT` and keep the secret key off the server."
        )
    prepare_home(gnupg_home)
    keys = _show_keys(gnupg_home, data)
    if any(k.primary.record == "sec" or any(s.record == "ssb" for s in k.subkeys) for k in keys):
        raise SecretKeyPresent(
            "That data contains a SECRET key; export only the public half with "
            "`gpg --armor --export FINGERPRINT`."
        )
    if len(keys) != 1:
        raise InvalidSubmissionKey(
            f"Expected exactly one OpenPGP public key, found {len(keys)}; export only the "
            "submission key."
        )
    _check_key(keys[0], now=int(time.time()))
    _refuse_secret_keys(gnupg_home)
    fingerprint = Fingerprint(keys[0].primary.fingerprint)
    result = make_gpg(gnupg_home).import_keys(data)
    if fingerprint not in (result.fingerprints or []):
        raise GpgFailed("gpg did not import the submission key; check the data directory's gnupg/.")
    check_submission_key(gnupg_home, fingerprint)
    return fingerprint


def check_submission_key(gnupg_home: Path, fingerprint: Fingerprint) -> None:
    """Raise a :class:`SubmissionKeyError` unless ``fingerprint`` is a usable public key in
    ``gnupg_home`` and the keyring holds no secret key at all (the server must not be able to
    decrypt)."""
    fingerprint = parse_fingerprint(fingerprint)
    if not gnupg_home.is_dir():
        raise SubmissionKeyMissing(
            f"The GnuPG directory {gnupg_home} does not exist; import the submission public key "
            "with `skrynka init`."
        )
    prepare_home(gnupg_home)
    _refuse_secret_keys(gnupg_home)
    result = run_gpg(gnupg_home, ["--with-colons", "--fixed-list-mode", "--list-keys", fingerprint])
    keys = [k for k in _parse_colons(result.stdout) if k.primary.fingerprint == fingerprint]
    if result.returncode != 0 or not keys:
        raise SubmissionKeyMissing(
            f"The submission key {fingerprint} is not in {gnupg_home}; import it again with "
            "`skrynka init`."
        )
    _check_key(keys[0], now=int(time.time()))


def export_public_key(gnupg_home: Path, fingerprint: Fingerprint) -> str:
    """Return the armored public key ``fingerprint`` from ``gnupg_home``."""
    fingerprint = parse_fingerprint(fingerprint)
    result = run_gpg(gnupg_home, ["--armor", "--export", fingerprint])
    if result.returncode != 0 or b"PUBLIC KEY BLOCK" not in result.stdout:
        raise SubmissionKeyMissing(f"The key {fingerprint} is not in {gnupg_home}.")
    return result.stdout.decode("ascii")


def generate_key_pair(gnupg_home: Path, name: str) -> Fingerprint:
    """Generate an Ed25519 signing key with a Curve25519 encryption subkey, no passphrase.

    For ``skrynka demo`` (a stand-in workstation key) and tests; a real submission key is made
    on the air-gapped workstation, ideally on a smartcard.
    """
    if not 1 <= len(name) <= 128 or not name.isprintable() or "<" in name or ">" in name:
        raise ValueError("A key name is 1 to 128 printable characters without '<' or '>'.")
    try:
        return generate_key(
            gnupg_home,
            {
                "Key-Type": "eddsa",
                "Key-Curve": "ed25519",
                "Key-Usage": "sign",
                "Subkey-Type": "ecdh",
                "Subkey-Curve": "cv25519",
                "Subkey-Usage": "encrypt",
                "Name-Real": name,
                "Expire-Date": "0",
            },
        )
    finally:
        # Generation started an agent for this home; nothing else needs it running.
        kill_agent(gnupg_home)


def export_secret_key(gnupg_home: Path, fingerprint: Fingerprint) -> bytes:
    """Return the armored secret key ``fingerprint`` (for the demo workstation and tests)."""
    fingerprint = parse_fingerprint(fingerprint)
    try:
        result = run_gpg(
            gnupg_home,
            [
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--armor",
                "--export-secret-keys",
                fingerprint,
            ],
        )
    finally:
        kill_agent(gnupg_home)
    if result.returncode != 0 or _SECRET_ARMOR not in result.stdout:
        raise GpgFailed(f"gpg could not export the secret key: {describe_failure(result)}")
    return result.stdout


def _show_keys(gnupg_home: Path, data: bytes) -> list[_Key]:
    result = run_gpg(gnupg_home, ["--with-colons", "--fixed-list-mode", "--show-keys"], stdin=data)
    keys = _parse_colons(result.stdout)
    if result.returncode != 0 or not keys:
        raise InvalidSubmissionKey(
            "That is not a readable OpenPGP public key; export it with "
            "`gpg --armor --export FINGERPRINT`."
        )
    return keys


def _refuse_secret_keys(gnupg_home: Path) -> None:
    # GnuPG 2.1+ keeps secret keys in the agent's directory; older ones in secring.gpg.
    # Look at both on disk, then ask gpg (which also sees keys we did not think of).
    private_dir = gnupg_home / "private-keys-v1.d"
    secring = gnupg_home / "secring.gpg"
    on_disk = (private_dir.is_dir() and any(private_dir.iterdir())) or (
        secring.exists() and secring.stat().st_size > 0
    )
    try:
        result = run_gpg(gnupg_home, ["--with-colons", "--fixed-list-mode", "--list-secret-keys"])
    finally:
        # Listing secret keys starts gpg-agent; the server needs none.
        kill_agent(gnupg_home)
    if on_disk or any(line.startswith(b"sec:") for line in result.stdout.splitlines()):
        raise SecretKeyPresent(
            f"{gnupg_home} holds a secret key, so this server could decrypt submissions. Move "
            "the secret key to the air-gapped workstation, delete it here "
            "(gpg --homedir DIR --delete-secret-keys FINGERPRINT) and start again."
        )


def _parse_colons(output: bytes) -> list[_Key]:
    keys: list[_Key] = []
    primary: _KeyPart | None = None
    subkeys: list[_KeyPart] = []
    pending: list[str] | None = None
    for raw in output.decode("utf-8", "replace").splitlines():
        fields = raw.split(":")
        kind = fields[0]
        if kind in ("pub", "sec", "sub", "ssb"):
            pending = fields
            if kind in ("pub", "sec"):
                if primary is not None:
                    keys.append(_Key(primary, tuple(subkeys)))
                primary, subkeys = None, []
        elif kind == "fpr" and pending is not None:
            part = _key_part(pending, fields[9] if len(fields) > 9 else "")
            if part.record in ("pub", "sec"):
                primary = part
            elif primary is not None:
                subkeys.append(part)
            pending = None
    if primary is not None:
        keys.append(_Key(primary, tuple(subkeys)))
    return keys


def _key_part(fields: list[str], fingerprint: str) -> _KeyPart:
    def field(index: int) -> str:
        return fields[index] if len(fields) > index else ""

    return _KeyPart(
        record=field(0),
        validity=field(1),
        length=int(field(2) or 0),
        algorithm=int(field(3) or 0),
        expires=int(field(6)) if field(6).isdigit() else None,
        capabilities=field(11),
        curve=field(16).lower(),
        fingerprint=fingerprint.upper(),
    )


def _is_expired(part: _KeyPart, now: int) -> bool:
    return part.validity == "e" or (part.expires is not None and part.expires <= now)


def _check_key(key: _Key, now: int) -> None:
    primary = key.primary
    if primary.validity == "r":
        raise SubmissionKeyRevoked(
            f"The submission key {primary.fingerprint} has been revoked; make a new key on the "
            "workstation and import its public half."
        )
    if _is_expired(primary, now):
        raise SubmissionKeyExpired(
            f"The submission key {primary.fingerprint} has expired; extend its expiry on the "
            "workstation (gpg --quick-set-expire) and import the public key again."
        )
    _check_strength(primary)
    encrypting = [p for p in (primary, *key.subkeys) if "e" in p.capabilities]
    if not encrypting:
        raise InvalidSubmissionKey(
            f"The key {primary.fingerprint} has no encryption subkey; add one on the workstation "
            "(gpg --quick-add-key FINGERPRINT cv25519 encr) and import the public key again."
        )
    usable = [p for p in encrypting if p.validity != "r" and not _is_expired(p, now)]
    if not usable:
        if any(_is_expired(p, now) for p in encrypting):
            raise SubmissionKeyExpired(
                f"Every encryption subkey of {primary.fingerprint} has expired; extend or add one "
                "on the workstation and import the public key again."
            )
        raise SubmissionKeyRevoked(
            f"Every encryption subkey of {primary.fingerprint} has been revoked; add a new one "
            "on the workstation and import the public key again."
        )
    for part in usable:
        _check_strength(part)


def _check_strength(part: _KeyPart) -> None:
    if part.algorithm in _FINITE_FIELD_ALGOS:
        if part.length < MIN_FINITE_FIELD_BITS:
            name = _FINITE_FIELD_ALGOS[part.algorithm]
            raise WeakSubmissionKey(
                f"The key {part.fingerprint} is {name}-{part.length}; at least "
                f"{MIN_FINITE_FIELD_BITS} bits are required. Make an ed25519/cv25519 (or "
                "RSA-4096) key on the workstation."
            )
        return
    if part.algorithm in _ECC_ALGOS and part.curve in _STRONG_CURVES:
        return
    raise WeakSubmissionKey(
        f"The key {part.fingerprint} uses an algorithm this server does not accept "
        f"(algorithm {part.algorithm}, curve '{part.curve or 'none'}'); make an ed25519/cv25519 "
        "key on the workstation."
    )
