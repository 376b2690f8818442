import importlib.resources
import itertools
import math
import unicodedata
from pathlib import Path

import pytest

from crypto.errors import WordListUnavailable
from crypto.wordlist import (
    EFF_LARGE_SIZE,
    LETTERS,
    load_codename_words,
    load_eff_wordlist,
    read_blocked_stems,
)


def test_list_comes_from_the_installed_diceware_package() -> None:
    shipped = (
        importlib.resources.files("diceware")
        .joinpath("wordlists", "wordlist_en_eff.txt")
        .read_text(encoding="utf-8")
    )
    wordlist = load_eff_wordlist()
    assert len(wordlist.words) == EFF_LARGE_SIZE == 7776
    assert wordlist.words[0] == "abacus"
    assert wordlist.words[-1] == "zoom"
    assert all(f"\t{word}" in shipped for word in wordlist.words[:50])
    assert wordlist.members == frozenset(wordlist.words)


# The committed Russian and Belarusian lists, and the English words new codenames use, must keep
# every rule the build script applies (scripts/build_wordlists.py), whoever edits them.

LIST_DIR = Path(__file__).resolve().parents[2] / "crypto" / "wordlists"


def _committed(language: str) -> list[str]:
    return (LIST_DIR / f"{language}.txt").read_text(encoding="utf-8").split("\n")[:-1]


@pytest.mark.parametrize("language", ["ru", "be"])
def test_committed_list_is_unique_letters_only_sorted_and_prefix_free(language: str) -> None:
    words = _committed(language)
    assert len(words) == len(set(words)) >= 2436  # 8 × log2(2436) = 90 bits
    assert words == sorted(words)
    assert all(LETTERS[language].fullmatch(word) and 3 <= len(word) <= 8 for word in words)
    assert all(unicodedata.normalize("NFC", word) == word for word in words)
    # Sorted, a word that is the prefix of another sits right before one of the words it starts.
    assert not [(a, b) for a, b in itertools.pairwise(words) if b.startswith(a)]
    chosen = load_codename_words(language)
    assert chosen.accepted == frozenset(words)
    assert chosen.drawn.words == tuple(w for w in words if not w.startswith(read_blocked_stems()))


@pytest.mark.parametrize("language", ["en", "ru", "be"])
def test_no_new_codename_word_starts_with_a_blocked_stem(language: str) -> None:
    stems = read_blocked_stems()
    drawn = load_codename_words(language).drawn.words
    assert not [word for word in drawn if word.startswith(stems)]


def test_the_grim_english_words_are_no_longer_drawn_but_still_accepted() -> None:
    english = load_codename_words("en")
    for word in ("bruising", "starving", "hatred", "gallows", "handcuff"):
        assert word not in english.drawn.members
        assert word in english.accepted
    assert english.accepted == load_eff_wordlist().members


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("ru", ("бог", "еврей", "цыган", "поляк", "церковь", "молитва")),
        ("be", ("бог", "яўрэй", "цыган", "паляк", "царква", "малітва")),
    ],
)
def test_faiths_and_peoples_are_no_longer_drawn_but_old_codenames_still_log_in(
    language: str, words: tuple[str, ...]
) -> None:
    chosen = load_codename_words(language)
    for word in words:
        assert word not in chosen.drawn.members
        assert word in chosen.accepted


@pytest.mark.parametrize("language", ["en", "ru", "be"])
def test_each_language_reaches_90_bits(language: str) -> None:
    chosen = load_codename_words(language)
    assert chosen.length * math.log2(len(chosen.drawn.words)) >= 90
    assert chosen.bits() >= 90


def test_lists_do_not_share_a_script_so_the_word_count_and_alphabet_tell_the_list() -> None:
    english = load_codename_words("en").accepted
    cyrillic = load_codename_words("ru").accepted | load_codename_words("be").accepted
    assert not english & cyrillic
    assert load_codename_words("ru").length == load_codename_words("be").length


def test_an_unknown_language_has_no_list() -> None:
    with pytest.raises(WordListUnavailable, match="choose one of en, ru, be"):
        load_codename_words("de")
