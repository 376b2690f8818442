import math
import unicodedata

import pytest

from crypto.codename import (
    CODENAME_WORDS,
    MAX_CODENAME_CHARS,
    codename_language,
    generate_codename,
    normalize_codename,
)
from crypto.errors import InvalidCodename
from crypto.wordlist import load_codename_words, load_eff_wordlist


def test_codename_has_at_least_90_bits() -> None:
    wordlist = load_eff_wordlist()
    assert len(wordlist.words) == 7776
    assert CODENAME_WORDS * math.log2(len(wordlist.words)) >= 90
    assert CODENAME_WORDS * wordlist.bits_per_word() == pytest.approx(7 * math.log2(7776))


def test_generated_codename_is_seven_list_words() -> None:
    members = load_eff_wordlist().members
    codename = generate_codename()
    words = codename.split(" ")
    assert len(words) == 7
    assert all(word in members for word in words)
    assert normalize_codename(codename) == codename


def test_generated_codenames_differ() -> None:
    assert len({generate_codename() for _ in range(50)}) == 50


def test_too_few_words_cannot_be_generated() -> None:
    with pytest.raises(ValueError, match="at least 7"):
        generate_codename(words=6)
    with pytest.raises(ValueError, match="at least 8"):
        generate_codename("be", words=7)


def test_normalize_ignores_case_and_spacing() -> None:
    codename = generate_codename()
    typed = "  " + "\t ".join(word.upper() for word in codename.split(" ")) + "\n"
    assert normalize_codename(typed) == codename


def test_wrong_word_count_is_refused_without_echo() -> None:
    codename = generate_codename()
    short = " ".join(codename.split(" ")[:6])
    with pytest.raises(InvalidCodename, match="exactly 7 or 8 words") as caught:
        normalize_codename(short)
    assert codename.split(" ")[0] not in str(caught.value)


def test_unknown_word_is_refused_without_echo() -> None:
    words = generate_codename().split(" ")
    words[3] = "zzzzqx"
    with pytest.raises(InvalidCodename, match="spelling") as caught:
        normalize_codename(" ".join(words))
    assert "zzzzqx" not in str(caught.value)


def test_overlong_input_is_refused_before_any_work() -> None:
    with pytest.raises(InvalidCodename, match="longer than any codename"):
        normalize_codename("a " * (MAX_CODENAME_CHARS // 2 + 1))


@pytest.mark.parametrize(
    "text",
    ["", "       ", "abacus\0 abacus abacus abacus abacus abacus abacus", "абак " * 7],
)
def test_junk_is_refused(text: str) -> None:
    with pytest.raises(InvalidCodename):
        normalize_codename(text)


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidCodename):
        normalize_codename(b"abacus" * 7)  # type: ignore[arg-type]


# Russian and Belarusian codenames, one canonical form, keyboard slips.

_TO_RUSSIAN_KEYS = str.maketrans(
    "йцукенгшщзхъфывапролджэячсмитьбю", "qwertyuiop[]asdfghjkl;'zxcvbnm,."
)
_TO_BELARUSIAN_KEYS = str.maketrans(
    "йцукенгшўзх'фывапролджэячсмітьбюё", "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
)


@pytest.mark.parametrize(("language", "length"), [("en", 7), ("ru", 8), ("be", 8)])
def test_a_codename_in_each_language_has_its_length_and_list(language: str, length: int) -> None:
    members = load_codename_words(language).drawn.members
    codename = generate_codename(language)
    assert len(codename.split(" ")) == length
    assert all(word in members for word in codename.split(" "))
    assert normalize_codename(codename) == codename
    assert codename_language(codename) == language


def test_english_codenames_keep_their_old_canonical_form_byte_for_byte() -> None:
    # Sources made before other languages existed derive their secrets from
    # " ".join(text.lower().split()); any change here would lock them out.
    for _ in range(20):
        codename = generate_codename()
        typed = "  " + "   ".join(w.capitalize() for w in codename.split(" ")) + " \n"
        assert normalize_codename(typed).encode() == " ".join(typed.lower().split()).encode()
    assert normalize_codename("Abacus ZOOM abacus zoom abacus zoom abacus") == (
        "abacus zoom abacus zoom abacus zoom abacus"
    )


@pytest.mark.parametrize("language", ["ru", "be"])
def test_any_codename_is_accepted_whatever_language_it_is_in(language: str) -> None:
    codename = generate_codename(language)
    typed = "\t".join(word.upper() for word in codename.split(" ")) + "  "
    assert normalize_codename(typed) == codename


def test_a_russian_codename_typed_with_the_latin_layout_is_read_as_russian() -> None:
    codename = generate_codename("ru")
    slipped = codename.translate(_TO_RUSSIAN_KEYS)
    assert slipped.isascii()
    assert normalize_codename(slipped) == codename


def test_a_belarusian_codename_typed_with_the_latin_layout_is_read_as_belarusian() -> None:
    codename = generate_codename("be")
    slipped = codename.translate(_TO_BELARUSIAN_KEYS)
    assert normalize_codename(slipped) == codename


def test_an_english_codename_typed_with_a_cyrillic_layout_is_read_as_english() -> None:
    codename = generate_codename("en")
    back = {ord(latin): cyrillic for cyrillic, latin in
            zip("йцукенгшщзфывапролдячсмить", "qwertyuiopasdfghjklzxcvbnm", strict=True)}
    back[ord("-")] = "-"
    slipped = codename.translate(back)
    assert not any(letter.isascii() and letter.isalpha() for letter in slipped)
    assert normalize_codename(slipped) == codename


def test_decomposed_letters_are_composed_first() -> None:
    codename = generate_codename("be")
    decomposed = unicodedata.normalize("NFD", codename)
    assert normalize_codename(decomposed) == codename


def test_words_from_two_lists_are_not_a_codename() -> None:
    russian = generate_codename("ru").split(" ")
    english = generate_codename("en").split(" ")
    with pytest.raises(InvalidCodename, match="spelling"):
        normalize_codename(" ".join(russian[:4] + english[:4]))
