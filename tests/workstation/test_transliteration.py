"""The search fold: Belarusian, Russian, ICAO passport and Łacinka spellings of one name meet."""

from __future__ import annotations

import pytest

from workstation.transliteration import fold_text, transliterate


@pytest.mark.parametrize(("spellings", "folded"), [
    (["Ціханоўская", "Tsikhanouskaya", "TSIKHANOUSKAYA"], "tsihanouskaia"),
    (["Лукашэнка", "Lukashenka", "Łukašenka"], "lukashenka"),
    (["Жодзіна", "Zhodzina", "Žodzina"], "zhodzina"),
    (["Щербаков", "Shcherbakov"], "shcherbakov"),
])
def test_spellings_of_one_name_fold_alike(spellings: list[str], folded: str) -> None:
    assert {fold_text(spelling) for spelling in spellings} == {folded}


def test_transliteration_follows_icao_9303() -> None:
    assert transliterate("Юрий Ёлкин, Объедков") == "iurii elkin, obieedkov"
    assert transliterate("Гомель, Мікалай, Ўладзімір") == "gomel, mikalai, uladzimir"


def test_latin_text_only_loses_case_and_diacritics() -> None:
    assert transliterate("Café Ölund") == "cafe olund"
