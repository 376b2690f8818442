"""The acknowledgement file: canonical, strict, and a signature over exactly what it says."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formats.acknowledgement import (
    AcknowledgedItem,
    Acknowledgement,
    encode_acknowledgement,
    encode_signed_acknowledgement,
    parse_signed_acknowledgement,
)
from formats.errors import FormatError, InvalidAcknowledgement
from tests.formats.strategies import PROPERTY, json_values, mutated, parses_or_refuses

SIGNATURE = bytes(range(64))
ACK = Acknowledgement(
    bundle_manifest_sha256="a" * 64,
    workstation_key="b" * 64,
    acknowledged_at=datetime(2026, 12, 6, 13, 0, 0, 123456, tzinfo=UTC),
    items=(
        AcknowledgedItem("5b3c8a52-93a1-4c57-9f5e-0c6b1a0e2f11", "c" * 64),
        AcknowledgedItem("0d0c8a52-93a1-4c57-9f5e-0c6b1a0e2f11", "d" * 64),
    ),
)

_hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
acknowledgements = st.builds(
    Acknowledgement,
    bundle_manifest_sha256=_hex64,
    workstation_key=_hex64,
    acknowledged_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)
    ),
    items=st.lists(
        st.builds(AcknowledgedItem, st.uuids().map(str), _hex64),
        min_size=1,
        max_size=5,
        unique_by=lambda item: item.uuid,
    ).map(tuple),
)


def test_known_answer_canonical_bytes() -> None:
    assert (
        encode_acknowledgement(ACK)
        == (
            '{"acknowledged_at":"2026-12-06T13:00:00.123456Z","bundle_manifest_sha256":"'
            + "a" * 64
            + '","format":"skrynka-acknowledgement","items":[{"ciphertext_sha256":"'
            + "c" * 64
            + '","uuid":"5b3c8a52-93a1-4c57-9f5e-0c6b1a0e2f11"},{"ciphertext_sha256":"'
            + "d" * 64
            + '","uuid":"0d0c8a52-93a1-4c57-9f5e-0c6b1a0e2f11"}],"version":1,"workstation_key":"'
            + "b" * 64
            + '"}'
        ).encode()
    )


@PROPERTY
@given(acknowledgements, st.binary(min_size=64, max_size=64))
def test_round_trip_keeps_document_signed_bytes_and_signature(
    ack: Acknowledgement, signature: bytes
) -> None:
    parsed = parse_signed_acknowledgement(encode_signed_acknowledgement(ack, signature))
    assert parsed.acknowledgement == ack
    assert parsed.signed_bytes == encode_acknowledgement(ack)
    assert parsed.signature == signature


def test_unknown_keys_are_ignored_but_signed() -> None:
    outer = json.loads(encode_signed_acknowledgement(ACK, SIGNATURE))
    outer["acknowledgement"]["added_later"] = "x"
    parsed = parse_signed_acknowledgement(json.dumps(outer).encode())
    assert parsed.acknowledgement == ACK
    assert b'"added_later":"x"' in parsed.signed_bytes


def _tampered(**changes: Any) -> bytes:
    outer = json.loads(encode_signed_acknowledgement(ACK, SIGNATURE))
    for key, value in changes.items():
        target = outer if key == "signature" else outer["acknowledgement"]
        if value is KeyError:
            del target[key]
        else:
            target[key] = value
    return json.dumps(outer).encode()


@pytest.mark.parametrize(
    ("data", "fault"),
    [
        (b"not json", "not a UTF-8 JSON object"),
        (b"[]", "not a UTF-8 JSON object"),
        (b'{"signature":"AA=="}', "no acknowledgement object"),
        (_tampered(signature=KeyError), "signature is missing"),
        (_tampered(signature="!!"), "not base64"),
        (_tampered(signature="AAAA"), "not 64 bytes"),
        (_tampered(format="skrynka-receipt"), "not a skrynka-acknowledgement"),
        (_tampered(version=2), "version 2 is not 1"),
        (_tampered(version=True), "version True is not 1"),
        (_tampered(items=KeyError), "lacks items"),
        (_tampered(items={}), "items is not a list"),
        (_tampered(items=[]), "1 to"),
        (_tampered(items=[{"uuid": "x"}]), "item 0 is not an object"),
        (_tampered(items=[{"uuid": "../x", "ciphertext_sha256": "c" * 64}]), "valid uuid"),
        (_tampered(items=[{"uuid": "a", "ciphertext_sha256": "C" * 64}]), "lower-case hex"),
        (
            _tampered(items=[{"uuid": "a", "ciphertext_sha256": "c" * 64}] * 2),
            "named twice",
        ),
        (_tampered(acknowledged_at="2026-12-06 13:00"), "UTC time"),
        (_tampered(bundle_manifest_sha256="a" * 63), "bundle_manifest_sha256"),
        (_tampered(workstation_key=None), "workstation_key"),
    ],
)
def test_faults_are_named(data: bytes, fault: str) -> None:
    with pytest.raises(InvalidAcknowledgement, match=fault) as caught:
        parse_signed_acknowledgement(data)
    assert "Nothing was deleted" in str(caught.value)


def test_oversized_file_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidAcknowledgement, match="at most"):
        parse_signed_acknowledgement(b" " * (4 * 1024 * 1024 + 1))


@PROPERTY
@given(json_values)
def test_any_json_is_read_or_refused_with_a_format_error(value: Any) -> None:
    parses_or_refuses(parse_signed_acknowledgement, json.dumps(value).encode())


@PROPERTY
@given(mutated(encode_signed_acknowledgement(ACK, SIGNATURE)))
def test_mutated_files_are_read_or_refused(data: bytes) -> None:
    parses_or_refuses(parse_signed_acknowledgement, data)


@PROPERTY
@given(st.binary(max_size=512))
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(FormatError):
        parse_signed_acknowledgement(data)
