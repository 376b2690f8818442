"""Importing a transfer bundle into the evidence store.

The flow, across functions: `import_bundle` opens the bundle, checks its signature with the
pinned key and reads its manifest (`workstation.bundle`), then `check_items` checks every
member's size against the signed manifest (check 3) and, item by item, copies the small receipt
out into a staging directory inside the store, hashes and decrypts it, and decrypts the
ciphertext straight out of the bundle file: one read feeds gpg and the ciphertext's SHA-256
(check 3), while the plaintext streams to disk through `crypto.decryption` (which removes the
gzip layer of files and computes SHA-256 and SHA-512 in parallel threads) and is compared with
the receipt, read by `formats.receipt` (check 4). A failure is reported as if all of check 3 had
run first (`_HashVerdicts`). Only when every item has passed is the import staged in its final
shape, its custody entries written in one batch, and only then are the items moved into
`originals/` and `consent/` (`workstation.pending`), so no original ever stands in the store
without its import entry. Any failure raises `BundleRejected`, and leaving the `with` block
removes the staging directory, so a refused bundle leaves no trace in the store. Before anything
else an import finishes what an earlier, interrupted one left (`recover_store`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import io
import json
import os
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from crypto.decryption import FileSpan, decrypt_file_submission, decrypt_to
from crypto.digest import PlaintextDigest
from crypto.errors import DecryptionFailed, GpgFailed, PlaintextTooLarge
from formats.bundle_manifest import ManifestItem, MemberRef, build_manifest_entry
from formats.errors import InvalidReceipt
from formats.receipt import MAX_RECEIPT_BYTES, parse_receipt
from workstation.bundle import ZIP_DAMAGE, VerifiedBundle, verify_bundle
from workstation.custody import CustodyLog
from workstation.errors import BundleRejected, WorkstationError
from workstation.keys import load_pinned_server_key
from workstation.pending import finish_pending, pending_dir, place_pending, seal_pending
from workstation.progress import Progress, ProgressFactory, silent_progress
from workstation.reconciliation import find_gaps, record_unlogged
from workstation.store import (
    EvidenceStore,
    remove_abandoned_staging,
    remove_tree,
    utc_now,
    write_bytes_atomic,
    write_json_atomic,
)
from workstation.timestamps import (
    REFUSED,
    StampVerdict,
    check_bundle_stamps,
    stage_stamp,
    summary_line,
    trusted_roots,
)

COPY_CHUNK = 1024 * 1024
FLUSH_BYTES = 32 * 1024 * 1024
_LOCAL_HEADER_SIZE = 30
#: Replies (and consent records sent without a receipt) declare no size: this is their cap.
#: A reply typed by staff is at most a few hundred kilobytes; the server stops at 1 MiB too.
MAX_UNDECLARED_PLAINTEXT_BYTES = 1024 * 1024


@dataclass
class ImportReport:
    bundle_sha256: str
    already_imported: bool = False
    imported: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    consent_records: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Submission uuid -> verdict on its trusted timestamp (workstation.timestamps).
    timestamps: dict[str, str] = field(default_factory=dict)
    #: Replies that did not decrypt: (uuid, why). Kept out of the store, logged as unreadable.
    unreadable: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Unreadable:
    """A reply whose ciphertext matched the manifest but did not decrypt."""

    item: ManifestItem
    reason: str


@dataclass
class _Checked:
    """One item after all its checks, still in staging."""

    item: ManifestItem
    plaintext: Path
    digest: PlaintextDigest
    receipt: dict[str, Any] | None
    gzip_name: str | None
    encrypted_receipt: Path | None = None


def copy_member(
    archive: zipfile.ZipFile, member: MemberRef, target: Path, item: ManifestItem, what: str,
    progress: Progress,
) -> None:
    """Copy one ZIP member out (hashing comes later, in `hash_member`); check its size."""
    info = archive.getinfo(member.path)
    if info.file_size != member.size:
        raise BundleRejected(
            item.label, f"{what} size", f"manifest says {member.size} bytes, bundle holds"
            f" {info.file_size}",
        )
    size = 0
    with _open_member(archive, info) as source, target.open("xb") as out:
        for copied in _copy_bytes(source, out, info.file_size):
            size += copied
            progress.update(copied)
    if size != member.size:
        raise BundleRejected(item.label, f"{what} size", f"read {size} bytes, not {member.size}")


def _copy_bytes(source: BinaryIO, out: BinaryIO, count: int) -> Iterator[int]:
    """Copy `count` bytes from the current position of `source`, in the kernel when it can."""
    remaining = count
    offset = source.tell()
    with contextlib.suppress(OSError, io.UnsupportedOperation, AttributeError):
        while remaining:
            copied = os.copy_file_range(source.fileno(), out.fileno(), min(remaining, 1 << 30),
                                        offset)
            if copied == 0:
                break
            offset += copied
            remaining -= copied
            yield copied
    if remaining:
        source.seek(offset)
        while remaining and (chunk := source.read(min(COPY_CHUNK, remaining))):
            out.write(chunk)
            remaining -= len(chunk)
            yield len(chunk)


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> BinaryIO:
    """The member's bytes. Stored members are read straight from the file: their SHA-256 is
    checked against the signed manifest anyway, so zipfile's extra CRC-32 pass is skipped."""
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1 or archive.filename is None:
        return cast(BinaryIO, archive.open(info))
    handle = open(archive.filename, "rb")  # noqa: SIM115 (returned to a with block)
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL_HEADER_SIZE)
    if len(header) != _LOCAL_HEADER_SIZE or header[:4] != b"PK\x03\x04":
        handle.close()
        return cast(BinaryIO, archive.open(info))
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    handle.seek(info.header_offset + _LOCAL_HEADER_SIZE + name_length + extra_length)
    return handle


