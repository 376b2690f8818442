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
import zipfile
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
from workstation.errors import BundleRejected


@dataclass(frozen=True)
class VerifiedBundle:
    path: Path
    manifest_bytes: bytes
    signature_line: bytes
    manifest: dict[str, Any]  # the signed JSON object as it was read, for the import records
    items: tuple[ManifestItem, ...]

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


def check_member_set(names: list[str], items: tuple[ManifestItem, ...]) -> None:
    """Every member is the manifest, its signature or listed in the manifest; all are there."""
    present = set(names)
    expected = {MANIFEST_NAME, SIGNATURE_NAME}
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


def verify_bundle(path: Path, pinned_key: bytes) -> VerifiedBundle:
    """Open a bundle and check its signature, format, version, fields and member list."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise _reject_bundle("container", f"{path} is not a readable ZIP file ({exc})") from exc
    with archive:
        names = [info.filename for info in archive.infolist()]
        check_member_safety(names)
        manifest_bytes = archive.read(MANIFEST_NAME)
        signature_line = archive.read(SIGNATURE_NAME)
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
    check_member_set(names, parsed.items)
    return VerifiedBundle(
        path=path,
        manifest_bytes=manifest_bytes,
        signature_line=signature_line,
        manifest=manifest,
        items=parsed.items,
    )
