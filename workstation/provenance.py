"""Provenance of an original: its content credentials checked at import, as a signed entry.

Flow of `record_provenance` (run for every file item an import adds, after its metadata and
perceptual hash): `content_credentials.check_c2pa` reads the C2PA manifest in the sandbox, and
`proofmode.check_proofmode` checks a ProofMode proof set sent beside it (the other items of the
same sitting, `sent_together`) or inside it (a ZIP); one `provenance` custody entry holds both
verdicts:

    {"c2pa": {"verdict": "valid" | "invalid" | "absent" | "unchecked", "summary", "signer",
              "trusted", "codes", "manifest", "claim_generator", "reader", "problem"},
     "proofmode": {"verdict": ..., "summary", "signer", "media": [...], "problem"}}

The log is the only store of the verdict (it is small), so it is signed and chained with
everything else; `latest_provenance` reads it back for `show`, the desk and handover packages.
"summary" and "problem" are English sentences built by `workstation.provenance_reason`, which
also reads them back into codes and values (the desk translates those).
A forged, broken or hostile manifest or bundle is a verdict, never an error; only a sandbox that
cannot start raises (`SandboxUnavailable`), and the import has completed by then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workstation.catalogue import Item, find_item
from workstation.content_credentials import C2PA_LIMITS, C2paVerdict, check_c2pa
from workstation.custody import CustodyLog, Entry
from workstation.proofmode import ProofModeVerdict, check_proofmode, is_proof_material
from workstation.sandbox import Sandbox, SandboxLimits
from workstation.store import EvidenceStore

ACTION = "provenance"
# What a person reads for each verdict.
LABELS = {"valid": "valid", "invalid": "INVALID", "absent": "absent",
          "unchecked": "could not be checked"}

# Each file a source uploads is its own submission on the server (its own uuid and time), so
# the files of one sitting are those of the same source received this close together.
SITTING = timedelta(hours=1)

ItemsOfSource = Callable[[str], Sequence[Item]]


@dataclass(frozen=True)
class Provenance:
    item_id: str
    c2pa: dict[str, Any]
    proofmode: dict[str, Any]
    custody_seq: int | None = None

    def summary(self) -> dict[str, Any]:
        return {"item": self.item_id, "custody_seq": self.custody_seq, "c2pa": self.c2pa,
                "proofmode": self.proofmode}


def record_provenance(store: EvidenceStore, item: Item, sandbox: Sandbox, custody: CustodyLog,
                      actor: str, siblings: Sequence[Item],
                      limits: SandboxLimits = C2PA_LIMITS) -> Provenance:
    """Check the item's content credentials and log the verdicts (messages have none)."""
    c2pa: C2paVerdict = check_c2pa(store, item, sandbox, limits)
    proofmode: ProofModeVerdict = check_proofmode(store, item, siblings, sandbox)
    details = {"c2pa": c2pa.as_entry(), "proofmode": proofmode.as_entry()}
    entry = custody.append(actor, ACTION, item.item_id, item.sha256, details)
    return Provenance(item.item_id, details["c2pa"], details["proofmode"], int(entry["seq"]))


def _received(item: Item) -> list[datetime]:
    times = []
    for sub in item.submissions:
        stated = (sub.receipt or {}).get("received_at")
        try:
            times.append(datetime.fromisoformat(str(stated)) if stated
                         else datetime.fromisoformat(f"{sub.received_on}T12:00:00+00:00"))
        except ValueError:
            continue
    return times


def sent_together(item: Item, items_of_source: ItemsOfSource) -> list[Item]:
    """The other items the same source sent in the same sitting (within `SITTING`)."""
    mine = _received(item)
    found: dict[str, Item] = {}
    for source_uuid in sorted({sub.source_uuid for sub in item.submissions}):
        for other in items_of_source(source_uuid):
            if other.item_id == item.item_id:
                continue
            if any(abs(a - b) <= SITTING for a in mine for b in _received(other)):
                found[other.item_id] = other
    return [found[item_id] for item_id in sorted(found)]


def record_imported_provenance(store: EvidenceStore, item_ids: list[str], sandbox: Sandbox,
                               custody: CustodyLog, actor: str,
                               items_of_source: ItemsOfSource) -> list[Provenance]:
    """The import's provenance step: one entry per new file item, each written on its own.

    Proof files that arrive in a later bundle than their media (a sitting can span two
    downloads) have the earlier media of their sitting checked again, so its verdict uses them.
    """
    recorded = []
    new = set(item_ids)
    again: dict[str, Item] = {}
    for item_id in item_ids:
        item = find_item(store, item_id)
        if item.kind != "file":
            continue
        siblings = sent_together(item, items_of_source)
        recorded.append(record_provenance(store, item, sandbox, custody, actor, siblings))
        if is_proof_material(item.original_name or ""):
            again.update({other.item_id: other for other in siblings
                          if other.kind == "file" and other.item_id not in new
                          and not is_proof_material(other.original_name or "")})
    for item_id in sorted(again):
        item = again[item_id]
        recorded.append(record_provenance(store, item, sandbox, custody, actor,
                                          sent_together(item, items_of_source)))
    return recorded


def latest_provenance(entries: Iterable[Entry], item_id: str) -> Provenance | None:
    """The item's latest `provenance` entry, as recorded."""
    found = None
    for entry in entries:
        if entry.get("item") == item_id and entry.get("action") == ACTION:
            details = entry.get("details") or {}
            found = Provenance(item_id, dict(details.get("c2pa") or {}),
                               dict(details.get("proofmode") or {}), int(entry["seq"]))
    return found