def decrypt_receipt(gnupg_home: Path, path: Path, item: ManifestItem) -> dict[str, Any]:
    buffer = io.BytesIO()
    try:
        decrypt_to(gnupg_home, path, buffer, max_plaintext_bytes=MAX_RECEIPT_BYTES)
    except PlaintextTooLarge as exc:
        raise BundleRejected(
            item.label, "receipt size",
            f"the receipt's plaintext passed {MAX_RECEIPT_BYTES} bytes; decryption was stopped",
        ) from exc
    except DecryptionFailed as exc:
        raise BundleRejected(
            item.label, "receipt decryption",
            "the receipt does not decrypt with the submission secret key",
        ) from exc
    data = buffer.getvalue()
    # The one reader of receipts (formats.receipt) checks every field of every kind.
    try:
        parse_receipt(data)
    except InvalidReceipt as exc:
        raise BundleRejected(item.label, "receipt format", exc.detail) from exc
    receipt: dict[str, Any] = json.loads(data)  # kept as it was sent, in the import record
    if receipt.get("kind") != item.kind:
        raise BundleRejected(
            item.label, "receipt kind",
            f"the receipt is for a {receipt.get('kind')!r}, the manifest lists a {item.kind!r}",
        )
    return receipt


def decrypt_item(
    gnupg_home: Path, ciphertext: Path | FileSpan, target: Path, item: ManifestItem,
    progress: Progress, ciphertext_digest: hashlib._Hash | None = None,
    max_plaintext_bytes: int = MAX_UNDECLARED_PLAINTEXT_BYTES,
) -> tuple[PlaintextDigest, str | None]:
    """Decrypt into `target` (files lose their gzip layer); return digest and gzip name.

    With `ciphertext_digest`, the ciphertext bytes given to gpg are hashed on the way. Every
    layer (gpg's own decompression, the gzip layer) stops as soon as its output passes
    `max_plaintext_bytes` (the receipt's size, or the cap for items without one), so a small
    item cannot expand to fill the disk.
    """
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb", buffering=0) as raw:
        out = _Counting(raw, progress)
        try:
            if item.kind == "file":
                decrypted = decrypt_file_submission(
                    gnupg_home, ciphertext, cast(BinaryIO, out),
                    ciphertext_digest=ciphertext_digest,
                    max_plaintext_bytes=max_plaintext_bytes,
                )
                digest, gzip_name = decrypted.digest, decrypted.gzip_name
            else:
                digest = decrypt_to(gnupg_home, ciphertext, cast(BinaryIO, out),
                                    ciphertext_digest=ciphertext_digest,
                                    max_plaintext_bytes=max_plaintext_bytes)
                gzip_name = None
        except PlaintextTooLarge as exc:
            raise BundleRejected(
                item.label,
                "plaintext size",
                f"decryption was stopped once the plaintext passed {max_plaintext_bytes} bytes,"
                " the most this item may hold (its receipt's size, or the cap for items"
                " without one): a decompression bomb or a false receipt",
            ) from exc
        except DecryptionFailed as exc:
            raise BundleRejected(
                item.label,
                "decryption",
                "the ciphertext does not decrypt with the submission secret key, or its gzip"
                f" layer is damaged ({exc})",
            ) from exc
        finally:
            out.close()
    os.chmod(target, 0o444)
    return digest, gzip_name


