"""Transfer bundles: ciphertext plus a signed manifest, streamed as a stored ZIP.

The format is docs/bundle-format.md; the manifest's fields and bytes are defined once in
``formats.bundle_manifest`` (the workstation verifies with its own code, sharing only that).

Verify, then send. ``stream_bundle`` checks every chosen file before the caller sends a byte:
each one is pinned by a hard link in this process's private temp dir (same filesystem as the
store, so no data is copied and no descriptor stays open: a bundle may hold any number of
items), then hashed once and compared with the SHA-256 recorded when it was stored. A file
that is gone raises :class:`BundleItemMissing`; files that no longer match raise
:class:`StoredFileDamaged` naming every one of them; either way nothing has been produced and
the caller can tell staff why. The stream then copies from the pinned links, so a file renamed
over, or deleted from, the store after the check cannot change what is sent. Each member is
hashed again as it is copied and must equal the checked hash (this catches writes into the
file itself during the download); such a bundle stops before ``manifest.json``, so no signed
manifest ever describes bytes that were not checked. ``manifest.json`` is written last and
records the checked hashes; nothing ever holds a whole file in memory.

``open_verified_file`` applies the same check to one file for single-item downloads and
returns the open descriptor it hashed, to send from.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy.orm import Session, object_session

from core.errors import (
    BundleError,
    BundleItemMissing,
    CiphertextStoreError,
    DamagedFile,
    EmptyBundle,
    StoredFileDamaged,
    StoredFileMissing,
)
from core.models import Reply, Submission
from core.timestamping import ItemProof, LeafProof, item_proofs
from formats.bundle_manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    Manifest,
    ManifestItem,
    MemberRef,
    encode_manifest,
)
from formats.timestamps import ItemStamp, LeafRef, TokenRef, TreeRecord, token_member_path

if TYPE_CHECKING:
    from core.instance import Instance

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class BundleSummary:
    name: str
    items: int
    manifest_sha256: str
    bytes_of_ciphertext: int


@dataclass(frozen=True)
class VerifiedFile:
    """A stored file, open, whose bytes were just hashed and matched its recorded SHA-256.

    ``handle`` is positioned at the start; the caller sends from it and closes it.
    """

    handle: io.BufferedReader
    size: int
    sha256: str


@dataclass
class _Member:
    arcname: str
    link: Path  # the pinned hard link in this process's temp dir
    size: int
    sha256: str  # checked against the record before anything was sent
    date: tuple[int, int, int, int, int, int]


@dataclass
class _Entry:
    item: Submission | Reply
    kind: str
    main: _Member
    receipt: _Member | None


class _Sink:
    """A write-only file object that hands ZipFile's output to a generator in pieces."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def seekable(self) -> bool:
        return False

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def bundle_name(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"skrynka-bundle-{moment.strftime('%Y%m%dT%H%M%SZ')}.zip"


def _kind(item: Submission | Reply) -> str:
    if isinstance(item, Reply):
        return "reply"
    return item.kind


def _day(item: Submission | Reply) -> tuple[int, int, int, int, int, int]:
    # ZIP timestamps carry the day only: the manifest's precision, nothing finer.
    created = item.created_at.astimezone(UTC)
    return (max(created.year, 1980), created.month, created.day, 0, 0, 0)


def hash_file(handle: io.BufferedIOBase) -> tuple[int, str]:
    """Read ``handle`` to its end; return the byte count and the SHA-256 hex of what was read."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    size = 0
    while count := handle.readinto(view):
        digest.update(view[:count])
        size += count
    return size, digest.hexdigest()


def _damage(item: Submission | Reply, filename: str, expected: str, found: str,
            *, receipt: bool) -> DamagedFile:
    return DamagedFile(
        item_uuid=item.uuid,
        designation=item.source.journalist_designation,
        filename=filename,
        expected_sha256=expected,
        found_sha256=found,
        receipt_of=item.filename if receipt else None,
    )


def open_verified_file(instance: Instance, item: Submission | Reply) -> VerifiedFile:
    """Open ``item``'s stored ciphertext and check it against its recorded SHA-256.

    Raises :class:`StoredFileMissing` if the file is gone (``UnsafeStorePath`` for a name that
    is not ours) and :class:`StoredFileDamaged` if its bytes changed. The descriptor returned is
    the one that was hashed, so a file renamed over the stored one afterwards is not what gets
    sent. Call inside an open DB session (``item.source`` is loaded here).
    """
    source = item.source
    path = instance.store.path_of(source.filesystem_id, item.filename)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (the caller closes it once sent)
    except FileNotFoundError as exc:
        raise StoredFileMissing(
            f"{item.filename} was deleted while it was being opened; reload the page."
        ) from exc
    try:
        size, found = hash_file(handle)
        if found != item.sha256:
            raise StoredFileDamaged(
                [_damage(item, item.filename, item.sha256, found, receipt=False)]
            )
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return VerifiedFile(handle=handle, size=size, sha256=found)


def _pin_member(instance: Instance, item: Submission | Reply, filename: str,
                pins: list[Path]) -> tuple[Path, int, str]:
    """Hard-link one stored file into this process's temp dir and hash it there.

    The link keeps exactly the checked file (inode) reachable until the bundle is sent, even if
    the store's name is deleted or replaced meanwhile, without holding a descriptor open.
    """
    source = item.source
    link = instance.store.temp_path()
    pins.append(link)
    link.unlink()
    try:
        path = instance.store.path_of(source.filesystem_id, filename)
        os.link(path, link)
    except (CiphertextStoreError, FileNotFoundError) as exc:
        raise BundleItemMissing(
            f"Item {item.uuid} ({filename}) can no longer be found (it was probably just "
            "deleted); reload the page and choose again."
        ) from exc
    with open(link, "rb") as handle:
        size, found = hash_file(handle)
    return link, size, found


def _order(items: Sequence[Submission | Reply]) -> list[Submission | Reply]:
    def key(item: Submission | Reply) -> tuple[str, int, str]:
        head = item.filename.split("-", 1)[0]
        return (item.source.journalist_designation, int(head) if head.isdigit() else 0,
                item.filename)

    unique: dict[str, Submission | Reply] = {}
    for item in items:
        unique.setdefault(item.uuid, item)
    return sorted(unique.values(), key=key)


def _check_entries(instance: Instance, items: Sequence[Submission | Reply],
                   pins: list[Path]) -> list[_Entry]:
    """Pin and hash every file; raise before anything is sent if one is missing or damaged.

    Hashing goes on past a damaged file so staff learn of every damaged item at once.
    """
    if not items:
        raise EmptyBundle("No items were chosen: select at least one message, file or reply.")
    entries: list[_Entry] = []
    damaged: list[DamagedFile] = []
    for item in _order(items):
        folder = f"items/{item.source.designation_file}"
        link, size, found = _pin_member(instance, item, item.filename, pins)
        if found != item.sha256:
            damaged.append(_damage(item, item.filename, item.sha256, found, receipt=False))
        main = _Member(f"{folder}/{item.filename}", link, size, found, _day(item))
        receipt = None
        if isinstance(item, Submission) and item.receipt_filename:
            link, size, found = _pin_member(instance, item, item.receipt_filename, pins)
            expected = item.receipt_sha256
            if expected is not None and found != expected:
                damaged.append(
                    _damage(item, item.receipt_filename, expected, found, receipt=True)
                )
            receipt = _Member(f"{folder}/{item.receipt_filename}", link, size, found, _day(item))
        entries.append(_Entry(item=item, kind=_kind(item), main=main, receipt=receipt))
    if damaged:
        raise StoredFileDamaged(damaged)
    return entries


def _unpin(pins: list[Path]) -> None:
    while pins:
        pins.pop().unlink(missing_ok=True)


def _copy(archive: zipfile.ZipFile, member: _Member, sink: _Sink) -> Iterator[bytes]:
    """Copy one pinned member into the archive, yielding output pieces as they are made."""
    info = zipfile.ZipInfo(member.arcname, date_time=member.date)
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = member.size
    info.external_attr = 0o600 << 16
    digest = hashlib.sha256()
    copied = 0
    with open(member.link, "rb") as source, archive.open(info, "w") as target:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
            copied += len(chunk)
            target.write(chunk)
            yield sink.drain()
    if copied != member.size or digest.hexdigest() != member.sha256:
        # Written into in place after the check: stop before the manifest is signed.
        raise BundleError(
            f"{member.arcname} changed on the server while the bundle was being sent; the "
            "download was stopped and is incomplete. Tell the administrator, then download "
            "again."
        )
    member.link.unlink(missing_ok=True)


class BundleStream:
    """A checked bundle: iterate it for the bytes; ``summary`` is set once it is done.

    ``close()`` releases the pinned files, whether or not the bundle was sent.
    """

    def __init__(self, name: str, items: int, pins: list[Path]) -> None:
        self.name = name
        self.items = items
        self._pins = pins
        self._chunks: Iterator[bytes] = iter(())
        self.summary: BundleSummary | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        # A generator closed before it started runs no cleanup of its own.
        _unpin(self._pins)


def stream_bundle(
    instance: Instance,
    items: Sequence[Submission | Reply],
    *,
    now: datetime | None = None,
) -> BundleStream:
    """Check every file now and return a stream of the bundle's bytes.

    Raises :class:`EmptyBundle`, :class:`BundleItemMissing` or :class:`StoredFileDamaged`
    before anything is produced. Call inside an open DB session: the items' ``source``
    relationships are loaded here. Close the stream when done (or abandoned).
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    pins: list[Path] = []
    try:
        entries = _check_entries(instance, items, pins)
    except BaseException:
        _unpin(pins)
        raise
    proofs = _proofs_of(entries)
    trees, token_members = _tree_records(proofs.values())
    manifest = encode_manifest(
        Manifest(
            instance_id=instance.settings.instance_id,
            created_at=moment,
            signing_key=instance.signer.fingerprint,
            items=tuple(_manifest_item(entry, proofs) for entry in entries),
            trees=trees,
        )
    )
    signature = base64.b64encode(instance.signer.sign(manifest)) + b"\n"
    stream = BundleStream(bundle_name(moment), len(entries), pins)
    total = sum(e.main.size + (e.receipt.size if e.receipt else 0) for e in entries)

    def generate() -> Iterator[bytes]:
        try:
            sink = _Sink()
            archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED)
            for entry in entries:
                members = [entry.main] if entry.receipt is None else [entry.main, entry.receipt]
                for member in members:
                    for piece in _copy(archive, member, sink):
                        if piece:
                            yield piece
            # Last, so an interrupted bundle never carries a signed manifest.
            # Tokens, then the manifest and its signature last, so an interrupted bundle never
            # carries a signed manifest.
            for name, data in (*token_members, (MANIFEST_NAME, manifest),
                               (SIGNATURE_NAME, signature)):
                info = zipfile.ZipInfo(name, date_time=moment.timetuple()[:6])
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o600 << 16
                archive.writestr(info, data)
                yield sink.drain()
            archive.close()
            yield sink.drain()
            stream.summary = BundleSummary(
                name=stream.name,
                items=len(entries),
                manifest_sha256=hashlib.sha256(manifest).hexdigest(),
                bytes_of_ciphertext=total,
            )
        finally:
            _unpin(pins)

    stream._chunks = generate()
    return stream


