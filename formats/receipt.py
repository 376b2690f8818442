"""The receipt of a submission: what the source sent, described inside a ciphertext.

Format ``skrynka-receipt`` version 1, as in ``docs/storage-format.md``. The server builds a
`Receipt` while an upload streams in and encrypts `encode_receipt(receipt)` next to the item; the
workstation decrypts it and reads it back with `parse_receipt`. Encoding is canonical JSON
(sorted keys, no spaces, UTF-8) so the same receipt always gives the same bytes. Readers ignore
keys they do not know, so later versions can add some. Anything else that is wrong (not JSON,
missing or mistyped field, other format or version) raises `InvalidReceipt` naming the fault;
building a `Receipt` with bad fields raises it too, so no invalid receipt is ever encoded.
"""

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from formats.consent import CONSENT_FORMAT
from formats.document import encode_document
from formats.errors import InvalidReceipt
from formats.intake import INTAKE_FORMAT

RECEIPT_FORMAT = "skrynka-receipt"
RECEIPT_VERSION = 1
KINDS = frozenset({"message", "file", "consent"})
#: Optional objects a receipt may carry: the source's intake answers and consent
#: (``skrynka-intake`` and ``skrynka-consent``, docs/storage-format.md). They are checked by
#: their own readers; here only their shape (a JSON object naming its format) is checked.
ATTACHED_DOCUMENTS = {"intake": INTAKE_FORMAT, "consent": CONSENT_FORMAT}
#: A receipt is a few hundred bytes; anything far larger is not one.
MAX_RECEIPT_BYTES = 64 * 1024
_MAX_NAME_CHARS = 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHA512 = re.compile(r"[0-9a-f]{128}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


@dataclass(frozen=True)
class Receipt:
    """One submission's receipt. ``original_name`` is ``None`` exactly for messages;
    ``received_at`` is timezone-aware (stored in UTC)."""

    submission_uuid: str
    kind: str
    original_name: str | None
    size: int
    sha256: str
    sha512: str
    received_at: datetime
    intake: Mapping[str, Any] | None = None
    consent: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise InvalidReceipt("Invalid receipt: " + "; ".join(problems) + ".")


def encode_receipt(receipt: Receipt) -> bytes:
    """Canonical JSON bytes of ``receipt``."""
    document = {
        "format": RECEIPT_FORMAT,
        "version": RECEIPT_VERSION,
        "submission_uuid": receipt.submission_uuid,
        "kind": receipt.kind,
        "original_name": receipt.original_name,
        "size": receipt.size,
        "sha256": receipt.sha256,
        "sha512": receipt.sha512,
        "received_at": _format_time(receipt.received_at),
    }
    for key in ATTACHED_DOCUMENTS:
        attached = getattr(receipt, key)
        if attached is not None:
            document[key] = dict(attached)
    return encode_document(document)


def parse_receipt(data: bytes) -> Receipt:
    """Parse and validate receipt bytes; raise :class:`InvalidReceipt` naming what is wrong."""
    if not isinstance(data, bytes) or len(data) > MAX_RECEIPT_BYTES:
        raise InvalidReceipt(f"A receipt is JSON bytes of at most {MAX_RECEIPT_BYTES} bytes.")
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidReceipt("The receipt is not UTF-8 JSON.") from exc
    if not isinstance(document, dict):
        raise InvalidReceipt("The receipt is not a JSON object.")
    if document.get("format") != RECEIPT_FORMAT:
        raise InvalidReceipt(f"The document is not a {RECEIPT_FORMAT}.")
    version = document.get("version")
    if type(version) is not int or version != RECEIPT_VERSION:
        raise InvalidReceipt(
            f"The receipt has version {version!r}; this software reads version "
            f"{RECEIPT_VERSION}: update it."
        )
    missing = [
        key
        for key in (
            "submission_uuid",
            "kind",
            "original_name",
            "size",
            "sha256",
            "sha512",
            "received_at",
        )
        if key not in document
    ]
    if missing:
        raise InvalidReceipt("The receipt lacks " + ", ".join(missing) + ".")
    received_at = document["received_at"]
    moment = _parse_time(received_at)
    if moment is None:
        raise InvalidReceipt("The receipt's received_at is not a UTC timestamp ending in Z.")
    values: dict[str, Any] = {
        key: document[key]
        for key in ("submission_uuid", "kind", "original_name", "size", "sha256", "sha512")
    }
    for key in ATTACHED_DOCUMENTS:
        values[key] = document.get(key)
    return Receipt(received_at=moment, **values)


def _problems(receipt: Receipt) -> list[str]:
    problems = []
    if not isinstance(receipt.submission_uuid, str) or not _is_uuid(receipt.submission_uuid):
        problems.append("submission_uuid is not a lower-case UUID")
    if not isinstance(receipt.kind, str) or receipt.kind not in KINDS:
        problems.append("kind is neither 'message', 'file' nor 'consent'")
    if receipt.kind == "message" and receipt.original_name is not None:
        problems.append("a message has no original_name")
    if receipt.kind == "consent" and receipt.original_name is not None:
        problems.append("a consent record has no original_name")
    for key, document_format in ATTACHED_DOCUMENTS.items():
        attached = getattr(receipt, key)
        if attached is not None and (
            not isinstance(attached, Mapping) or attached.get("format") != document_format
        ):
            problems.append(f"{key} is not a {document_format} object")
    if receipt.kind == "file" and (
        not isinstance(receipt.original_name, str)
        or not receipt.original_name
        or len(receipt.original_name) > _MAX_NAME_CHARS
    ):
        problems.append(f"a file needs an original_name of 1 to {_MAX_NAME_CHARS} characters")
    if type(receipt.size) is not int or receipt.size < 0:
        problems.append("size is not a non-negative integer")
    if not isinstance(receipt.sha256, str) or not _SHA256.fullmatch(receipt.sha256):
        problems.append("sha256 is not 64 lower-case hex characters")
    if not isinstance(receipt.sha512, str) or not _SHA512.fullmatch(receipt.sha512):
        problems.append("sha512 is not 128 lower-case hex characters")
    if not isinstance(receipt.received_at, datetime) or receipt.received_at.utcoffset() is None:
        problems.append("received_at is not a timezone-aware datetime")
    return problems


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _parse_time(text: object) -> datetime | None:
    """The UTC moment of a `...Z` timestamp; None for anything else, impossible dates included."""
    if not isinstance(text, str) or not _TIMESTAMP.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    except ValueError:
        return None


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