class _Counting:
    """Writes everything to a file, moves the progress bar and flushes to disk as it goes.

    Without the background flushes the whole plaintext would sit in the page cache until the
    final fsync, which then waits for all of it; flushing every FLUSH_BYTES in another thread
    lets the disk work while this thread hashes (os.fdatasync releases the GIL).
    """

    def __init__(self, raw: BinaryIO, progress: Progress) -> None:
        self.raw = raw
        self.progress = progress
        self._unflushed = 0
        self._flusher = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="plaintext-flush"
        )
        self._pending: concurrent.futures.Future[None] | None = None

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            written = self.raw.write(view)
            view = view[written:]
        self.progress.update(len(data))
        self._unflushed += len(data)
        if self._unflushed >= FLUSH_BYTES and (self._pending is None or self._pending.done()):
            self._unflushed = 0
            self._pending = self._flusher.submit(os.fdatasync, self.raw.fileno())
        return len(data)

    def close(self) -> None:
        """Wait for the background flush and make everything durable."""
        self._flusher.shutdown(wait=True)
        if self._pending is not None:
            self._pending.result()
        os.fsync(self.raw.fileno())


def compare_with_receipt(checked: _Checked) -> None:
    receipt = checked.receipt
    if receipt is None:
        return
    for key in ("size", "sha256", "sha512"):
        actual = getattr(checked.digest, key)
        if actual != receipt[key]:
            raise BundleRejected(
                checked.item.label, f"plaintext {key}",
                f"the decrypted content's {key} is {actual}, the receipt says {receipt[key]}",
            )


