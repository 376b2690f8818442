import math

import pytest

from crypto.codename import (
    CODENAME_WORDS,
    MAX_CODENAME_CHARS,
    generate_codename,
    normalize_codename,
)
from crypto.errors import InvalidCodename
from crypto.wordlist import load_eff_wordlist


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


def test_normalize_ignores_case_and_spacing() -> None:
    codename = generate_codename()
    typed = "  " + "\t ".join(word.upper() for word in codename.split(" ")) + "\n"
    assert normalize_codename(typed) == codename


def test_wrong_word_count_is_refused_without_echo() -> None:
    codename = generate_codename()
    short = " ".join(codename.split(" ")[:6])
    with pytest.raises(InvalidCodename, match="exactly 7 words") as caught:
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
