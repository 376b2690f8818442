"""Reconciling the evidence store with its custody log.

Two kinds of gap break the rule that the store and the log tell the same story:

- *unrecorded*: an original's submission record or a consent record in the store with no
  `import` entry for it (what an import interrupted between moving items into place and writing
  its entries left behind before imports wrote their entries first);
- *missing*: an `import` entry, not followed by a `delete` of that item, whose submission record
  or consent record is not in the store (an import interrupted after writing its entries, whose
  staged items are no longer in `tmp/`).

`find_gaps` lists both (`custody verify` reports them); `record_unlogged` gives every
unrecorded record whose bytes still match its name an `import` entry marked as recorded late,
and `import` runs it (with `workstation.pending.finish_pending`) before it imports anything.
Missing items cannot be conjured up: the message names the bundle to import again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.custody import CustodyLog, Entry
from workstation.pending import PENDING_PREFIX
from workstation.store import EvidenceStore

CONSENT_PREFIX = "consent:"
LATE_NOTE = (
    "found in the store without an import entry (an import interrupted before its entries were"
    " written); recorded late, after its content was checked against its name"
)
HASH_CHUNK = 1024 * 1024
# What to know and do about a gap, by cause, in English with `%(name)s` slots (the command line
# prints these; the desk has its own words for each cause).
GAP_TEXTS = {
    "no_import_entry": "in the store but no import entry records it; run `skrynka-workstation"
                       " custody repair` to check its content and record it",
    "held_by_pending": "import entry %(seq)s records it and an interrupted import holds it in"
                       " tmp/; run `skrynka-workstation custody repair` (or the next import) to"
                       " move it into place",
    "lost": "import entry %(seq)s records it but it is not in the store and no interrupted"
            " import holds it; import bundle %(bundle)s again to restore it",
    "content_mismatch": "its content does not match its name; it was not recorded. Preserve the"
                        " store as it is and investigate",
}


@dataclass(frozen=True)
class Gap:
    kind: str  # "unrecorded" or "missing"
    item: str  # item id, or consent:<uuid>
    submission_uuid: str
    cause: str  # a key of GAP_TEXTS
    values: tuple[tuple[str, str], ...] = ()

    @property
    def detail(self) -> str:
        return GAP_TEXTS[self.cause] % dict(self.values)

    def describe(self) -> str:
        return f"{self.kind}: {self.item} (submission {self.submission_uuid}): {self.detail}"


def _imported_pairs(entries: list[Entry]) -> tuple[set[tuple[str, str]], dict[tuple[str, str],
                                                                               Entry]]:
    """Every (item, submission) with an import entry, and those still expected in the store."""
    seen: set[tuple[str, str]] = set()
    expected: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        item = entry.get("item")
        if not isinstance(item, str):
            continue
        if entry.get("action") == "import":
            details = entry.get("details") or {}
            pair = (item, str(details.get("submission_uuid")))
            seen.add(pair)
            expected[pair] = entry
        elif entry.get("action") == "delete":
            expected = {pair: e for pair, e in expected.items() if pair[0] != item}
    return seen, expected


def _stored_pairs(store: EvidenceStore) -> dict[tuple[str, str], Path]:
    """Every submission record and consent record the store holds, with its file."""
    stored: dict[tuple[str, str], Path] = {}
    for record in store.originals_dir.glob("*/submissions/*.json"):
        stored[(record.parent.parent.name, record.stem)] = record
    for record in store.consent_dir.glob("*.json"):
        if not record.name.endswith(".meta.json"):
            stored[(f"{CONSENT_PREFIX}{record.stem}", record.stem)] = record
    return stored


def find_gaps(store: EvidenceStore, entries: list[Entry]) -> list[Gap]:
    seen, expected = _imported_pairs(entries)
    stored = _stored_pairs(store)
    gaps = [
        Gap("unrecorded", item, uuid, "no_import_entry")
        for item, uuid in sorted(set(stored) - seen)
    ]
    for (item, uuid), entry in sorted(expected.items()):
        if (item, uuid) not in stored:
            bundle = (entry.get("details") or {}).get("bundle_manifest_sha256")
            if _held_by_pending(store, item, uuid):
                gaps.append(Gap("missing", item, uuid, "held_by_pending",
                                (("seq", str(entry["seq"])),)))
            else:
                gaps.append(Gap("missing", item, uuid, "lost",
                                (("bundle", str(bundle)), ("seq", str(entry["seq"])))))
    return gaps


def _held_by_pending(store: EvidenceStore, item: str, uuid: str) -> bool:
    for pending in store.tmp_dir.glob(f"{PENDING_PREFIX}*"):
        if item.startswith(CONSENT_PREFIX):
            if (pending / "consent" / f"{uuid}.json").exists():
                return True
        elif (pending / "originals" / item / "submissions" / f"{uuid}.json").exists():
            return True
    return False


def record_unlogged(store: EvidenceStore, custody: CustodyLog, actor: str) -> list[Gap]:
    """Give each unrecorded record that matches its name a late import entry; return the rest.

    Returns the gaps still open (missing items, and records whose bytes do not match).
    """
    gaps = find_gaps(store, custody.entries())
    stored = _stored_pairs(store)
    late: list[tuple[str, str | None, str | None, dict[str, Any]]] = []
    still_open: list[Gap] = []
    for gap in gaps:
        if gap.kind != "unrecorded":
            still_open.append(gap)
            continue
        checked = _check_record(store, gap, stored[(gap.item, gap.submission_uuid)])
        if checked is None:
            still_open.append(Gap(gap.kind, gap.item, gap.submission_uuid,
                                  "content_mismatch"))
            continue
        late.append(("import", gap.item, checked["sha256"], checked))
    custody.commit(custody.prepare(actor, late))
    return still_open


def _check_record(store: EvidenceStore, gap: Gap, record: Path) -> dict[str, Any] | None:
    """Hash the content the record describes; the late entry's details, or None on mismatch."""
    if gap.item.startswith(CONSENT_PREFIX):
        content = record
        expected = None
        meta_path = store.consent_dir / f"{gap.submission_uuid}.meta.json"
        if meta_path.exists():
            expected = json.loads(meta_path.read_bytes()).get("sha256")
        kind = "consent"
    else:
        content = store.original_dir(gap.item) / "content"
        expected = gap.item
        kind = str(json.loads(record.read_bytes()).get("kind"))
    if not content.is_file():
        return None
    sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
    with content.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            sha256.update(chunk)
            sha512.update(chunk)
            size += len(chunk)
    if expected is not None and sha256.hexdigest() != expected:
        return None
    return {
        "submission_uuid": gap.submission_uuid,
        "kind": kind,
        "sha256": sha256.hexdigest(),
        "sha512": sha512.hexdigest(),
        "size": size,
        "recorded_late": LATE_NOTE,
    }