def member_span(archive: zipfile.ZipFile, member: MemberRef) -> FileSpan | None:
    """Where a stored (uncompressed) member's bytes lie in the bundle file, to be read in place.

    Compressed or encrypted members return None and are copied out through zipfile instead.
    """
    info = archive.getinfo(member.path)
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1 or archive.filename is None:
        return None
    with open(archive.filename, "rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(_LOCAL_HEADER_SIZE)
    if len(header) != _LOCAL_HEADER_SIZE or header[:4] != b"PK\x03\x04":
        return None
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = info.header_offset + _LOCAL_HEADER_SIZE + name_length + extra_length
    return FileSpan(Path(archive.filename), start, info.file_size)


def check_sizes(archive: zipfile.ZipFile, bundle: VerifiedBundle) -> None:
    """Check 3's sizes for every member, from the archive's directory, before reading any."""
    for item in bundle.items:
        for member, what in ((item.ciphertext, "ciphertext"), (item.receipt, "receipt")):
            if member is None:
                continue
            size = archive.getinfo(member.path).file_size
            if size != member.size:
                raise BundleRejected(
                    item.label, f"{what} size", f"manifest says {member.size} bytes, bundle"
                    f" holds {size}",
                )


class _HashVerdicts:
    """Check 3's SHA-256 verdicts, so failures are reported as if all of check 3 ran first.

    Ciphertexts are hashed while gpg decrypts them (one read of the bundle), so when a later
    check fails, the members not yet hashed are hashed then, and the first SHA-256 failure in
    manifest order (ciphertext, then receipt, item by item) is the one reported.
    """

    def __init__(self, archive: zipfile.ZipFile, bundle: VerifiedBundle) -> None:
        self._archive = archive
        self._bundle = bundle
        self._verdicts: dict[tuple[int, int], BundleRejected | None] = {}

    def record(self, order: tuple[int, int], actual: str) -> BundleRejected | None:
        index, kind = order
        item = self._bundle.items[index]
        member, what = (item.ciphertext, "ciphertext") if kind == 0 else (item.receipt, "receipt")
        assert member is not None
        failure = None
        if actual != member.sha256:
            failure = BundleRejected(
                item.label, f"{what} sha256", f"{member.path} does not match the signed manifest"
            )
        self._verdicts[order] = failure
        return failure

    def first_failure(self) -> BundleRejected | None:
        for index, item in enumerate(self._bundle.items):
            for kind, member in ((0, item.ciphertext), (1, item.receipt)):
                if member is None:
                    continue
                if (index, kind) not in self._verdicts:
                    self.record((index, kind), self._hash(member))
                failure = self._verdicts[(index, kind)]
                if failure is not None:
                    return failure
        return None

    def hash_member(self, order: tuple[int, int]) -> BundleRejected | None:
        """Hash a member in full now and record its verdict (the decryption stopped early)."""
        index, kind = order
        item = self._bundle.items[index]
        member = item.ciphertext if kind == 0 else item.receipt
        assert member is not None
        return self.record(order, self._hash(member))

    def _hash(self, member: MemberRef) -> str:
        """The member's SHA-256; a member the ZIP layer cannot read hashes to "" (a mismatch)."""
        digest = hashlib.sha256()
        span = member_span(self._archive, member)
        try:
            if span is not None:
                # Stored members are hashed in place, as they were decrypted: zipfile's CRC
                # check would turn one flipped byte into an exception instead of a verdict.
                with span.path.open("rb") as source:
                    source.seek(span.offset)
                    remaining = span.size
                    while remaining and (chunk := source.read(min(COPY_CHUNK, remaining))):
                        digest.update(chunk)
                        remaining -= len(chunk)
            else:
                with self._archive.open(member.path) as source:
                    while chunk := source.read(COPY_CHUNK):
                        digest.update(chunk)
        except ZIP_DAMAGE:
            return ""
        return digest.hexdigest()


def check_items(
    store: EvidenceStore,
    bundle: VerifiedBundle,
    staging: Path,
    progress: Progress,
) -> tuple[list[_Checked], list[_Unreadable]]:
    """Check every item; return those that passed and the replies that did not decrypt.

    A reply that does not decrypt (a client encrypted it to the wrong key) does not refuse the
    bundle: its ciphertext is hashed in full, and if it matches the signed manifest it is
    returned as unreadable, to be recorded as such. Every other failure refuses the bundle. A
    ZIP the archive layer cannot read (bad CRC, cut short) is refused naming the item.
    """
    gnupg_home = store.gnupg_home()
    encrypted = staging / "ciphertext"
    plain = staging / "plaintext"
    encrypted.mkdir()
    plain.mkdir()
    try:
        archive = zipfile.ZipFile(bundle.path)
    except (OSError, *ZIP_DAMAGE) as exc:
        raise BundleRejected("bundle", "container", f"the ZIP can no longer be read ({exc})") \
            from exc
    with archive:
        check_sizes(archive, bundle)
        verdicts = _HashVerdicts(archive, bundle)
        checked: list[_Checked] = []
        unreadable: list[_Unreadable] = []
        try:
            for index, item in enumerate(bundle.items):
                try:
                    outcome = _check_item(
                        archive, gnupg_home, item, index, encrypted, plain, verdicts, progress
                    )
                except ZIP_DAMAGE as exc:
                    raise BundleRejected(
                        item.label, "container",
                        f"the bundle's copy of this item cannot be read ({exc}); the ZIP is"
                        " damaged",
                    ) from exc
                if isinstance(outcome, _Unreadable):
                    unreadable.append(outcome)
                else:
                    checked.append(outcome)
        except BundleRejected as exc:
            # Report the first failed check in the documented order, not the first noticed.
            earlier = verdicts.first_failure()
            if earlier is not None and earlier is not exc:
                raise earlier from exc
            raise
    return checked, unreadable


def _check_item(
    archive: zipfile.ZipFile, gnupg_home: Path, item: ManifestItem, index: int, encrypted: Path,
    plain: Path, verdicts: _HashVerdicts, progress: Progress,
) -> _Checked | _Unreadable:
    receipt = None
    receipt_path: Path | None = None
    if item.receipt is not None:
        # Receipts are tiny: copied out, hashed and decrypted one after the other.
        receipt_path = encrypted / f"{index}.receipt"
        copy_member(archive, item.receipt, receipt_path, item, "receipt", progress)
        failure = verdicts.record((index, 1), _sha256_file(receipt_path))
        if failure is not None:
            raise failure
        receipt = decrypt_receipt(gnupg_home, receipt_path, item)
    source: Path | FileSpan | None = member_span(archive, item.ciphertext)
    if source is None:
        source = encrypted / f"{index}"
        # Progress counts this item's plaintext as it is decrypted, not the copy.
        copy_member(archive, item.ciphertext, source, item, "ciphertext",
                    silent_progress(0, "copy"))
    # The ciphertext's SHA-256 is computed from the very bytes gpg decrypts.
    ciphertext_digest = hashlib.sha256()
    limit = MAX_UNDECLARED_PLAINTEXT_BYTES if receipt is None else int(receipt["size"])
    try:
        digest, gzip_name = decrypt_item(
            gnupg_home, source, plain / f"{index}", item, progress, ciphertext_digest, limit
        )
    except BundleRejected as exc:
        if item.kind != "reply":
            raise
        # gpg may have stopped early: the verdict needs the whole ciphertext. A changed one is
        # tampering (the bundle is refused); an unchanged one is a reply nobody can read.
        failure = verdicts.hash_member((index, 0))
        if failure is not None:
            raise failure from exc
        (plain / f"{index}").unlink(missing_ok=True)
        return _Unreadable(item, exc.detail)
    failure = verdicts.record((index, 0), ciphertext_digest.hexdigest())
    if failure is not None:
        raise failure
    if isinstance(source, Path):
        source.unlink()  # free the space for the next item
    result = _Checked(item, plain / f"{index}", digest, receipt, gzip_name, receipt_path)
    compare_with_receipt(result)
    return result


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _bundle_record(bundle: VerifiedBundle) -> dict[str, Any]:
    return {
        "manifest_sha256": bundle.manifest_sha256,
        "instance_id": bundle.manifest.get("instance_id"),
        "created_at": bundle.manifest.get("created_at"),
    }


def _submission_record(checked: _Checked, bundle: VerifiedBundle) -> dict[str, Any]:
    item = checked.item
    return {
        "submission_uuid": item.uuid,
        "source_uuid": item.source_uuid,
        "source_designation": item.source_designation,
        "kind": item.kind,
        "received_on": item.received_on,
        "manifest_entry": build_manifest_entry(item),
        "receipt": checked.receipt,
        "gzip_name": checked.gzip_name,
        "bundle": _bundle_record(bundle),
        "imported_at": utc_now(),
    }


def original_name_of(checked: _Checked) -> str | None:
    receipt_name = None if checked.receipt is None else checked.receipt.get("original_name")
    if isinstance(receipt_name, str) and receipt_name:
        return receipt_name
    return checked.gzip_name


def stage_original(checked: _Checked, bundle: VerifiedBundle, store: EvidenceStore,
                   pending: Path, stamp: StampVerdict | None = None) -> bool:
    """Lay out a checked item in `pending` as it will stand in originals/; False if not new."""
    item_id = checked.digest.sha256
    final = store.original_dir(item_id)
    staged = pending / "originals" / item_id
    record_name = f"{checked.item.uuid}.json"
    if (final / "submissions" / record_name).exists():
        return False
    if (staged / "submissions" / record_name).exists():
        return False
    if not final.exists() and not staged.exists():
        (staged / "submissions").mkdir(parents=True)
        os.rename(checked.plaintext, staged / "content")
        write_json_atomic(
            staged / "item.json",
            {
                "id": item_id,
                "kind": checked.item.kind,
                "size": checked.digest.size,
                "sha256": checked.digest.sha256,
                "sha512": checked.digest.sha512,
                "original_name": original_name_of(checked),
                "first_imported_at": utc_now(),
            },
            mode=0o444,
        )
    (staged / "submissions").mkdir(parents=True, exist_ok=True)
    write_json_atomic(staged / "submissions" / record_name, _submission_record(checked, bundle),
                      mode=0o444)
    if stamp is not None:
        # Token, path and encrypted receipt stay with the original (workstation.timestamps).
        stage_stamp(staged / "timestamps" / checked.item.uuid, checked.item, stamp,
                    checked.encrypted_receipt)
    return True


def stage_consent(checked: _Checked, bundle: VerifiedBundle, store: EvidenceStore,
                  pending: Path) -> bool:
    uuid = checked.item.uuid
    staged = pending / "consent"
    if (store.consent_dir / f"{uuid}.json").exists() or (staged / f"{uuid}.json").exists():
        return False
    staged.mkdir(exist_ok=True)
    meta = {
        "uuid": uuid,
        "source_uuid": checked.item.source_uuid,
        "source_designation": checked.item.source_designation,
        "received_on": checked.item.received_on,
        "received_at": None if checked.receipt is None else checked.receipt.get("received_at"),
        "receipt": checked.receipt,
        "size": checked.digest.size,
        "sha256": checked.digest.sha256,
        "sha512": checked.digest.sha512,
        "manifest_entry": build_manifest_entry(checked.item),
        "bundle": _bundle_record(bundle),
        "imported_at": utc_now(),
    }
    write_json_atomic(staged / f"{uuid}.meta.json", meta, mode=0o444)
    os.rename(checked.plaintext, staged / f"{uuid}.json")
    return True


def stage_bundle_record(bundle: VerifiedBundle, bundle_path: Path, actor: str,
                        checked: list[_Checked], pending: Path) -> None:
    record_dir = pending / "bundle"
    record_dir.mkdir()
    write_bytes_atomic(record_dir / "manifest.json", bundle.manifest_bytes, mode=0o444)
    write_bytes_atomic(record_dir / "manifest.json.sig", bundle.signature_line, mode=0o444)
    write_json_atomic(
        record_dir / "import.json",
        {
            "imported_at": utc_now(),
            "actor": actor,
            "file_name": bundle_path.name,
            "items": [r.digest.sha256 for r in checked],
        },
        mode=0o444,
    )


def stage_import(
    store: EvidenceStore, bundle: VerifiedBundle, bundle_path: Path, checked: list[_Checked],
    actor: str, pending: Path, report: ImportReport,
    stamps: dict[str, StampVerdict] | None = None,
    unreadable: list[_Unreadable] | None = None,
) -> list[tuple[str, str | None, str | None, dict[str, Any]]]:
    """Stage everything new in `pending`; return the custody records that will describe it."""
    pending.mkdir()
    records: list[tuple[str, str | None, str | None, dict[str, Any]]] = []
    stamps = stamps or {}
    for bad in unreadable or []:
        # Nothing of it is stored, but the log says it arrived and why it could not be read.
        report.unreadable.append((bad.item.uuid, bad.reason))
        records.append(("unreadable", None, None, {
            "submission_uuid": bad.item.uuid,
            "kind": bad.item.kind,
            "source_uuid": bad.item.source_uuid,
            "ciphertext_sha256": bad.item.ciphertext.sha256,
            "bundle_manifest_sha256": bundle.manifest_sha256,
            "reason": bad.reason,
        }))
    for result in checked:
        stamp = stamps.get(result.item.uuid)
        details = _custody_details(result, bundle)
        if stamp is not None:
            details["timestamp"] = stamp.as_record()
        if result.item.kind == "consent":
            if stage_consent(result, bundle, store, pending):
                report.consent_records.append(result.item.uuid)
                records.append(("import", f"consent:{result.item.uuid}", result.digest.sha256,
                                details))
            continue
        if stage_original(result, bundle, store, pending, stamp):
            report.imported.append(result.digest.sha256)
            records.append(("import", result.digest.sha256, result.digest.sha256, details))
        else:
            report.already_present.append(result.digest.sha256)
    stage_bundle_record(bundle, bundle_path, actor, checked, pending)
    return records


def recover_store(store: EvidenceStore, custody: CustodyLog, actor: str) -> list[str]:
    """Finish or drop interrupted imports and record unrecorded items; say what was done."""
    notes = [f"removed {name} from tmp/, left by a command that was interrupted"
             for name in remove_abandoned_staging(store)]
    outcome = finish_pending(store, custody)
    notes += [f"completed an interrupted import of bundle {name[:16]}"
              for name in outcome.completed]
    notes += [f"dropped an interrupted import of bundle {name[:16]} that had changed nothing"
              for name in outcome.discarded]
    before = {(g.item, g.submission_uuid) for g in find_gaps(store, custody.entries())}
    still_open = record_unlogged(store, custody, actor)
    after = {(g.item, g.submission_uuid) for g in still_open}
    notes += [f"recorded late: {item} (submission {uuid}) was in the store without an import"
              " entry" for item, uuid in sorted(before - after)]
    notes += [f"NOT REPAIRED {gap.describe()}" for gap in still_open]
    return notes


def import_bundle(
    store: EvidenceStore,
    bundle_path: Path,
    custody: CustodyLog,
    actor: str,
    progress_factory: ProgressFactory,
) -> ImportReport:
    """Verify and import a bundle; refuse all of it on the first failed check."""
    bundle = verify_bundle(bundle_path, load_pinned_server_key(store))
    notes = recover_store(store, custody, actor)
    report = ImportReport(bundle_sha256=bundle.manifest_sha256, warnings=notes)
    record_dir = store.bundles_dir / bundle.manifest_sha256
    if record_dir.exists():
        report.already_imported = True
        return report
    # Each ciphertext is read once (decrypted and hashed together); progress counts plaintext.
    total = sum(
        item.ciphertext.size + (item.receipt.size if item.receipt else 0)
        for item in bundle.items
    )
    with store.staging_dir("import") as staging:
        progress = progress_factory(total, "import")
        try:
            checked, unreadable = check_items(store, bundle, staging, progress)
        except GpgFailed as exc:
            raise WorkstationError(
                f"gpg could not run ({exc}); check that gnupg is installed and, in smartcard"
                " mode, that the card is inserted"
            ) from exc
        finally:
            progress.close()
        # The timestamps' verdicts are recorded, never a reason to refuse the evidence.
        stamps = check_bundle_stamps(bundle, trusted_roots(store))
        for uuid, verdict in stamps.items():
            report.timestamps[uuid] = verdict.verdict
            if verdict.verdict == REFUSED:
                report.warnings.append(summary_line(uuid, verdict))
        # Every check passed. Stage, then log, then move into place (workstation.pending).
        records = stage_import(store, bundle, bundle_path, checked, actor, staging / "pending",
                               report, stamps, unreadable)
        entries = custody.prepare(actor, records)
        target = pending_dir(store, bundle.manifest_sha256)
        seal_pending(staging / "pending", target, entries)
        try:
            custody.commit(entries)
        except BaseException:
            remove_tree(target)
            raise
        place_pending(store, target)
    return report


def _custody_details(result: _Checked, bundle: VerifiedBundle) -> dict[str, Any]:
    return {
        "submission_uuid": result.item.uuid,
        "kind": result.item.kind,
        "sha512": result.digest.sha512,
        "size": result.digest.size,
        "ciphertext_sha256": result.item.ciphertext.sha256,
        "bundle_manifest_sha256": bundle.manifest_sha256,
        "bundle_created_at": bundle.manifest.get("created_at"),
    }
