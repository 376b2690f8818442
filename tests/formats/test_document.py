"""Canonical JSON, strict reading and UTC times: what every document of the package shares."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formats.document import encode_document, format_utc, parse_document, parse_utc
from tests.formats.strategies import PROPERTY, json_values, utc_moments


def test_the_encoding_is_sorted_compact_and_unescaped() -> None:
    assert encode_document({"b": 1, "a": ["я", None]}) == '{"a":["я",null],"b":1}'.encode()


def test_equal_documents_give_equal_bytes_whatever_their_key_order() -> None:
    assert encode_document({"x": 1, "y": {"q": 2, "p": 3}}) == encode_document(
        {"y": {"p": 3, "q": 2}, "x": 1}
    )


def test_nan_cannot_be_encoded() -> None:
    with pytest.raises(ValueError):
        encode_document({"size": float("nan")})


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xfe", b"[]", b'"text"', b"{", b'{"a": NaN}', b'{"a": -Infinity}', b"[" * 100000],
)
def test_anything_but_a_json_object_reads_as_none(data: bytes) -> None:
    assert parse_document(data) is None


def test_times_are_written_in_utc_with_microseconds() -> None:
    minsk = timezone(timedelta(hours=3))
    assert format_utc(datetime(2026, 3, 25, 12, 30, 1, 5, tzinfo=minsk)) == (
        "2026-03-25T09:30:01.000005Z"
    )


def test_a_naive_time_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_utc(datetime(2026, 3, 25))


@pytest.mark.parametrize(
    "text",
    ["2026-03-25T09:30:01Z", "2026-03-25T09:30:01.1+00:00", "2026-02-30T00:00:00.0Z", 7, None],
)
def test_other_times_read_as_none(text: object) -> None:
    assert parse_utc(text) is None


@PROPERTY
@given(utc_moments)
def test_times_read_back_as_written(moment: datetime) -> None:
    assert parse_utc(format_utc(moment)) == moment
    assert parse_utc(format_utc(moment)).tzinfo is UTC  # type: ignore[union-attr]


@PROPERTY
@given(st.dictionaries(st.text(alphabet=st.characters(blacklist_categories=("Cs",))), json_values))
def test_objects_read_back_as_encoded(document: dict[str, object]) -> None:
    assert parse_document(encode_document(document)) == json.loads(encode_document(document))


@PROPERTY
@given(st.binary())
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = parse_document(data)
    assert result is None or isinstance(result, dict)
