"""Structured intake: every question skippable, clear errors, and the canonical document."""

import json
from datetime import date

import pytest

from core.errors import InvalidIntake
from core.intake import (
    RESPONSIBLE_LIMIT,
    WHEN_TEXT_LIMIT,
    Intake,
    Region,
    Relation,
    Violation,
    decode_intake,
    encode_intake,
    intake_document,
    intake_from_form,
)

TODAY = date(2026, 3, 25)


def codes(error: InvalidIntake) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in error.problems}


def full_answers() -> Intake:
    return intake_from_form(
        violations=["torture_or_ill_treatment", "arbitrary_detention"],
        when_text="  August 2020, three nights  ",
        when_year="2020",
        when_month="8",
        where_text="Акрэсціна, Мінск",
        region="minsk_city",
        responsible="ЦИП на Окрестина; ОМОН",
        relation="survivor",
        today=TODAY,
    )


def test_a_form_left_blank_is_an_empty_intake() -> None:
    intake = intake_from_form(
        violations=[],
        when_text="",
        when_year="",
        when_month="",
        where_text="   ",
        region="",
        responsible="\n",
        relation="",
        today=TODAY,
    )
    assert intake.is_empty
    assert intake == Intake()


def test_each_question_can_be_answered_alone() -> None:
    assert intake_from_form(relation="witness", today=TODAY) == Intake(relation=Relation.WITNESS)
    assert intake_from_form(when_year="2021", today=TODAY) == Intake(when_year=2021)
    assert intake_from_form(region="gomel", today=TODAY).region is Region.GOMEL
    assert not intake_from_form(violations=["other"], today=TODAY).is_empty


def test_answers_are_trimmed_and_kept() -> None:
    intake = full_answers()
    assert intake.when_text == "August 2020, three nights"
    assert intake.ordered_violations == (Violation.ARBITRARY_DETENTION, Violation.TORTURE)
    assert intake.when_year == 2020
    assert intake.when_month == 8
    assert intake.region is Region.MINSK_CITY


def test_every_oblast_and_minsk_city_can_be_chosen() -> None:
    assert {r.value for r in Region} == {
        "brest",
        "vitebsk",
        "gomel",
        "grodno",
        "minsk_region",
        "mogilev",
        "minsk_city",
    }


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"violations": ["riot"]}, ("violations", "unknown_choice")),
        ({"when_year": "twenty"}, ("when_year", "not_a_number")),
        ({"when_year": "1989"}, ("when_year", "out_of_range")),
        ({"when_year": "2027"}, ("when_year", "out_of_range")),
        ({"when_year": "２０２０"}, ("when_year", "not_a_number")),
        ({"when_month": "13"}, ("when_month", "out_of_range")),
        ({"when_month": "0"}, ("when_month", "out_of_range")),
        ({"when_year": "2026", "when_month": "4"}, ("when_month", "in_the_future")),
        ({"when_text": "x" * (WHEN_TEXT_LIMIT + 1)}, ("when_text", "too_long")),
        ({"responsible": "я" * (RESPONSIBLE_LIMIT + 1)}, ("responsible", "too_long")),
        ({"where_text": "Minsk\x00"}, ("where_text", "invalid_characters")),
        ({"where_text": "Minsk \u202egnp.exe"}, ("where_text", "invalid_characters")),
        ({"region": "moscow"}, ("region", "unknown_choice")),
        ({"relation": "informant"}, ("relation", "unknown_choice")),
    ],
)
def test_bad_answers_are_refused_naming_the_field(
    answers: dict[str, object], expected: tuple[str, str]
) -> None:
    with pytest.raises(InvalidIntake) as caught:
        intake_from_form(today=TODAY, **answers)  # type: ignore[arg-type]
    assert expected in codes(caught.value)
    assert expected[0] in str(caught.value)


def test_text_at_the_limit_is_accepted() -> None:
    text = "я" * RESPONSIBLE_LIMIT
    assert intake_from_form(responsible=text, today=TODAY).responsible == text


def test_line_breaks_in_longer_answers_survive() -> None:
    intake = intake_from_form(responsible="unit 3214\r\nofficer Ivanov", today=TODAY)
    assert intake.responsible == "unit 3214\nofficer Ivanov"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidIntake) as caught:
        intake_from_form(when_year="abc", region="nowhere", relation="spy", today=TODAY)
    assert {f for f, _ in codes(caught.value)} == {"when_year", "region", "relation"}


def test_the_document_is_canonical_and_has_every_key() -> None:
    encoded = encode_intake(full_answers())
    assert encoded == (
        '{"format":"skrynka-intake","relation":"survivor",'
        '"responsible":"ЦИП на Окрестина; ОМОН","version":1,'
        '"violations":["arbitrary_detention","torture_or_ill_treatment"],'
        '"when":{"month":8,"text":"August 2020, three nights","year":2020},'
        '"where":{"region":"minsk_city","text":"Акрэсціна, Мінск"}}'
    ).encode()


def test_skipped_answers_are_null_in_the_document() -> None:
    assert intake_document(Intake(relation=Relation.OTHER)) == {
        "format": "skrynka-intake",
        "version": 1,
        "violations": [],
        "when": {"text": None, "year": None, "month": None},
        "where": {"text": None, "region": None},
        "responsible": None,
        "relation": "other_or_prefer_not_to_say",
    }


def test_round_trip() -> None:
    intake = full_answers()
    assert decode_intake(encode_intake(intake)) == intake
    assert decode_intake(encode_intake(Intake())) == Intake()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"format": "skrynka-consent"}, ("format", "not_skrynka_intake")),
        ({"version": 0}, ("version", "unsupported_version")),
        ({"when": "2020"}, ("when", "not_an_object")),
        ({"where": None}, ("where", "not_an_object")),
        ({"violations": "torture"}, ("violations", "not_a_list")),
        ({"violations": ["beating"]}, ("violations", "unknown_choice")),
        ({"violations": [1]}, ("violations", "unknown_choice")),
        ({"relation": ["survivor"]}, ("relation", "unknown_choice")),
        ({"when": {"text": None, "year": "2020", "month": None}}, ("when_year", "out_of_range")),
        ({"when": {"text": None, "year": None, "month": True}}, ("when_month", "out_of_range")),
        ({"where": {"text": " padded ", "region": None}}, ("where_text", "not_clean_text")),
        ({"responsible": 7}, ("responsible", "not_clean_text")),
    ],
)
def test_bad_documents_are_refused(change: dict[str, object], expected: tuple[str, str]) -> None:
    document = intake_document(full_answers())
    document.update(change)
    with pytest.raises(InvalidIntake) as caught:
        decode_intake(json.dumps(document).encode())
    assert expected in codes(caught.value)


def test_bytes_that_are_not_a_json_object_are_refused() -> None:
    with pytest.raises(InvalidIntake) as caught:
        decode_intake(b"\x00not json")
    assert ("document", "not_a_json_object") in codes(caught.value)
