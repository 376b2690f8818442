"""Transfer bundles: ciphertext plus a signed manifest, streamed as a stored ZIP.

The format is docs/bundle-format.md (the workstation reads that document, not this code).
Every file is copied in chunks while its SHA-256 is computed, and ``manifest.json`` comes last
because it records those hashes; nothing ever holds a whole file in memory. Each file is
opened before the first byte is produced, so deleting an item while its bundle downloads cannot
truncate the bundle (the open descriptor keeps the data readable), and a file already gone is
reported before anything is sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from core.errors import BundleError, BundleItemMissing, EmptyBundle, StoreError
from core.models import Reply, Submission

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.instance import Instance

FORMAT = "skrynka-transfer-bundle"
VERSION = 1
CHUNK_BYTES = 1024 * 1024
# Each item holds up to two open files until the bundle is written; keep well under ulimit -n.
MAX_ITEMS = 2000


@dataclass(frozen=True)
class BundleSummary:
    name: str
    items: int
    manifest_sha256: str
    bytes_of_ciphertext: int


@dataclass
class _Member:
    arcname: str
    handle: IO[bytes]
    size: int
    expected_sha256: str | None
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


def _open_member(instance: Instance, item: Submission | Reply, filename: str,
                 expected: str | None, stack: ExitStack) -> _Member:
    source = item.source
    try:
        path = instance.store.path_of(source.filesystem_id, filename)
        handle = stack.enter_context(open(path, "rb"))  # noqa: SIM115 (closed by the stack)
    except (StoreError, FileNotFoundError) as exc:
        raise BundleItemMissing(
            f"Item {item.uuid} can no longer be found (it was probably just deleted); "
            "reload the page and choose again."
        ) from exc
    size = os.fstat(handle.fileno()).st_size
    return _Member(
        arcname=f"items/{source.designation_file}/{filename}",
        handle=handle,
        size=size,
        expected_sha256=expected,
        date=_day(item),
    )


def _order(items: Sequence[Submission | Reply]) -> list[Submission | Reply]:
    def key(item: Submission | Reply) -> tuple[str, int, str]:
        head = item.filename.split("-", 1)[0]
        return (item.source.journalist_designation, int(head) if head.isdigit() else 0,
                item.filename)

    unique: dict[str, Submission | Reply] = {}
    for item in items:
        unique.setdefault(item.uuid, item)
    return sorted(unique.values(), key=key)


def _open_entries(instance: Instance, items: Sequence[Submission | Reply],
                  stack: ExitStack) -> list[_Entry]:
    if not items:
        raise EmptyBundle("No items were chosen: select at least one message, file or reply.")
    if len(items) > MAX_ITEMS:
        raise BundleError(
            f"A bundle holds at most {MAX_ITEMS} items; download the selection in parts."
        )
    entries: list[_Entry] = []
    for item in _order(items):
        main = _open_member(instance, item, item.filename, item.sha256, stack)
        receipt = None
        if isinstance(item, Submission) and item.receipt_filename:
            receipt = _open_member(
                instance, item, item.receipt_filename, item.receipt_sha256, stack
            )
        entries.append(_Entry(item=item, kind=_kind(item), main=main, receipt=receipt))
    return entries


def _copy(archive: zipfile.ZipFile, member: _Member, sink: _Sink) -> Iterator[tuple[bytes, str]]:
    """Copy one member into the archive; yields output pieces, the last with the hash."""
    info = zipfile.ZipInfo(member.arcname, date_time=member.date)
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = member.size
    info.external_attr = 0o600 << 16
    digest = hashlib.sha256()
    copied = 0
    with archive.open(info, "w") as target:
        while chunk := member.handle.read(CHUNK_BYTES):
            digest.update(chunk)
            copied += len(chunk)
            target.write(chunk)
            yield sink.drain(), ""
    if copied != member.size:
        raise BundleError(
            f"{member.arcname} changed size while it was copied; download the bundle again."
        )
    hexdigest = digest.hexdigest()
    if member.expected_sha256 and member.expected_sha256 != hexdigest:
        raise BundleError(
            f"{member.arcname} does not match the hash recorded when it was stored: the store "
            "is damaged. Restore the file from backup before transferring it."
        )
    yield sink.drain(), hexdigest


class BundleStream:
    """A bundle being produced: iterate it for the bytes; ``summary`` is set once it is done."""

    def __init__(self, name: str, chunks: Iterator[bytes]) -> None:
        self.name = name
        self._chunks = chunks
        self.summary: BundleSummary | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        """Release the open files if the bundle is abandoned before the end."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


def open_bundle(
    instance: Instance,
    items: Sequence[Submission | Reply],
    *,
    now: datetime | None = None,
) -> BundleStream:
    """Open every file now (raising :class:`BundleItemMissing` at once if one is gone) and
    return a stream of the bundle's bytes.

    Call inside an open DB session: the items' ``source`` relationships are loaded here.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    stack = ExitStack()
    try:
        entries = _open_entries(instance, items, stack)
    except BaseException:
        stack.close()
        raise
    manifest_items: list[dict[str, Any]] = []
    for entry in entries:
        source = entry.item.source
        manifest_items.append(
            {
                "uuid": entry.item.uuid,
                "source_uuid": source.uuid,
                "source_designation": source.journalist_designation,
                "kind": entry.kind,
                "path": entry.main.arcname,
                "filename": entry.item.filename,
                "size": entry.main.size,
                "sha256": "",
                "received_on": entry.item.created_at.astimezone(UTC).date().isoformat(),
                "receipt": None,
            }
        )
    signer = instance.signer
    instance_id = instance.settings.instance_id
    stream = BundleStream(bundle_name(moment), iter(()))

    def generate() -> Iterator[bytes]:
        with stack:
            sink = _Sink()
            archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED)
            total = 0
            for entry, record in zip(entries, manifest_items, strict=True):
                for piece, hexdigest in _copy(archive, entry.main, sink):
                    if piece:
                        yield piece
                    if hexdigest:
                        record["sha256"] = hexdigest
                total += entry.main.size
                if entry.receipt is not None:
                    for piece, hexdigest in _copy(archive, entry.receipt, sink):
                        if piece:
                            yield piece
                        if hexdigest:
                            record["receipt"] = {
                                "path": entry.receipt.arcname,
                                "size": entry.receipt.size,
                                "sha256": hexdigest,
                            }
                    total += entry.receipt.size
            manifest = manifest_bytes(
                instance_id=instance_id,
                created_at=moment,
                signing_key=signer.fingerprint,
                items=manifest_items,
            )
            signature = base64.b64encode(signer.sign(manifest)) + b"\n"
            for name, data in (("manifest.json", manifest), ("manifest.json.sig", signature)):
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

    stream._chunks = generate()
    return stream


def manifest_bytes(
    *, instance_id: str, created_at: datetime, signing_key: str, items: list[dict[str, Any]]
) -> bytes:
    """The exact manifest bytes that get signed (UTF-8 JSON, keys in a fixed order)."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "instance_id": instance_id,
        "created_at": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "signing_key": signing_key,
        "items": items,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


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
    stream = open_bundle(instance, items, now=now)
    try:
        for chunk in stream:
            out.write(chunk)
    finally:
        stream.close()
    assert stream.summary is not None
    return stream.summary
