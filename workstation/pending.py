"""A pending import: everything an import will add, staged in its final shape, and the
custody entries that record it. What makes an import safe against a crash at any instant.

The order (docs/workstation.md, "Interrupted imports"):

1. every checked item is laid out in `tmp/pending-<manifest sha256>/` exactly as it will stand
   in the store, fsynced, with the signed custody entries that will record it
   (`entries.json`, prepared but not yet in the log);
2. those entries are appended to the custody log in one write;
3. the staged items are renamed into `originals/` and `consent/`, then the bundle record into
   `bundles/`, and the pending directory is removed.

So at every instant each original in the store already has its import entry. A crash before
step 2 leaves only `tmp/` behind and the log unchanged: the import never happened and the
bundle can be imported again. A crash after step 2 leaves entries whose items are still in
`tmp/pending-…/`: `finish_pending` (run by the next import, or `custody repair`) sees that the
log holds the entries and completes step 3.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from workstation.custody import CustodyLog, Entry
from workstation.store import EvidenceStore, fsync_dir, remove_tree, write_json_atomic

PENDING_PREFIX = "pending-"
ENTRIES_FILE = "entries.json"


@dataclass
class PendingOutcome:
    completed: list[str] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)


def pending_dir(store: EvidenceStore, manifest_sha256: str) -> Path:
    return store.tmp_dir / f"{PENDING_PREFIX}{manifest_sha256}"


def seal_pending(staged: Path, target: Path, entries: list[Entry]) -> None:
    """Write the prepared entries next to the staged items and move the lot to `target`."""
    write_json_atomic(staged / ENTRIES_FILE, entries)
    _fsync_tree(staged)
    os.rename(staged, target)
    fsync_dir(target.parent)


def place_pending(store: EvidenceStore, pending: Path) -> None:
    """Rename every staged file into the store (step 3); safe to run again after a crash."""
    originals = pending / "originals"
    for staged_item in sorted(originals.iterdir()) if originals.is_dir() else []:
        final = store.original_dir(staged_item.name)
        if not final.exists():
            os.rename(staged_item, final)
            continue
        # The item is already there (an earlier bundle, or this step half done): add records.
        for record in sorted((staged_item / "submissions").iterdir()):
            target = final / "submissions" / record.name
            if not target.exists():
                os.rename(record, target)
        fsync_dir(final / "submissions")
        stamps = staged_item / "timestamps"
        for stamp in sorted(stamps.iterdir()) if stamps.is_dir() else []:
            (final / "timestamps").mkdir(exist_ok=True)
            _rename_absent(stamp, final / "timestamps" / stamp.name)
    fsync_dir(store.originals_dir)
    consent = pending / "consent"
    for staged_file in sorted(consent.iterdir()) if consent.is_dir() else []:
        # Descriptions first, so a consent record never stands without where it came from.
        if staged_file.name.endswith(".meta.json"):
            _rename_absent(staged_file, store.consent_dir / staged_file.name)
    for staged_file in sorted(consent.iterdir()) if consent.is_dir() else []:
        _rename_absent(staged_file, store.consent_dir / staged_file.name)
    fsync_dir(store.consent_dir)
    bundle = pending / "bundle"
    if bundle.is_dir():
        target = store.bundles_dir / pending.name.removeprefix(PENDING_PREFIX)
        if not target.exists():
            os.rename(bundle, target)
            fsync_dir(store.bundles_dir)
    remove_tree(pending)


def finish_pending(store: EvidenceStore, custody: CustodyLog) -> PendingOutcome:
    """Complete imports the log already records; drop those it does not (never happened)."""
    outcome = PendingOutcome()
    if not store.tmp_dir.is_dir():
        return outcome
    logged = {str(entry["hash"]) for entry in custody.entries()}
    for pending in sorted(store.tmp_dir.glob(f"{PENDING_PREFIX}*")):
        name = pending.name.removeprefix(PENDING_PREFIX)
        try:
            prepared = json.loads((pending / ENTRIES_FILE).read_bytes())
        except (OSError, ValueError):
            prepared = None
        hashes = {str(entry["hash"]) for entry in prepared} if isinstance(prepared, list) else set()
        if hashes and hashes <= logged:
            place_pending(store, pending)
            outcome.completed.append(name)
        else:
            # Interrupted before its entries reached the log: the store never changed.
            remove_tree(pending)
            outcome.discarded.append(name)
    return outcome


def _rename_absent(source: Path, target: Path) -> None:
    if not target.exists():
        os.rename(source, target)


def _fsync_tree(root: Path) -> None:
    for directory, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(directory))
