"""What every JSON document of this package shares: canonical bytes, strict reading, UTC times.

Documents that are signed, hashed or compared (receipts, consent and intake answers) have one
byte form, so equal content always gives equal bytes and a known-answer test can pin it.
`parse_document` refuses anything but a JSON object in UTF-8, including the NaN and Infinity
that Python's json module would otherwise accept; the caller turns its `None` into the error of
its own format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

UTC_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def encode_document(document: Mapping[str, Any]) -> bytes:
    """The one byte form of a document: UTF-8, sorted keys, no insignificant white space."""
    return json.dumps(
        document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def parse_document(data: bytes) -> dict[str, Any] | None:
    """A JSON object from UTF-8 bytes, or None when the bytes are not one."""
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a Z, as every document writes times."""
    if moment.tzinfo is None:
        raise ValueError("a document time must be timezone-aware")
    return moment.astimezone(UTC).strftime(UTC_TIME_FORMAT)


def parse_utc(text: object) -> datetime | None:
    """The inverse of format_utc; None for anything else."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, UTC_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
