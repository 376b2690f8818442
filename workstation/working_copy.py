"""Working copies: metadata-stripped copies of an original that say where they came from.

The original is never opened for writing: its bytes are copied into a staging file, mat2 cleans
that copy in place, and the result is stored under copies/<original id>/<copy sha256>/ with
`copy.json` recording the original, the tool and version, and the metadata before and after.
A format mat2 does not handle gets a byte-for-byte copy with `"stripped": false` and the
reason, so nobody mistakes it for a cleaned file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from workstation.catalogue import Item
from workstation.custody import CustodyLog
from workstation.metadata_tool import FormatNotSupported, MetadataTool
from workstation.store import EvidenceStore, fsync_dir, read_json, utc_now, write_json_atomic

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class WorkingCopy:
    original_id: str
    copy_sha256: str
    path: Path
    record: dict[str, Any]

    @property
    def stripped(self) -> bool:
        return bool(self.record["stripped"])


def safe_file_name(item: Item) -> str:
    """A file name that is safe on any filesystem, keeping the original's extension."""
    if item.kind in ("message", "reply"):
        return f"{item.kind}-{item.item_id[:12]}.txt"
    name = PurePath((item.original_name or "").replace("\\", "/")).name
    name = _UNSAFE.sub("_", name).lstrip(".")[-120:]
    return name or f"file-{item.item_id[:12]}"


def hash_file(path: Path) -> tuple[str, str, int]:
    sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            sha256.update(chunk)
            sha512.update(chunk)
            size += len(chunk)
    return sha256.hexdigest(), sha512.hexdigest(), size


def make_working_copy(
    store: EvidenceStore,
    item: Item,
    tool: MetadataTool,
    custody: CustodyLog,
    actor: str,
) -> WorkingCopy:
    name = safe_file_name(item)
    with store.staging_dir("copy") as staging:
        work = staging / name
        shutil.copyfile(item.content_path, work)
        os.chmod(work, 0o600)
        before = tool.show(work)
        stripped = True
        reason = ""
        method = "mat2 --inplace"
        try:
            if not before.supported:
                raise FormatNotSupported(before.note)
            tool.clean_in_place(work)
        except FormatNotSupported as exc:
            # mat2 may have half-written the file; start again from the original's bytes.
            work.unlink(missing_ok=True)
            shutil.copyfile(item.content_path, work)
            stripped, reason, method = False, str(exc) or "format not supported", "byte copy"
        after = tool.show(work) if stripped else before
        copy_sha256, copy_sha512, size = hash_file(work)
        removed = {k: v for k, v in before.fields.items() if k not in after.fields}
        record: dict[str, Any] = {
            "format": "skrynka-working-copy",
            "version": 1,
            "original_id": item.item_id,
            "original_sha256": item.sha256,
            "original_sha512": item.sha512,
            "original_name": item.original_name,
            "file_name": name,
            "copy_sha256": copy_sha256,
            "copy_sha512": copy_sha512,
            "size": size,
            "stripped": stripped,
            "method": method,
            "not_stripped_reason": reason or None,
            "tool": "mat2",
            "tool_version": tool.version(),
            "metadata_before": before.fields,
            "metadata_after": after.fields if stripped else before.fields,
            "removed": removed,
            "made_at": utc_now(),
            "actor": actor,
        }
        final = store.copies_dir / item.item_id / copy_sha256
        if not final.exists():
            build = staging / "build"
            build.mkdir()
            os.rename(work, build / name)
            os.chmod(build / name, 0o444)
            write_json_atomic(build / "copy.json", record, mode=0o444)
            final.parent.mkdir(mode=0o700, exist_ok=True)
            os.rename(build, final)
            fsync_dir(final.parent)
        else:
            record = read_json(final / "copy.json")
    custody.append(
        actor,
        "copy",
        item.item_id,
        item.sha256,
        {
            "copy_sha256": copy_sha256,
            "stripped": stripped,
            "method": method,
            "tool": f"mat2 {record['tool_version']}",
            "removed": sorted(removed),
        },
    )
    return WorkingCopy(item.item_id, copy_sha256, final / record["file_name"], record)


def list_working_copies(store: EvidenceStore, item_id: str) -> list[WorkingCopy]:
    directory = store.copies_dir / item_id
    if not directory.is_dir():
        return []
    copies = []
    for path in sorted(directory.iterdir()):
        if (path / "copy.json").is_file():
            record = read_json(path / "copy.json")
            copies.append(WorkingCopy(item_id, path.name, path / record["file_name"], record))
    return sorted(copies, key=lambda copy: str(copy.record["made_at"]))
