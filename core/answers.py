"""What consent and intake answers share: text clean-up, problems per field, canonical JSON.

The source's answers are checked here, framework-free, and every problem is reported at once with
the field it belongs to and a machine-readable code, so the web form can show a translated message
next to the right field while core stays free of Flask and of any language.
"""

import json
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.errors import FieldProblem

# Control characters other than line breaks and tabs have no business in a typed answer and can
# hide text from the person who later reads it (bidi overrides are format characters, Cf).
_ALLOWED_CONTROLS = frozenset("\n\t")


def clean_text(field: str, raw: str | None, limit: int, problems: list[FieldProblem]) -> str | None:
    """Trimmed, NFC-normalised text, or None when blank; a problem when too long or unsafe."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        return None
    if any(
        unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in _ALLOWED_CONTROLS
        for ch in text
    ) or any(unicodedata.bidirectional(ch) in _BIDI_CONTROLS for ch in text):
        problems.append(FieldProblem(field, "invalid_characters"))
        return None
    if len(text) > limit:
        problems.append(FieldProblem(field, "too_long", limit))
        return None
    return text


# Explicit bidirectional embeddings, overrides and isolates: they reorder what a reader sees.
_BIDI_CONTROLS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The one byte form of a document: UTF-8, sorted keys, no insignificant white space."""
    return json.dumps(
        document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def parse_json_object(data: bytes) -> dict[str, Any] | None:
    """A JSON object from UTF-8 bytes, or None when the bytes are not one."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a Z, as the receipts write times."""
    if moment.tzinfo is None:
        raise ValueError("a consent time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: object) -> datetime | None:
    """The inverse of format_utc; None for anything else."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None
