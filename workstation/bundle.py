"""Reading a transfer bundle (docs/bundle-format.md) and its first checks.

`open_bundle` performs checks 1 and 2 of "What the workstation checks" (the signature with the
pinned key, then format and version) and the container rules (members, names). Checks 3 and 4
need the bytes and run in `workstation.importer`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from crypto.errors import BadSignature
from crypto.signing import fingerprint_of, verify_signature
from workstation.errors import BundleRejected

BUNDLE_FORMAT = "skrynka-transfer-bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
KINDS = frozenset({"message", "file", "reply", "consent"})
# Kinds whose plaintext the server did not receive from the source, so no receipt exists.
KINDS_WITHOUT_RECEIPT = frozenset({"reply"})
# Kinds that may come with or without a receipt (consent records from the source interface).
KINDS_OPTIONAL_RECEIPT = frozenset({"consent"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: Far above a manifest of a hundred thousand items; read no further whatever the ZIP claims.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
#: One base64 Ed25519 signature and a newline.
MAX_SIGNATURE_BYTES = 1024


@dataclass(frozen=True)
class MemberRef:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class BundleItem:
    uuid: str
    source_uuid: str
    source_designation: str
    kind: str
    ciphertext: MemberRef
    filename: str
    received_on: str
    receipt: MemberRef | None

    @property
    def label(self) -> str:
        """How the operator finds this item in the manifest."""
        return f"item {self.uuid} ({self.ciphertext.path})"

    def as_manifest_entry(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "source_uuid": self.source_uuid,
            "source_designation": self.source_designation,
            "kind": self.kind,
            "path": self.ciphertext.path,
            "filename": self.filename,
            "size": self.ciphertext.size,
            "sha256": self.ciphertext.sha256,
            "received_on": self.received_on,
            "receipt": None
            if self.receipt is None
            else {
                "path": self.receipt.path,
                "size": self.receipt.size,
                "sha256": self.receipt.sha256,
            },
        }


@dataclass(frozen=True)
class VerifiedBundle:
    path: Path
    manifest_bytes: bytes
    signature_line: bytes
    manifest: dict[str, Any]
    items: tuple[BundleItem, ...]

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_bytes).hexdigest()


def _reject_bundle(check: str, detail: str) -> BundleRejected:
    return BundleRejected("bundle", check, detail)


def check_member_safety(names: list[str]) -> None:
    """No member twice, none absolute, none with a `..` (or `.`) component."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise _reject_bundle("container", f"member {name!r} appears twice")
        seen.add(name)
        if name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
            raise _reject_bundle("container", f"member {name!r} has an absolute path")
        if any(part in ("..", ".", "") for part in name.split("/")):
            raise _reject_bundle("container", f"member {name!r} has a '..', '.' or empty component")
    for required in (MANIFEST, SIGNATURE):
        if required not in seen:
            raise _reject_bundle("container", f"{required} is missing")


def check_member_set(names: list[str], items: tuple[BundleItem, ...]) -> None:
    """Every member is the manifest, its signature or listed in the manifest; all are there."""
    present = set(names)
    expected = {MANIFEST, SIGNATURE}
    for item in items:
        for member, what in ((item.ciphertext, "ciphertext"), (item.receipt, "receipt")):
            if member is None:
                continue
            expected.add(member.path)
            if member.path not in present:
                raise BundleRejected(item.label, "presence", f"{what} {member.path} is missing")
    for name in names:
        if name not in expected:
            raise _reject_bundle("container", f"member {name!r} is not listed in the manifest")


def _member_ref(value: Any, where: str) -> MemberRef:
    if not isinstance(value, dict):
        raise _reject_bundle("manifest", f"{where} is not an object")
    path, size, digest = value.get("path"), value.get("size"), value.get("sha256")
    if not isinstance(path, str) or not path.startswith("items/"):
        raise _reject_bundle("manifest", f"{where} path {path!r} is not under items/")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _reject_bundle("manifest", f"{where} size {size!r} is not a non-negative integer")
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise _reject_bundle("manifest", f"{where} sha256 {digest!r} is not 64 lower-case hex")
    return MemberRef(path=path, size=size, sha256=digest)


