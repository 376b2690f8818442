"""The consent record: protective defaults, the canonical document and its strict reader."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formats.consent import (
    Consent,
    ConsentRecord,
    Destination,
    build_consent_document,
    encode_consent,
    parse_consent,
    parse_consent_document,
)
from formats.errors import InvalidConsent
from tests.formats.strategies import (
    PROPERTY,
    consent_records,
    json_values,
    mutated,
    parses_or_refuses,
)

MOMENT = datetime(2026, 3, 25, 9, 30, 1, 123456, tzinfo=UTC)


def codes(error: InvalidConsent) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in error.problems}


def test_the_default_is_the_most_protective_choice() -> None:
    consent = Consent()
    assert consent.destinations == {Destination.PLATFORM}
    assert consent.replies is False
    assert consent.investigator_contact is False


def test_consent_without_the_platform_cannot_exist() -> None:
    with pytest.raises(InvalidConsent) as caught:
        Consent(frozenset({Destination.UN}))
    assert ("destinations", "platform_required") in codes(caught.value)


def test_the_document_is_canonical_json_with_every_key() -> None:
    record = ConsentRecord(Consent(frozenset(Destination), replies=True), MOMENT)
    encoded = encode_consent(record)
    assert encoded == (
        b'{"destinations":["platform","un","court"],"format":"skrynka-consent",'
        b'"investigator_contact":false,"recorded_at":"2026-03-25T09:30:01.123456Z",'
        b'"replies":true,"version":1}'
    )
    assert json.loads(encoded) == build_consent_document(record)


def test_times_are_written_in_utc() -> None:
    minsk = timezone(timedelta(hours=3))
    record = ConsentRecord(Consent(), datetime(2026, 3, 25, 12, 30, 1, 123456, tzinfo=minsk))
    assert build_consent_document(record)["recorded_at"] == "2026-03-25T09:30:01.123456Z"


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(InvalidConsent):
        ConsentRecord(Consent(), datetime(2026, 3, 25))


def test_round_trip() -> None:
    record = ConsentRecord(
        Consent(frozenset({Destination.PLATFORM, Destination.UN}), True, True), MOMENT
    )
    assert parse_consent(encode_consent(record)) == record


def test_readers_ignore_keys_added_later() -> None:
    document = build_consent_document(ConsentRecord(Consent(), MOMENT))
    document["note"] = "added by a later version"
    assert parse_consent(json.dumps(document).encode()) == ConsentRecord(Consent(), MOMENT)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"format": "skrynka-receipt"}, ("format", "not_skrynka_consent")),
        ({"version": 2}, ("version", "unsupported_version")),
        ({"version": True}, ("version", "unsupported_version")),
        ({"version": 1.0}, ("version", "unsupported_version")),
        ({"recorded_at": "yesterday"}, ("recorded_at", "not_a_utc_time")),
        ({"destinations": "un"}, ("destinations", "not_a_list")),
        ({"destinations": []}, ("destinations", "not_a_list")),
        ({"destinations": ["platform", "press"]}, ("destinations", "unknown_choice")),
        ({"destinations": ["platform", "un", "un"]}, ("destinations", "repeated_choice")),
        ({"destinations": ["un"]}, ("destinations", "platform_required")),
        ({"replies": "no"}, ("replies", "not_a_boolean")),
        ({"investigator_contact": 1}, ("investigator_contact", "not_a_boolean")),
    ],
)
def test_bad_documents_are_refused(change: dict[str, object], expected: tuple[str, str]) -> None:
    document = build_consent_document(ConsentRecord(Consent(), MOMENT))
    document.update(change)
    with pytest.raises(InvalidConsent) as caught:
        parse_consent(json.dumps(document).encode())
    assert expected in codes(caught.value)


@pytest.mark.parametrize("data", [b"", b"[]", b"\xff\xfe", b'"consent"', b"{"])
def test_bytes_that_are_not_a_json_object_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidConsent) as caught:
        parse_consent(data)
    assert ("document", "not_a_json_object") in codes(caught.value)


@pytest.mark.parametrize("document", [[], "consent", None, 1])
def test_a_document_that_is_not_an_object_is_refused(document: object) -> None:
    with pytest.raises(InvalidConsent) as caught:
        parse_consent_document(document)  # type: ignore[arg-type]
    assert ("document", "not_a_json_object") in codes(caught.value)


@PROPERTY
@given(consent_records)
def test_every_valid_record_reads_back_as_itself(record: ConsentRecord) -> None:
    encoded = encode_consent(record)
    assert parse_consent(encoded) == record
    assert encode_consent(parse_consent(encoded)) == encoded


@PROPERTY
@given(st.binary())
def test_arbitrary_bytes_are_read_or_refused_never_crash(data: bytes) -> None:
    parses_or_refuses(parse_consent, data)


@PROPERTY
@given(json_values)
def test_arbitrary_json_is_read_or_refused_never_crash(value: object) -> None:
    parses_or_refuses(parse_consent, json.dumps(value).encode())


@PROPERTY
@given(st.data())
def test_a_damaged_record_is_refused_with_a_format_error(data: st.DataObject) -> None:
    record = data.draw(consent_records)
    parses_or_refuses(parse_consent, data.draw(mutated(encode_consent(record))))
