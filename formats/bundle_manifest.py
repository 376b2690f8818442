"""The manifest of a transfer bundle (`skrynka-transfer-bundle` version 2), defined once.

docs/bundle-format.md is the prose; this is the vocabulary both sides use. The server builds a
`Manifest` from the items it has just checked, encodes it with `encode_manifest` (the exact bytes
it signs) and writes the bundle (core.bundle). The workstation checks the signature over the raw
bytes first, then reads them with `parse_manifest_json` and `parse_manifest_document`
(workstation.bundle), so a forged manifest is never parsed beyond JSON. The two steps together
are `parse_manifest`.

Version 2 adds trusted timestamps (formats.timestamps): each item's `timestamp` and the
manifest's `trees`. The readers accept versions 1 and 2 (a version 1 manifest reads as one
without timestamps).

The readers are strict: anything that is not such a manifest raises an `InvalidManifest`
(`UnknownManifestFormat`, `UnsupportedManifestVersion`) whose `detail` names the fault and whose
`check` names the documented check it failed. Unknown extra keys are ignored, so a later minor
addition does not break older workstations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

from formats.document import format_utc, parse_utc
from formats.errors import InvalidManifest, UnknownManifestFormat, UnsupportedManifestVersion
from formats.timestamps import (
    ItemStamp,
    TreeRecord,
    encode_stamp,
    encode_trees,
    parse_stamp,
    parse_trees,
)

BUNDLE_FORMAT = "skrynka-transfer-bundle"
BUNDLE_VERSION = 2
#: Versions the readers accept.
BUNDLE_VERSIONS = frozenset({1, 2})
#: The two members every bundle has besides the items; both written last.
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.json.sig"
#: Every item member lies under this folder.
ITEMS_FOLDER = "items/"
KINDS = frozenset({"message", "file", "reply", "consent"})
#: Kinds whose plaintext the server did not receive from the source, so no receipt exists.
KINDS_WITHOUT_RECEIPT = frozenset({"reply"})
#: Kinds that may come with or without a receipt (consent records from the source interface).
KINDS_OPTIONAL_RECEIPT = frozenset({"consent"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_UUID_LIKE = re.compile(r"[0-9A-Za-z-]{1,64}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class MemberRef:
    """One member of the bundle as the manifest pins it: where, how long, which SHA-256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ManifestItem:
    """One item: its ciphertext member and, except for replies, its encrypted receipt."""

    uuid: str
    source_uuid: str
    source_designation: str
    kind: str
    ciphertext: MemberRef
    filename: str
    received_on: str  # a UTC day, YYYY-MM-DD: a leaked bundle narrows an item to a day only
    receipt: MemberRef | None
    # Version 2: the item's place in a stamped tree; None while it waits (or in version 1).
    timestamp: ItemStamp | None = None

    @property
    def label(self) -> str:
        """How the operator finds this item in the manifest."""
        return f"item {self.uuid} ({self.ciphertext.path})"


@dataclass(frozen=True)
class Manifest:
    instance_id: str
    created_at: datetime
    signing_key: str  # SHA-256 hex of the raw Ed25519 public key that signs the manifest
    items: tuple[ManifestItem, ...]
    # Version 2: every tree an item names, with its tokens.
    trees: tuple[TreeRecord, ...] = ()
    version: int = BUNDLE_VERSION


def build_manifest_entry(item: ManifestItem) -> dict[str, Any]:
    """The JSON object of one item, keys in the order the server has always written them."""
    return {
        "uuid": item.uuid,
        "source_uuid": item.source_uuid,
        "source_designation": item.source_designation,
        "kind": item.kind,
        "path": item.ciphertext.path,
        "filename": item.filename,
        "size": item.ciphertext.size,
        "sha256": item.ciphertext.sha256,
        "received_on": item.received_on,
        "receipt": None
        if item.receipt is None
        else {"path": item.receipt.path, "size": item.receipt.size, "sha256": item.receipt.sha256},
        "timestamp": encode_stamp(item.timestamp),
    }


def encode_manifest(manifest: Manifest) -> bytes:
    """The exact manifest bytes that get signed (UTF-8 JSON, keys in a fixed order, indented)."""
    document = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "instance_id": manifest.instance_id,
        "created_at": format_utc(manifest.created_at),
        "signing_key": manifest.signing_key,
        "items": [build_manifest_entry(item) for item in manifest.items],
        "trees": encode_trees(manifest.trees),
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def parse_manifest(data: bytes) -> Manifest:
    """Read manifest bytes strictly (after their signature was checked)."""
    return parse_manifest_document(parse_manifest_json(data))


def parse_manifest_json(data: bytes) -> dict[str, Any]:
    """The manifest's JSON object; InvalidManifest when the bytes are not one."""
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidManifest("manifest.json is not JSON") from exc
    if not isinstance(document, dict):
        raise InvalidManifest("manifest.json is not a JSON object")
    return document