def _proofs_of(entries: list[_Entry]) -> dict[int, ItemProof]:
    submissions = [e.item for e in entries if isinstance(e.item, Submission)]
    db = object_session(submissions[0]) if submissions else None
    if db is None:
        return {}
    return item_proofs(db, [s.id for s in submissions])


def _leaf_ref(leaf: LeafProof) -> LeafRef:
    return LeafRef(index=leaf.index, path=tuple(leaf.path))


def _item_stamp(entry: _Entry, proofs: dict[int, ItemProof]) -> ItemStamp | None:
    """The item's place in a stamped tree, or None while it waits for one (or is a reply)."""
    if not isinstance(entry.item, Submission):
        return None
    proof = proofs.get(entry.item.id)
    if proof is None or proof.ciphertext.file_sha256 != entry.main.sha256:
        return None
    receipt = None
    if entry.receipt is not None:
        if proof.receipt is None or proof.receipt.file_sha256 != entry.receipt.sha256:
            return None
        receipt = _leaf_ref(proof.receipt)
    return ItemStamp(tree=proof.tree.id, ciphertext=_leaf_ref(proof.ciphertext), receipt=receipt)


def _tree_records(
    proofs: Iterable[ItemProof],
) -> tuple[tuple[TreeRecord, ...], list[tuple[str, bytes]]]:
    """The manifest's `trees` and the token members (`timestamps/tree-<id>/<n>.tsr`)."""
    trees = {proof.tree.id: proof.tree for proof in proofs}
    records: list[TreeRecord] = []
    members: list[tuple[str, bytes]] = []
    for tree_id in sorted(trees):
        tree = trees[tree_id]
        tokens = []
        for number, token in enumerate(tree.tokens, start=1):
            path = token_member_path(tree_id, number)
            members.append((path, token.response))
            tokens.append(TokenRef(tsa=token.tsa_url, path=path, size=len(token.response),
                                   sha256=hashlib.sha256(token.response).hexdigest()))
        records.append(TreeRecord(id=tree_id, root=tree.root, size=tree.size,
                                  tokens=tuple(tokens)))
    return tuple(records), members


