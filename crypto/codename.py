"""Codenames: the only secret a source holds.

A codename is seven words drawn uniformly with :mod:`secrets` from the EFF large list
(7 × log2(7776) ≈ 90.5 bits). It is never stored; the server only keeps what Argon2id derives
from it (see :mod:`crypto.kdf`).
"""

import secrets

from crypto.errors import InvalidCodename
from crypto.types import Codename
from crypto.wordlist import load_eff_wordlist

CODENAME_WORDS = 7
#: Longer input is refused before any other work: seven of the longest EFF words with generous
#: spacing stay far below this.
MAX_CODENAME_CHARS = 256


def generate_codename(words: int = CODENAME_WORDS) -> Codename:
    """Return a fresh codename of ``words`` EFF words separated by single spaces."""
    if words < CODENAME_WORDS:
        raise ValueError(f"A codename needs at least {CODENAME_WORDS} words to reach 90 bits.")
    wordlist = load_eff_wordlist().words
    return Codename(" ".join(secrets.choice(wordlist) for _ in range(words)))


def normalize_codename(text: str, words: int = CODENAME_WORDS) -> Codename:
    """Turn typed text into the canonical codename, or raise :class:`InvalidCodename`.

    Case and any run of whitespace (also leading and trailing) do not matter. The error
    messages never repeat the input: it may be a real codename with one typo.
    """
    if not isinstance(text, str):
        raise InvalidCodename("A codename must be text.")
    if len(text) > MAX_CODENAME_CHARS:
        raise InvalidCodename(
            f"That is longer than any codename (at most {MAX_CODENAME_CHARS} characters)."
        )
    parts = text.lower().split()
    if len(parts) != words:
        raise InvalidCodename(
            f"A codename has exactly {words} words; check that you typed all of them."
        )
    members = load_eff_wordlist().members
    if not all(part in members for part in parts):
        raise InvalidCodename(
            "At least one word is not a codename word; check the spelling of each word."
        )
    return Codename(" ".join(parts))