def parse_manifest_document(document: Mapping[str, Any]) -> Manifest:
    """Check format and version (check 2 of docs/bundle-format.md), then every field."""
    if not isinstance(document, Mapping):
        raise InvalidManifest("manifest.json is not a JSON object")
    if document.get("format") != BUNDLE_FORMAT:
        raise UnknownManifestFormat(f"format is {document.get('format')!r}")
    version = document.get("version")
    if type(version) is not int or version not in BUNDLE_VERSIONS:
        raise UnsupportedManifestVersion(
            f"version {version!r} is not one of {sorted(BUNDLE_VERSIONS)}; update the workstation"
        )
    instance_id = document.get("instance_id")
    if not isinstance(instance_id, str) or not instance_id:
        raise InvalidManifest(f"instance_id {instance_id!r} is not a non-empty string")
    created_at = parse_utc(document.get("created_at"))
    if created_at is None:
        raise InvalidManifest(
            f"created_at {document.get('created_at')!r} is not a UTC time ending in Z"
        )
    signing_key = document.get("signing_key")
    if not isinstance(signing_key, str) or not _HEX64.fullmatch(signing_key):
        raise InvalidManifest(f"signing_key {signing_key!r} is not 64 lower-case hex")
    items = parse_manifest_items(document.get("items"))
    trees: tuple[TreeRecord, ...] = ()
    if version >= 2:
        trees = parse_trees(document.get("trees", []))
    elif any(item.timestamp is not None for item in items):
        raise InvalidManifest("a version 1 manifest carries no timestamps")
    return Manifest(
        instance_id=instance_id,
        created_at=created_at,
        signing_key=signing_key,
        items=items,
        trees=trees,
        version=version,
    )


def parse_manifest_items(raw_items: object) -> tuple[ManifestItem, ...]:
    """The `items` list: each one well formed, no uuid and no member path listed twice."""
    if not isinstance(raw_items, list):
        raise InvalidManifest("items is not a list")
    items: list[ManifestItem] = []
    seen_uuids: set[str] = set()
    seen_paths: set[str] = set()
    for index, raw in enumerate(raw_items):
        item = _parse_item(index, raw)
        if item.uuid in seen_uuids:
            raise InvalidManifest(f"item {item.uuid} is listed twice")
        seen_uuids.add(item.uuid)
        for member in (item.ciphertext, item.receipt):
            if member is None:
                continue
            if member.path in seen_paths:
                raise InvalidManifest(f"{member.path} is listed twice")
            seen_paths.add(member.path)
        items.append(item)
    return tuple(items)


def _parse_item(index: int, raw: object) -> ManifestItem:
    if not isinstance(raw, dict):
        raise InvalidManifest(f"items[{index}] is not an object")
    uuid = raw.get("uuid")
    if not isinstance(uuid, str) or not _UUID_LIKE.fullmatch(uuid):
        raise InvalidManifest(f"items[{index}] uuid {uuid!r} is not a uuid")
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidManifest(f"item {uuid} has unknown kind {kind!r}")
    ciphertext = _parse_member(raw, f"item {uuid}")
    filename = raw.get("filename")
    if not isinstance(filename, str) or PurePosixPath(ciphertext.path).name != filename:
        raise InvalidManifest(f"item {uuid} filename does not match its path")
    for key in ("source_uuid", "source_designation"):
        if not isinstance(raw.get(key), str):
            raise InvalidManifest(f"item {uuid} {key} {raw.get(key)!r} is not a string")
    received_on = raw.get("received_on")
    if not isinstance(received_on, str) or not _is_day(received_on):
        raise InvalidManifest(f"item {uuid} received_on {received_on!r} is not a YYYY-MM-DD day")
    receipt_raw = raw.get("receipt")
    receipt: MemberRef | None
    if receipt_raw is None:
        if kind not in KINDS_WITHOUT_RECEIPT | KINDS_OPTIONAL_RECEIPT:
            raise InvalidManifest(f"item {uuid} ({kind}) has no receipt")
        receipt = None
    else:
        if kind in KINDS_WITHOUT_RECEIPT:
            raise InvalidManifest(f"item {uuid} is a reply but has a receipt")
        receipt = _parse_member(receipt_raw, f"receipt of item {uuid}")
    return ManifestItem(
        uuid=uuid,
        source_uuid=raw["source_uuid"],
        source_designation=raw["source_designation"],
        kind=kind,
        ciphertext=ciphertext,
        filename=filename,
        received_on=received_on,
        receipt=receipt,
        timestamp=parse_stamp(raw.get("timestamp"), uuid, receipt is not None),
    )


def _parse_member(value: object, where: str) -> MemberRef:
    if not isinstance(value, dict):
        raise InvalidManifest(f"{where} is not an object")
    path, size, digest = value.get("path"), value.get("size"), value.get("sha256")
    if not isinstance(path, str) or not path.startswith(ITEMS_FOLDER):
        raise InvalidManifest(f"{where} path {path!r} is not under items/")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidManifest(f"{where} size {size!r} is not a non-negative integer")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise InvalidManifest(f"{where} sha256 {digest!r} is not 64 lower-case hex")
    return MemberRef(path=path, size=size, sha256=digest)


def _is_day(text: str) -> bool:
    if not _DAY.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
