"""Codename word lists: English, Russian and Belarusian.

English is the EFF large word list (7776 words), read from the installed ``diceware`` package:
data shipped by a maintained package, not pasted into this repository, so a correction upstream
reaches us through the lock file and a reviewer has less to read. Every EFF word is still
accepted at login (codenames made before the block list existed must keep working byte for
byte), but a new English codename is drawn only from the words no stem in ``blocked.txt`` starts.

Russian and Belarusian lists live in ``crypto/wordlists/`` and are made by
``scripts/build_wordlists.py`` (frequency list, part of speech, spelling dictionary, block list,
prefix-free); ``tests/crypto/test_wordlist.py`` checks every rule on the committed files. As for
English, every committed word is accepted at login but a word that starts with a blocked stem
(one added after the list was published) is never drawn for a new codename.
A list that cannot be read or breaks a rule raises :class:`WordListUnavailable`, so a damaged
install fails loudly instead of handing out weak codenames.
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
_LIST_DIR = ("wordlists",)
#: The letters each committed list may use (Russian without "ё", see the build script).
LETTERS = {
    "ru": re.compile(r"[абвгдежзийклмнопрстуфхцчшщъыьэюя]+"),
    "be": re.compile(r"[абвгдеёжзйклмнопрстуўфхцчшыьэюяі]+"),
}


@dataclass(frozen=True)
class WordList:
    """An ordered word list and a set for membership checks."""

    words: tuple[str, ...]
    members: frozenset[str]

    def bits_per_word(self) -> float:
        return math.log2(len(self.words))


@dataclass(frozen=True)
class CodenameWords:
    """What one language's codenames are made of.

    ``drawn`` is the list new codenames are drawn from; ``accepted`` is what login accepts
    (a superset of ``drawn`` when stems were blocked after a list was published);
    ``length`` is the number of words.
    """

    language: str
    drawn: WordList
    accepted: frozenset[str]
    length: int

    def bits(self) -> float:
        return self.length * self.drawn.bits_per_word()


#: Words per codename in each language: enough that length × log2(list size) ≥ 90 bits.
CODENAME_LENGTHS = {"en": 7, "ru": 8, "be": 8}


def load_codename_words(language: str) -> CodenameWords:
    """Return the word list and codename length for ``language`` (``en``, ``ru`` or ``be``)."""
    return _load_language(language)


def read_blocked_stems() -> tuple[str, ...]:
    """The stems in ``blocked.txt``: no new codename has a word that starts with one."""
    return _read_blocked()


@functools.cache
def _read_blocked() -> tuple[str, ...]:
    text = _read_list_file("blocked.txt")
    return tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _read_list_file(name: str) -> str:
    try:
        resource = importlib.resources.files("crypto").joinpath(*_LIST_DIR, name)
        return resource.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError, UnicodeDecodeError) as exc:
        raise WordListUnavailable(
            f"The codename word list crypto/wordlists/{name} could not be read; "
            "reinstall Skrynka (it ships with the crypto package)."
        ) from exc


@functools.cache
def _load_language(language: str) -> CodenameWords:
    if language not in CODENAME_LENGTHS:
        raise WordListUnavailable(
            f"There is no codename word list for {language!r}; "
            f"choose one of {', '.join(CODENAME_LENGTHS)}."
        )
    blocked = _read_blocked()
    if language == "en":
        eff = _load_cached()
        drawn = tuple(word for word in eff.words if not word.startswith(blocked))
        return CodenameWords(
            language="en",
            drawn=WordList(words=drawn, members=frozenset(drawn)),
            accepted=eff.members,
            length=CODENAME_LENGTHS["en"],
        )
    words = tuple(_read_list_file(f"{language}.txt").split())
    letters = LETTERS[language]
    if len(set(words)) != len(words) or not all(letters.fullmatch(word) for word in words):
        raise WordListUnavailable(
            f"crypto/wordlists/{language}.txt is damaged (repeated words or other characters "
            "than letters); rebuild it with scripts/build_wordlists.py or reinstall."
        )
    # A stem added after a list was published keeps its words accepted (codenames already
    # handed out must still log in) and only stops them being drawn.
    drawn = tuple(word for word in words if not word.startswith(blocked))
    return CodenameWords(
        language=language,
        drawn=WordList(words=drawn, members=frozenset(drawn)),
        accepted=frozenset(words),
        length=CODENAME_LENGTHS[language],
    )


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
