"""The EFF large word list (7776 words), read from the installed ``diceware`` package.

The list is data shipped by a maintained package, not pasted into this repository, so a
correction upstream reaches us through the lock file and a reviewer has less to read.
"""

import functools
import importlib.resources
import math
import re
from dataclasses import dataclass

from crypto.errors import WordListUnavailable

_PACKAGE = "diceware"
_RESOURCE = ("wordlists", "wordlist_en_eff.txt")
#: Five dice throws, one word each: the list must have exactly 6**5 entries.
EFF_LARGE_SIZE = 6**5
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


@dataclass(frozen=True)
class WordList:
    """An ordered word list and a set for membership checks."""

    words: tuple[str, ...]
    members: frozenset[str]

    def bits_per_word(self) -> float:
        return math.log2(len(self.words))


def load_eff_wordlist() -> WordList:
    """Return the EFF large word list, loading and validating it on first use."""
    return _load_cached()


@functools.cache
def _load_cached() -> WordList:
    # The list is immutable data read from a package; caching it is not shared mutable state.
    try:
        resource = importlib.resources.files(_PACKAGE).joinpath(*_RESOURCE)
        text = resource.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError, UnicodeDecodeError) as exc:
        raise WordListUnavailable(
            "The EFF word list could not be read from the 'diceware' package; "
            "reinstall the project's dependencies (pip install -r requirements.lock)."
        ) from exc
    words: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        # Each line is "<five dice digits><tab><word>".
        _dice, _, word = line.partition("\t")
        words.append(word.strip())
    if (
        len(words) != EFF_LARGE_SIZE
        or len(set(words)) != EFF_LARGE_SIZE
        or not all(_WORD.fullmatch(word) for word in words)
    ):
        raise WordListUnavailable(
            "The EFF word list in the installed 'diceware' package is not the expected "
            f"{EFF_LARGE_SIZE} distinct lower-case words; reinstall the pinned dependencies."
        )
    return WordList(words=tuple(words), members=frozenset(words))
