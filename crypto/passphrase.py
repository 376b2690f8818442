"""Staff passphrases: seven EFF words, stored as Argon2id hashes in libsodium's string format."""

import secrets

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id

from crypto.kdf import PRODUCTION, KdfParams
from crypto.wordlist import load_eff_wordlist

PASSPHRASE_WORDS = 7
#: Longer input is not a passphrase we issued; refusing it bounds the hashing work.
MAX_PASSPHRASE_CHARS = 1024
_MAX_STORED_CHARS = 512
_PREFIX = "$argon2id$"


def generate_passphrase(words: int = PASSPHRASE_WORDS) -> str:
    """Return ``words`` EFF words separated by single spaces (≈ 12.9 bits per word)."""
    if words < PASSPHRASE_WORDS:
        raise ValueError(f"A passphrase needs at least {PASSPHRASE_WORDS} words.")
    wordlist = load_eff_wordlist().words
    return " ".join(secrets.choice(wordlist) for _ in range(words))


def hash_passphrase(passphrase: str, params: KdfParams = PRODUCTION) -> str:
    """Return the ``$argon2id$...`` string to store for ``passphrase``."""
    if not isinstance(passphrase, str) or len(passphrase) > MAX_PASSPHRASE_CHARS:
        raise ValueError(f"A passphrase is text of at most {MAX_PASSPHRASE_CHARS} characters.")
    stored = argon2id.str(
        passphrase.encode("utf-8"), opslimit=params.opslimit, memlimit=params.memlimit
    )
    return stored.decode("ascii")


def verify_passphrase(stored: str, passphrase: str) -> bool:
    """True if ``passphrase`` matches ``stored``; False for a mismatch or any malformed input."""
    if (
        not isinstance(stored, str)
        or not isinstance(passphrase, str)
        or not stored.startswith(_PREFIX)
        or len(stored) > _MAX_STORED_CHARS
        or len(passphrase) > MAX_PASSPHRASE_CHARS
    ):
        return False
    try:
        return bool(argon2id.verify(stored.encode("ascii"), passphrase.encode("utf-8")))
    except (
        nacl.exceptions.InvalidkeyError,
        nacl.exceptions.CryptoError,
        ValueError,
        TypeError,
        UnicodeError,
        MemoryError,
    ):
        return False