def parse_items(manifest: dict[str, Any]) -> tuple[BundleItem, ...]:
    raw_items = manifest.get("items")
    if not isinstance(raw_items, list):
        raise _reject_bundle("manifest", "items is not a list")
    items: list[BundleItem] = []
    seen_uuids: set[str] = set()
    seen_paths: set[str] = set()
    for index, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            raise _reject_bundle("manifest", f"items[{index}] is not an object")
        uuid = raw.get("uuid")
        if not isinstance(uuid, str) or not re.fullmatch(r"[0-9A-Za-z-]{1,64}", uuid):
            raise _reject_bundle("manifest", f"items[{index}] uuid {uuid!r} is not a uuid")
        if uuid in seen_uuids:
            raise _reject_bundle("manifest", f"item {uuid} is listed twice")
        seen_uuids.add(uuid)
        kind = raw.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            raise _reject_bundle("manifest", f"item {uuid} has unknown kind {kind!r}")
        ciphertext = _member_ref(raw, f"item {uuid}")
        filename = raw.get("filename")
        if not isinstance(filename, str) or PurePosixPath(ciphertext.path).name != filename:
            raise _reject_bundle("manifest", f"item {uuid} filename does not match its path")
        receipt_raw = raw.get("receipt")
        receipt: MemberRef | None
        if receipt_raw is None:
            if kind not in KINDS_WITHOUT_RECEIPT | KINDS_OPTIONAL_RECEIPT:
                raise _reject_bundle("manifest", f"item {uuid} ({kind}) has no receipt")
            receipt = None
        else:
            if kind in KINDS_WITHOUT_RECEIPT:
                raise _reject_bundle("manifest", f"item {uuid} is a reply but has a receipt")
            receipt = _member_ref(receipt_raw, f"receipt of item {uuid}")
        for member in (ciphertext, receipt):
            if member is None:
                continue
            if member.path in seen_paths:
                raise _reject_bundle("manifest", f"{member.path} is listed twice")
            seen_paths.add(member.path)
        items.append(
            BundleItem(
                uuid=uuid,
                source_uuid=str(raw.get("source_uuid", "")),
                source_designation=str(raw.get("source_designation", "")),
                kind=str(kind),
                ciphertext=ciphertext,
                filename=filename,
                received_on=str(raw.get("received_on", "")),
                receipt=receipt,
            )
        )
    return tuple(items)


def read_small_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The member ``name``, read no further than ``limit`` bytes whatever its header declares.

    A damaged member (bad CRC, cut short, unknown compression) is refused, never raised as a
    ZIP error; so is one that declares or inflates past ``limit`` (a decompression bomb).
    """
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise _reject_bundle("container", f"{name} declares {info.file_size} bytes, more than"
                             f" the {limit} it may hold")
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, struct.error,
            OSError) as exc:
        raise _reject_bundle("container", f"{name} cannot be read ({exc}); the ZIP is damaged") \
            from exc
    if len(data) > limit:
        raise _reject_bundle("container", f"{name} holds more than {limit} bytes")
    return data


def open_bundle(path: Path, pinned_key: bytes) -> VerifiedBundle:
    """Open a bundle and check its signature, format, version and member list."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, NotImplementedError, EOFError, zlib.error,
            struct.error, ValueError) as exc:
        raise _reject_bundle("container", f"{path} is not a readable ZIP file ({exc})") from exc
    with archive:
        names = [info.filename for info in archive.infolist()]
        check_member_safety(names)
        manifest_bytes = read_small_member(archive, MANIFEST, MAX_MANIFEST_BYTES)
        signature_line = read_small_member(archive, SIGNATURE, MAX_SIGNATURE_BYTES)
    # 1. The signature, with the pinned key only.
    try:
        signature = base64.b64decode(signature_line.strip(), validate=True)
        verify_signature(pinned_key, manifest_bytes, signature)
    except (BadSignature, binascii.Error, ValueError) as exc:
        raise _reject_bundle(
            "signature",
            "manifest.json is not signed by the pinned server key (forged or altered manifest)",
        ) from exc
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as exc:
        raise _reject_bundle("manifest", "manifest.json is not JSON") from exc
    if not isinstance(manifest, dict):
        raise _reject_bundle("manifest", "manifest.json is not a JSON object")
    if manifest.get("signing_key") != fingerprint_of(pinned_key):
        raise _reject_bundle(
            "signature", "manifest names a signing key other than the pinned server key"
        )
    # 2. Format and version.
    if manifest.get("format") != BUNDLE_FORMAT:
        raise _reject_bundle("format", f"format is {manifest.get('format')!r}")
    if manifest.get("version") != BUNDLE_VERSION:
        raise _reject_bundle(
            "version",
            f"version {manifest.get('version')!r} is not {BUNDLE_VERSION}; update the workstation",
        )
    items = parse_items(manifest)
    check_member_set(names, items)
    return VerifiedBundle(
        path=path,
        manifest_bytes=manifest_bytes,
        signature_line=signature_line,
        manifest=manifest,
        items=items,
    )
