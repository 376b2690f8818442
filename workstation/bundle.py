"""Verifying a transfer bundle (docs/bundle-format.md): its container and its signed manifest.

`verify_bundle` performs checks 1 and 2 of "What the workstation checks" (the signature with the
pinned key, then format and version), reads every manifest field strictly through
`formats.bundle_manifest`, and applies the container rules (members, names). Every failure is a
`BundleRejected` naming the check, and nothing has been written. Checks 3 and 4 need the bytes
and run in `workstation.importer`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto.errors import BadSignature
from crypto.signing import fingerprint_of, verify_signature
from formats.bundle_manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    ManifestItem,
    parse_manifest_document,
    parse_manifest_json,
)
from formats.errors import InvalidManifest
from formats.timestamps import TreeRecord
from workstation.errors import BundleRejected


@dataclass(frozen=True)
class VerifiedBundle:
    path: Path
    manifest_bytes: bytes
    signature_line: bytes
    manifest: dict[str, Any]  # the signed JSON object as it was read, for the import records
    items: tuple[ManifestItem, ...]
    # Version 2: the stamped trees the items name (checked in workstation.timestamps).
    trees: tuple[TreeRecord, ...] = ()

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
    for required in (MANIFEST_NAME, SIGNATURE_NAME):
        if required not in seen:
            raise _reject_bundle("container", f"{required} is missing")


def check_member_set(names: list[str], items: tuple[ManifestItem, ...],
                     trees: tuple[TreeRecord, ...] = ()) -> None:
    """Every member is the manifest, its signature or listed in the manifest; all are there."""
    present = set(names)
    expected = {MANIFEST_NAME, SIGNATURE_NAME}
    for tree in trees:
        for token in tree.tokens:
            expected.add(token.path)
            if token.path not in present:
                raise _reject_bundle("presence", f"token {token.path} is missing")
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


#: Far above a manifest of a hundred thousand items; read no further whatever the ZIP claims.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
#: One base64 Ed25519 signature and a newline.
MAX_SIGNATURE_BYTES = 1024
#: What a damaged ZIP (bad CRC, cut short, an unknown compression or version) raises.
ZIP_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, struct.error,
              ValueError)


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
    except (*ZIP_DAMAGE, OSError) as exc:
        raise _reject_bundle("container", f"{name} cannot be read ({exc}); the ZIP is damaged") \
            from exc
    if len(data) > limit:
        raise _reject_bundle("container", f"{name} holds more than {limit} bytes")
    return data


def verify_bundle(path: Path, pinned_key: bytes) -> VerifiedBundle:
    """Open a bundle and check its signature, format, version, fields and member list."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, *ZIP_DAMAGE) as exc:
        raise _reject_bundle("container", f"{path} is not a readable ZIP file ({exc})") from exc
    with archive:
        names = [info.filename for info in archive.infolist()]
        check_member_safety(names)
        manifest_bytes = read_small_member(archive, MANIFEST_NAME, MAX_MANIFEST_BYTES)
        signature_line = read_small_member(archive, SIGNATURE_NAME, MAX_SIGNATURE_BYTES)
    # 1. The signature, with the pinned key only, before any byte of the manifest is parsed.
    try:
        signature = base64.b64decode(signature_line.strip(), validate=True)
        verify_signature(pinned_key, manifest_bytes, signature)
    except (BadSignature, binascii.Error, ValueError) as exc:
        raise _reject_bundle(
            "signature",
            "manifest.json is not signed by the pinned server key (forged or altered manifest)",
        ) from exc
    try:
        manifest = parse_manifest_json(manifest_bytes)
        if manifest.get("signing_key") != fingerprint_of(pinned_key):
            raise _reject_bundle(
                "signature", "manifest names a signing key other than the pinned server key"
            )
        # 2. Format and version, then every field.
        parsed = parse_manifest_document(manifest)
    except InvalidManifest as exc:
        raise _reject_bundle(exc.check, exc.detail) from exc
    check_member_set(names, parsed.items, parsed.trees)
    return VerifiedBundle(
        path=path,
        manifest_bytes=manifest_bytes,
        signature_line=signature_line,
        manifest=manifest,
        items=parsed.items,
        trees=parsed.trees,
    )
