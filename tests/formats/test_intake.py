"""The intake document: every key present, canonical bytes, and a strict reader."""

import json

import pytest

from formats.errors import InvalidIntake
from formats.intake import (
    Intake,
    Region,
    Relation,
    Violation,
    build_intake_document,
    encode_intake,
    parse_intake,
    parse_intake_document,
)


def codes(error: InvalidIntake) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in error.problems}


def full_answers() -> Intake:
    return Intake(
        violations=frozenset({Violation.TORTURE, Violation.ARBITRARY_DETENTION}),
        when_text="August 2020, three nights",
        when_year=2020,
        when_month=8,
        where_text="Акрэсціна, Мінск",
        region=Region.MINSK_CITY,
        responsible="ЦИП на Окрестина; ОМОН",
        relation=Relation.SURVIVOR,
    )


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
    assert build_intake_document(Intake(relation=Relation.OTHER)) == {
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
    assert parse_intake(encode_intake(intake)) == intake
    assert parse_intake(encode_intake(Intake())) == Intake()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"format": "skrynka-consent"}, ("format", "not_skrynka_intake")),
        ({"version": 0}, ("version", "unsupported_version")),
        ({"version": True}, ("version", "unsupported_version")),
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
    document = build_intake_document(full_answers())
    document.update(change)
    with pytest.raises(InvalidIntake) as caught:
        parse_intake(json.dumps(document).encode())
    assert expected in codes(caught.value)


def test_bytes_that_are_not_a_json_object_are_refused() -> None:
    with pytest.raises(InvalidIntake) as caught:
        parse_intake(b"\x00not json")
    assert ("document", "not_a_json_object") in codes(caught.value)


@pytest.mark.parametrize("document", [[], "intake", None])
def test_a_document_that_is_not_an_object_is_refused(document: object) -> None:
    with pytest.raises(InvalidIntake) as caught:
        parse_intake_document(document)  # type: ignore[arg-type]
    assert ("document", "not_a_json_object") in codes(caught.value)


def test_text_that_is_not_clean_cannot_be_built() -> None:
    with pytest.raises(InvalidIntake) as caught:
        Intake(where_text="Minsk \u202egnp.exe")
    assert ("where_text", "invalid_characters") in codes(caught.value)
