"""The workstation's acknowledgement of an imported bundle (`skrynka-acknowledgement` v1).

After an import, the workstation names what is now safe in its evidence store: the bundle (the
SHA-256 of its signed manifest) and each item in it (the item's uuid and the SHA-256 of its
ciphertext as the manifest pinned it). `encode_acknowledgement` gives the canonical bytes the
workstation signs with its Ed25519 key; `encode_signed_acknowledgement` wraps those bytes and
the signature into the file staff carry back to the server:

    {"acknowledgement": {...}, "signature": "<base64 of the 64-byte Ed25519 signature>"}

The server reads the file with `parse_signed_acknowledgement`, which returns the acknowledgement,
the exact bytes that were signed (the canonical form of the inner object, so unknown keys a later
version adds are covered too) and the signature; checking that signature against the pinned
workstation key is the caller's job (this package uses no cryptography). Only then may it act
on the items. Anything malformed raises `InvalidAcknowledgement` naming the fault.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from formats.document import encode_document, format_utc, parse_document, parse_utc
from formats.errors import InvalidAcknowledgement

ACKNOWLEDGEMENT_FORMAT = "skrynka-acknowledgement"
ACKNOWLEDGEMENT_VERSION = 1
#: A bundle of thousands of items stays far below this; anything larger is not ours.
MAX_ACKNOWLEDGEMENT_BYTES = 4 * 1024 * 1024
MAX_ITEMS = 20_000
SIGNATURE_BYTES = 64
_HEX64 = re.compile(r"[0-9a-f]{64}")
# The same item names the bundle manifest allows.
_UUID_LIKE = re.compile(r"[0-9A-Za-z-]{1,64}")


@dataclass(frozen=True)
class AcknowledgedItem:
    """One item the workstation holds: which one, and exactly which ciphertext."""

    uuid: str
    ciphertext_sha256: str


@dataclass(frozen=True)
class Acknowledgement:
    """What one workstation confirms it holds from one bundle, and when it said so."""

    bundle_manifest_sha256: str
    workstation_key: str  # SHA-256 hex of the workstation's raw Ed25519 public key
    acknowledged_at: datetime
    items: tuple[AcknowledgedItem, ...]

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise InvalidAcknowledgement("; ".join(problems))


@dataclass(frozen=True)
class SignedAcknowledgement:
    """A parsed acknowledgement file: the document, the bytes signed and the signature."""

    acknowledgement: Acknowledgement
    signed_bytes: bytes
    signature: bytes


def encode_acknowledgement(acknowledgement: Acknowledgement) -> bytes:
    """The canonical bytes of ``acknowledgement``: what the workstation signs."""
    return encode_document(_document_of(acknowledgement))


def encode_signed_acknowledgement(acknowledgement: Acknowledgement, signature: bytes) -> bytes:
    """The file carried to the server: the document and its detached signature."""
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        raise InvalidAcknowledgement(f"a signature is exactly {SIGNATURE_BYTES} bytes")
    return (
        encode_document(
            {
                "acknowledgement": _document_of(acknowledgement),
                "signature": base64.b64encode(signature).decode("ascii"),
            }
        )
        + b"\n"
    )


def parse_signed_acknowledgement(data: bytes) -> SignedAcknowledgement:
    """Read an acknowledgement file strictly; its signature is still to be checked."""
    if not isinstance(data, bytes) or len(data) > MAX_ACKNOWLEDGEMENT_BYTES:
        raise InvalidAcknowledgement(
            f"an acknowledgement file is JSON of at most {MAX_ACKNOWLEDGEMENT_BYTES} bytes"
        )
    outer = parse_document(data)
    if outer is None:
        raise InvalidAcknowledgement("the file is not a UTF-8 JSON object")
    inner = outer.get("acknowledgement")
    if not isinstance(inner, dict):
        raise InvalidAcknowledgement("the file holds no acknowledgement object")
    signature = _decode_signature(outer.get("signature"))
    return SignedAcknowledgement(
        acknowledgement=parse_acknowledgement_document(inner),
        signed_bytes=encode_document(inner),
        signature=signature,
    )


def parse_acknowledgement_document(document: Mapping[str, Any]) -> Acknowledgement:
    """Read the inner acknowledgement object; unknown keys are ignored."""
    if document.get("format") != ACKNOWLEDGEMENT_FORMAT:
        raise InvalidAcknowledgement(f"the document is not a {ACKNOWLEDGEMENT_FORMAT}")
    version = document.get("version")
    if type(version) is not int or version != ACKNOWLEDGEMENT_VERSION:
        raise InvalidAcknowledgement(
            f"version {version!r} is not {ACKNOWLEDGEMENT_VERSION}; update this software"
        )
    missing = [
        key
        for key in ("bundle_manifest_sha256", "workstation_key", "acknowledged_at", "items")
        if key not in document
    ]
    if missing:
        raise InvalidAcknowledgement("it lacks " + ", ".join(missing))
    moment = parse_utc(document["acknowledged_at"])
    if moment is None:
        raise InvalidAcknowledgement("acknowledged_at is not a UTC time ending in Z")
    raw_items = document["items"]
    if not isinstance(raw_items, list):
        raise InvalidAcknowledgement("items is not a list")
    items = []
    for index, raw in enumerate(raw_items):
        if not isinstance(raw, dict) or not {"uuid", "ciphertext_sha256"} <= set(raw):
            raise InvalidAcknowledgement(f"item {index} is not an object with uuid and hash")
        items.append(AcknowledgedItem(raw["uuid"], raw["ciphertext_sha256"]))
    return Acknowledgement(
        bundle_manifest_sha256=document["bundle_manifest_sha256"],
        workstation_key=document["workstation_key"],
        acknowledged_at=moment,
        items=tuple(items),
    )


def _document_of(acknowledgement: Acknowledgement) -> dict[str, Any]:
    return {
        "format": ACKNOWLEDGEMENT_FORMAT,
        "version": ACKNOWLEDGEMENT_VERSION,
        "bundle_manifest_sha256": acknowledgement.bundle_manifest_sha256,
        "workstation_key": acknowledgement.workstation_key,
        "acknowledged_at": format_utc(acknowledgement.acknowledged_at),
        "items": [
            {"uuid": item.uuid, "ciphertext_sha256": item.ciphertext_sha256}
            for item in acknowledgement.items
        ],
    }


def _decode_signature(value: object) -> bytes:
    if not isinstance(value, str):
        raise InvalidAcknowledgement("the signature is missing")
    try:
        signature = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidAcknowledgement("the signature is not base64") from exc
    if len(signature) != SIGNATURE_BYTES:
        raise InvalidAcknowledgement(f"the signature is not {SIGNATURE_BYTES} bytes")
    return signature


def _is_hex64(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _problems(ack: Acknowledgement) -> list[str]:
    problems = []
    if not _is_hex64(ack.bundle_manifest_sha256):
        problems.append("bundle_manifest_sha256 is not 64 lower-case hex characters")
    if not _is_hex64(ack.workstation_key):
        problems.append("workstation_key is not 64 lower-case hex characters")
    if not isinstance(ack.acknowledged_at, datetime) or ack.acknowledged_at.utcoffset() is None:
        problems.append("acknowledged_at is not a timezone-aware time")
    if not isinstance(ack.items, tuple) or not 1 <= len(ack.items) <= MAX_ITEMS:
        problems.append(f"items must hold 1 to {MAX_ITEMS} items")
        return problems
    seen: set[str] = set()
    for index, item in enumerate(ack.items):
        if not isinstance(item, AcknowledgedItem):
            problems.append(f"item {index} is not an item")
            continue
        if not isinstance(item.uuid, str) or not _UUID_LIKE.fullmatch(item.uuid):
            problems.append(f"item {index} has no valid uuid")
        elif item.uuid in seen:
            problems.append(f"item {item.uuid} is named twice")
        else:
            seen.add(item.uuid)
        if not _is_hex64(item.ciphertext_sha256):
            problems.append(f"item {index}'s ciphertext_sha256 is not 64 lower-case hex")
    return problems
