"""The intake document: every key present, canonical bytes, and a strict reader."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formats.errors import InvalidIntake
from formats.intake import (
    RESPONSIBLE_LIMIT,
    Intake,
    Region,
    Relation,
    Violation,
    build_intake_document,
    clean_text,
    encode_intake,
    parse_intake,
    parse_intake_document,
)
from tests.formats.strategies import (
    PROPERTY,
    intakes,
    json_values,
    mutated,
    parses_or_refuses,
    texts,
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


@PROPERTY
@given(intakes)
def test_every_valid_intake_reads_back_as_itself(intake: Intake) -> None:
    encoded = encode_intake(intake)
    assert parse_intake(encoded) == intake
    assert encode_intake(parse_intake(encoded)) == encoded


@PROPERTY
@given(texts)
def test_clean_text_is_stable(raw: str) -> None:
    # An Intake keeps only text that clean_text returns unchanged, so cleaning twice must not
    # change it again, or an answer accepted on the form could be refused when read back.
    once = clean_text("responsible", raw, RESPONSIBLE_LIMIT, [])
    if once is not None:
        assert clean_text("responsible", once, RESPONSIBLE_LIMIT, []) == once


@PROPERTY
@given(st.binary())
def test_arbitrary_bytes_are_read_or_refused_never_crash(data: bytes) -> None:
    parses_or_refuses(parse_intake, data)


@PROPERTY
@given(json_values)
def test_arbitrary_json_is_read_or_refused_never_crash(value: object) -> None:
    parses_or_refuses(parse_intake, json.dumps(value).encode())


@PROPERTY
@given(st.data())
def test_damaged_answers_are_refused_with_a_format_error(data: st.DataObject) -> None:
    intake = data.draw(intakes)
    parses_or_refuses(parse_intake, data.draw(mutated(encode_intake(intake))))
