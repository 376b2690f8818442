"""Codenames: the only secret a source holds.

A codename is words drawn uniformly with :mod:`secrets` from one language's list
(:mod:`crypto.wordlist`): seven English words (7 × log2(7776 less the blocked words) ≈ 90.4
bits) or eight Russian or Belarusian words (8 × log2(about 2540 drawable words) ≈ 90.5 bits).
It is never stored; the server only keeps what Argon2id derives from it (see :mod:`crypto.kdf`).

**The canonical form is the Argon2id input**, so it is defined once, here: Unicode NFC, lower
case, words separated by single spaces, nothing before or after. An English codename made before
other languages existed has exactly this form, so it derives the same bytes as before.

Typed text reaches the canonical form in two steps:

1. Case, Unicode composition and any run of whitespace never matter.
2. If the text is not a codename as typed, a keyboard slip is tried: the same keys pressed with
   the other layout (Latin QWERTY and Russian ЙЦУКЕН or Belarusian ЙЦУКЕН, in both directions).
   The slip is used only when exactly one reading of the keys is a whole valid codename in one
   list (all words from that list, that list's word count). A reading never chooses between two
   different codenames: if two readings are valid and differ, the text is refused. This is safe
   because the mapping is a fixed function of the keys pressed: anyone who could type the
   slipped text could type the codename itself, so no guess becomes cheaper.

Login accepts a codename of any language whatever the interface language: the word count and
the alphabet tell which list it is from, and a Cyrillic text whose words are in both the Russian
and the Belarusian list is one and the same string, so it derives the same secrets either way.
Errors never repeat the input: it may be a real codename with one typo.
"""

import secrets
import unicodedata

from crypto.errors import InvalidCodename
from crypto.types import Codename
from crypto.wordlist import CODENAME_LENGTHS, load_codename_words

#: The English codename length, kept for callers that only know English codenames.
CODENAME_WORDS = CODENAME_LENGTHS["en"]
CODENAME_LANGUAGES = tuple(CODENAME_LENGTHS)
#: Longer input is refused before any other work: eight of the longest words with generous
#: spacing stay far below this.
MAX_CODENAME_CHARS = 256

_QWERTY = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`{}:\"<>~"
_RUSSIAN_KEYS = "йцукенгшщзхъфывапролджэячсмитьбюёхъжэбюё"
_BELARUSIAN_KEYS = "йцукенгшўзх'фывапролджэячсмітьбюёх'жэбюё"
#: The same key pressed with the Latin layout on, and with each Cyrillic layout on.
KEYBOARD_LAYOUTS = {"ru": _RUSSIAN_KEYS, "be": _BELARUSIAN_KEYS}


def generate_codename(language: str = "en", words: int | None = None) -> Codename:
    """Return a fresh codename in ``language`` (``en``, ``ru`` or ``be``)."""
    chosen = load_codename_words(language)
    count = chosen.length if words is None else words
    if count < chosen.length:
        raise ValueError(
            f"A codename in {language!r} needs at least {chosen.length} words to reach 90 bits."
        )
    pool = chosen.drawn.words
    return Codename(" ".join(secrets.choice(pool) for _ in range(count)))


def canonical_text(text: str) -> str:
    """NFC, lower case, single spaces: the form every comparison and derivation uses."""
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def codename_language(canonical: str) -> str | None:
    """The language whose list makes ``canonical`` a whole codename, or ``None``."""
    parts = canonical.split(" ")
    for language in CODENAME_LANGUAGES:
        chosen = load_codename_words(language)
        if len(parts) == chosen.length and all(part in chosen.accepted for part in parts):
            return language
    return None


def normalize_codename(text: str) -> Codename:
    """Turn typed text into the canonical codename, or raise :class:`InvalidCodename`."""
    if not isinstance(text, str):
        raise InvalidCodename("A codename must be text.")
    if len(text) > MAX_CODENAME_CHARS:
        raise InvalidCodename(
            f"That is longer than any codename (at most {MAX_CODENAME_CHARS} characters)."
        )
    typed = canonical_text(text)
    if codename_language(typed) is not None:
        return Codename(typed)
    slipped = {reading for reading in _keyboard_readings(typed) if codename_language(reading)}
    if len(slipped) == 1:
        return Codename(slipped.pop())
    if len(slipped) > 1:
        raise InvalidCodename(
            "The keyboard layout could be read in more than one way; "
            "switch to the layout of your codename's language and type it again."
        )
    counts = sorted(set(CODENAME_LENGTHS.values()))
    if len(typed.split()) not in counts:
        raise InvalidCodename(
            "A codename has exactly "
            + " or ".join(str(count) for count in counts)
            + " words; check that you typed all of them."
        )
    raise InvalidCodename(
        "At least one word is not a codename word; check the spelling of each word."
    )


def _keyboard_readings(typed: str) -> list[str]:
    """The text as the same keys would have typed it with each other layout."""
    readings = []
    for cyrillic in KEYBOARD_LAYOUTS.values():
        to_cyrillic = str.maketrans(_QWERTY, cyrillic)
        # The first 33 keys are unshifted; shifted keys give the same Cyrillic letters.
        to_latin = str.maketrans(dict(zip(cyrillic[:33], _QWERTY[:33], strict=True)))
        for table in (to_cyrillic, to_latin):
            reading = canonical_text(typed.translate(table))
            if reading != typed:
                readings.append(reading)
    return readings
