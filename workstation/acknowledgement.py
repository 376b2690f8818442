"""Writing the signed acknowledgement of an imported bundle, for the server to forget it.

`acknowledge_bundle` finds the bundle's record in the store (kept by the import, so only a bundle
that passed every check and was imported can be acknowledged), names every item of its signed
manifest by uuid and ciphertext SHA-256, signs the canonical document with the workstation key
and writes the file (never over an existing one). The custody log records the act first: an
acknowledgement that exists without its entry would be an unexplained order to delete.

A bundle reference that matches no imported bundle, or more than one, raises
`BundleNotImported`; nothing is written then.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crypto.signing import Signer
from formats.acknowledgement import (
    AcknowledgedItem,
    Acknowledgement,
    encode_acknowledgement,
    encode_signed_acknowledgement,
)
from formats.bundle_manifest import parse_manifest
from formats.errors import InvalidManifest
from workstation.custody import CustodyLog
from workstation.errors import BundleNotImported, WorkstationError
from workstation.store import EvidenceStore

_HEX = re.compile(r"[0-9a-f]{8,64}")


@dataclass(frozen=True)
class AcknowledgementWritten:
    path: Path
    bundle_manifest_sha256: str
    items: int
    file_sha256: str


def find_imported_bundle(store: EvidenceStore, reference: str) -> str:
    """The full manifest SHA-256 of the one imported bundle ``reference`` (8+ hex) starts."""
    reference = reference.strip().lower()
    if not _HEX.fullmatch(reference):
        raise BundleNotImported(reference, "give at least 8 hex digits of the manifest SHA-256")
    names = sorted(
        entry.name
        for entry in store.bundles_dir.iterdir()
        if entry.name.startswith(reference) and (entry / "manifest.json").is_file()
    )
    if len(names) != 1:
        raise BundleNotImported(
            reference,
            "no imported bundle has that manifest SHA-256; `skrynka-workstation import` it first"
            if not names
            else f"{len(names)} imported bundles start with it; give more digits",
        )
    return names[0]


def acknowledge_bundle(
    store: EvidenceStore, reference: str, out: Path, custody: CustodyLog, signer: Signer,
    actor: str,
) -> AcknowledgementWritten:
    """Sign and write the acknowledgement of one imported bundle; log it first."""
    manifest_sha256 = find_imported_bundle(store, reference)
    manifest_bytes = (store.bundles_dir / manifest_sha256 / "manifest.json").read_bytes()
    try:
        manifest = parse_manifest(manifest_bytes)
    except InvalidManifest as exc:
        raise BundleNotImported(
            manifest_sha256, f"its stored manifest is unreadable: {exc}"
        ) from exc
    acknowledgement = Acknowledgement(
        bundle_manifest_sha256=manifest_sha256,
        workstation_key=signer.fingerprint,
        acknowledged_at=datetime.now(UTC),
        items=tuple(AcknowledgedItem(i.uuid, i.ciphertext.sha256) for i in manifest.items),
    )
    data = encode_signed_acknowledgement(
        acknowledgement, signer.sign(encode_acknowledgement(acknowledgement))
    )
    file_sha256 = hashlib.sha256(data).hexdigest()
    # Opened before logging, so an existing file or a bad folder fails with nothing recorded.
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError as exc:
        raise WorkstationError(f"{out} exists already; choose another file name") from exc
    except OSError as exc:
        raise WorkstationError(f"cannot write {out} ({exc.strerror}); check the folder") from exc
    try:
        custody.append(
            actor,
            "acknowledge",
            None,
            None,
            {
                "bundle_manifest_sha256": manifest_sha256,
                "items": [item.uuid for item in acknowledgement.items],
                "file_sha256": file_sha256,
            },
        )
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        out.unlink(missing_ok=True)
        raise
    os.close(fd)
    return AcknowledgementWritten(out, manifest_sha256, len(acknowledgement.items), file_sha256)
