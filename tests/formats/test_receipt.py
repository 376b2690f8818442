import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formats.errors import InvalidReceipt
from formats.receipt import Receipt, encode_receipt, parse_receipt
from tests.formats.strategies import PROPERTY, json_values, mutated, parses_or_refuses, receipts

FILE_RECEIPT = Receipt(
    submission_uuid="5b3c8a52-93a1-4c57-9f5e-0c6b1a0e2f11",
    kind="file",
    original_name="фото 1.jpg",
    size=1234,
    sha256="a" * 64,
    sha512="b" * 128,
    received_at=datetime(2026, 11, 27, 5, 11, 16, 55418, tzinfo=UTC),
)
MESSAGE_RECEIPT = replace(FILE_RECEIPT, kind="message", original_name=None)


def test_known_answer_canonical_bytes() -> None:
    assert encode_receipt(FILE_RECEIPT) == (
        '{"format":"skrynka-receipt","kind":"file","original_name":"фото 1.jpg",'
        '"received_at":"2026-11-27T05:11:16.055418Z","sha256":"' + "a" * 64 + '",'
        '"sha512":"' + "b" * 128 + '","size":1234,'
        '"submission_uuid":"5b3c8a52-93a1-4c57-9f5e-0c6b1a0e2f11","version":1}'
    ).encode("utf-8")


@pytest.mark.parametrize("receipt", [FILE_RECEIPT, MESSAGE_RECEIPT])
def test_round_trip(receipt: Receipt) -> None:
    assert parse_receipt(encode_receipt(receipt)) == receipt


def test_time_is_stored_in_utc() -> None:
    minsk = timezone(timedelta(hours=3))
    local = replace(FILE_RECEIPT, received_at=datetime(2026, 11, 27, 8, 11, 16, 55418, minsk))
    assert b'"received_at":"2026-11-27T05:11:16.055418Z"' in encode_receipt(local)
    assert parse_receipt(encode_receipt(local)).received_at == FILE_RECEIPT.received_at


def test_unknown_keys_are_ignored() -> None:
    document = json.loads(encode_receipt(FILE_RECEIPT))
    document["added_in_version_1_1"] = {"anything": True}
    assert parse_receipt(json.dumps(document).encode()) == FILE_RECEIPT


def _tampered(**changes: Any) -> bytes:
    document = json.loads(encode_receipt(FILE_RECEIPT))
    for key, value in changes.items():
        if value is KeyError:
            del document[key]
        else:
            document[key] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"", "not UTF-8 JSON"),
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"[]", "not a JSON object"),
        (b'{"size": NaN}', "not UTF-8 JSON"),
        (_tampered(format="skrynka-transfer-bundle"), "not a skrynka-receipt"),
        (_tampered(version=2), "version 2"),
        (_tampered(version="1"), "version '1'"),
        (_tampered(version=True), "version True"),
        (_tampered(sha256=KeyError), "lacks sha256"),
        (_tampered(size=-1), "size"),
        (_tampered(size=True), "size"),
        (_tampered(size=1.5), "size"),
        (_tampered(sha256="A" * 64), "sha256"),
        (_tampered(sha512="b" * 127), "sha512"),
        (_tampered(kind="reply"), "kind"),
        (_tampered(original_name=None), "original_name"),
        (_tampered(submission_uuid="not-a-uuid"), "submission_uuid"),
        (_tampered(received_at="2026-11-27 05:11:16"), "received_at"),
        (_tampered(received_at="2026-11-27T05:11:16+03:00"), "received_at"),
        (b"{" * 70000, "at most"),
    ],
)
def test_invalid_receipts_are_refused(data: bytes, complaint: str) -> None:
    with pytest.raises(InvalidReceipt, match=complaint):
        parse_receipt(data)


def test_message_with_a_name_cannot_be_built() -> None:
    with pytest.raises(InvalidReceipt, match="a message has no original_name"):
        replace(MESSAGE_RECEIPT, original_name="x.txt")


def test_naive_time_cannot_be_built() -> None:
    with pytest.raises(InvalidReceipt, match="timezone-aware"):
        replace(FILE_RECEIPT, received_at=datetime(2026, 11, 27))


def test_intake_and_consent_ride_along_and_round_trip() -> None:
    intake = {"format": "skrynka-intake", "version": 1, "relation": "witness"}
    consent = {"format": "skrynka-consent", "version": 1, "destinations": ["platform", "un"]}
    receipt = replace(FILE_RECEIPT, intake=intake, consent=consent)
    encoded = encode_receipt(receipt)
    assert b'"intake":{"format":"skrynka-intake","relation":"witness","version":1}' in encoded
    assert parse_receipt(encoded) == receipt


def test_receipts_without_answers_have_no_such_keys() -> None:
    assert b"intake" not in encode_receipt(FILE_RECEIPT)
    assert b"consent" not in encode_receipt(FILE_RECEIPT)
    assert parse_receipt(encode_receipt(FILE_RECEIPT)).intake is None


def test_a_consent_record_has_a_receipt_without_a_name() -> None:
    receipt = replace(MESSAGE_RECEIPT, kind="consent")
    assert parse_receipt(encode_receipt(receipt)) == receipt
    with pytest.raises(InvalidReceipt, match="a consent record has no original_name"):
        replace(receipt, original_name="consent.json")


@pytest.mark.parametrize(
    "attached",
    [{"format": "skrynka-consent"}, {"version": 1}, ["skrynka-intake"], "skrynka-intake"],
)
def test_attached_documents_must_name_their_format(attached: object) -> None:
    with pytest.raises(InvalidReceipt, match="intake is not a skrynka-intake object"):
        replace(FILE_RECEIPT, intake=attached)  # type: ignore[arg-type]


@PROPERTY
@given(receipts())
def test_every_valid_receipt_reads_back_as_itself(receipt: Receipt) -> None:
    encoded = encode_receipt(receipt)
    assert parse_receipt(encoded) == receipt
    assert encode_receipt(parse_receipt(encoded)) == encoded


@PROPERTY
@given(st.binary())
def test_arbitrary_bytes_are_read_or_refused_never_crash(data: bytes) -> None:
    parses_or_refuses(parse_receipt, data)


@PROPERTY
@given(json_values)
def test_arbitrary_json_is_read_or_refused_never_crash(value: object) -> None:
    parses_or_refuses(parse_receipt, json.dumps(value).encode())


@PROPERTY
@given(st.data())
def test_a_damaged_receipt_is_refused_with_a_format_error(data: st.DataObject) -> None:
    receipt = data.draw(receipts())
    parses_or_refuses(parse_receipt, data.draw(mutated(encode_receipt(receipt))))


@pytest.mark.parametrize(
    "received_at", ["2026-13-01T00:00:00Z", "2026-02-30T05:11:16.055418Z", "2026-11-27T25:00:00Z"]
)
def test_an_impossible_time_is_refused(received_at: str) -> None:
    with pytest.raises(InvalidReceipt, match="received_at"):
        parse_receipt(_tampered(received_at=received_at))


@pytest.mark.parametrize("kind", [["file"], {"kind": "file"}, 1])
def test_a_kind_of_the_wrong_type_is_refused(kind: object) -> None:
    with pytest.raises(InvalidReceipt, match="kind"):
        parse_receipt(_tampered(kind=kind))