def _manifest_item(entry: _Entry, proofs: dict[int, ItemProof]) -> ManifestItem:
    """The manifest's description of one checked entry: the hashes checked, never re-read."""
    source = entry.item.source
    receipt = entry.receipt
    return ManifestItem(
        uuid=entry.item.uuid,
        source_uuid=source.uuid,
        source_designation=source.journalist_designation,
        kind=entry.kind,
        ciphertext=MemberRef(entry.main.arcname, entry.main.size, entry.main.sha256),
        filename=entry.item.filename,
        received_on=entry.item.created_at.astimezone(UTC).date().isoformat(),
        receipt=None if receipt is None else MemberRef(receipt.arcname, receipt.size,
                                                       receipt.sha256),
        timestamp=_item_stamp(entry, proofs),
    )


def write_bundle(
    db: Session,
    instance: Instance,
    items: Sequence[Submission | Reply],
    out: BinaryIO,
    *,
    now: datetime | None = None,
) -> BundleSummary:
    """Write a whole bundle to ``out`` (a file or any writable stream); return its summary.

    ``db`` is the open session the items belong to (their sources are loaded through it).
    """
    stream = stream_bundle(instance, items, now=now)
    try:
        for chunk in stream:
            out.write(chunk)
    finally:
        stream.close()
    assert stream.summary is not None
    return stream.summary
