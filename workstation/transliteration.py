"""Folding Belarusian, Russian and Latin spellings of the same words into one search form.

A name reaches us as Цiханоўская in a message, Тихановская in a Russian article and
Tsikhanouskaya in a passport scan. `fold_text` maps all of them to a lower-case Latin form, and
the search index holds that form beside the text and folds every query the same way, so any
spelling finds the others.

The fold, in order:

1. lower case;
2. Cyrillic letters become Latin (before any decomposition, which would split й and ё) by the
   table of ICAO Doc 9303 (machine-readable travel documents, Part 3): ж zh, х kh, ц ts,
   ч ch, ш sh, щ shch, ъ ie, ы y, ь dropped, ю iu, я ia, й i, ё e, г g; Belarusian і i and
   ў u; Ukrainian є ie, ї i, ґ g. Letters of Łacinka and Czech-style spellings become the
   same digraphs (š sh, č ch, ž zh, ŭ u, ł l), then compatibility decomposition with combining
   marks dropped (é → e);
3. because the same person is spelt several ways (Belarusian documents write г as h, Russian
   ones as g; BGN/PCGN, Łacinka and English habits differ in a few more letters), a loose step
   makes those letters equal on both sides: kh → h, g → h, j → i, y → i, w → v, x → ks.

The fold is deterministic and one-way: it is only ever compared with another fold, never shown.
Latin text goes through the same steps (step 2 changes only its diacritics).
"""

from __future__ import annotations

import unicodedata

# ICAO Doc 9303 Part 3, Cyrillic to Latin, plus the Belarusian and Ukrainian letters.
ICAO_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu",
    "я": "ia", "і": "i", "ў": "u", "є": "ie", "ї": "i", "ґ": "g",
}
# Belarusian Łacinka (and scholarly transliteration) letters, written as ICAO writes them.
LATIN_LETTERS = {"š": "sh", "č": "ch", "ž": "zh", "ŭ": "u", "ł": "l"}
# Letters spelt differently by the systems people actually use; mapped alike on both sides.
LOOSE_PAIRS = (("kh", "h"), ("g", "h"), ("j", "i"), ("y", "i"), ("w", "v"), ("x", "ks"))
_TABLE = str.maketrans({**ICAO_CYRILLIC, **LATIN_LETTERS})


def transliterate(text: str) -> str:
    """Lower-case Latin by ICAO Doc 9303 (steps 1 and 2 of the module docstring)."""
    # й and ё are letters of their own: transliterate them before decomposition splits them.
    latin = text.lower().translate(_TABLE)
    decomposed = unicodedata.normalize("NFKD", latin)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold_text(text: str) -> str:
    """The search form of `text`: transliterated, then the loose letters made equal."""
    folded = transliterate(text)
    for spelling, common in LOOSE_PAIRS:
        folded = folded.replace(spelling, common)
    return folded
