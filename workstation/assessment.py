"""Assessments: what investigators concluded about an item, signed by who concluded it.

An assessment has a status (`STATUSES`), grounds kept apart as the Berkeley Protocol separates
them (source analysis, content analysis, technical analysis; `GROUNDS`) and a free note. Each
change is one `assess` entry in the custody log naming its actor; a second person's agreement is
its own `confirm` entry naming the `assess` entry it confirms by hash. There is no other record:
`assessment_of` replays the item's custody entries, so the log stays the only truth and nothing
needs rebuilding after a crash.

"Corroborated" counts only once confirmed by someone other than its author: until then
`Assessment.effective_status` says it awaits confirmation. `confirm_assessment` refuses (with
`AssessmentRefused`, nothing written) when there is nothing to confirm, when it was confirmed
already, and when the confirming actor is the one who made the assessment. Invalid status or
grounds are refused the same way before anything is signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workstation.catalogue import Item
from workstation.custody import CustodyLog, Entry
from workstation.errors import AssessmentRefused, OwnAssessmentNotConfirmable

STATUSES = ("unreviewed", "in review", "corroborated", "unverified", "doubtful", "rejected")
NEEDS_CONFIRMATION = frozenset({"corroborated"})
GROUNDS = ("source", "content", "technical")
ASSESS = "assess"
CONFIRM = "confirm"
MAX_TEXT = 20_000


@dataclass(frozen=True)
class Confirmation:
    actor: str
    time: str
    seq: int


@dataclass(frozen=True)
class Assessment:
    """One `assess` entry and the confirmation it received, if any."""

    status: str
    grounds: dict[str, str]
    note: str
    actor: str
    time: str
    seq: int
    entry_hash: str
    confirmation: Confirmation | None = None

    @property
    def effective_status(self) -> str:
        if self.status in NEEDS_CONFIRMATION and self.confirmation is None:
            return f"{self.status} (awaiting a second person's confirmation)"
        return self.status

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "effective_status": self.effective_status,
            "grounds": dict(self.grounds),
            "note": self.note,
            "actor": self.actor,
            "time": self.time,
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "confirmed_by": None if self.confirmation is None else {
                "actor": self.confirmation.actor,
                "time": self.confirmation.time,
                "seq": self.confirmation.seq,
            },
        }


def same_person(first: str, second: str) -> bool:
    """Actor names compare without case or surrounding spaces: "Anna" cannot confirm "anna "."""
    return first.strip().casefold() == second.strip().casefold()


def assessment_history(entries: Iterable[Entry], item_id: str) -> list[Assessment]:
    """Every assessment of the item, oldest first, each with its confirmation."""
    history: list[Assessment] = []
    by_hash: dict[str, int] = {}
    for entry in entries:
        if entry.get("item") != item_id:
            continue
        details = entry.get("details") or {}
        if entry.get("action") == ASSESS:
            by_hash[str(entry["hash"])] = len(history)
            history.append(Assessment(
                status=str(details.get("status")),
                grounds={str(k): str(v) for k, v in dict(details.get("grounds") or {}).items()},
                note=str(details.get("note", "")),
                actor=str(entry["actor"]),
                time=str(entry["time"]),
                seq=int(entry["seq"]),
                entry_hash=str(entry["hash"]),
            ))
        elif entry.get("action") == CONFIRM:
            index = by_hash.get(str(details.get("confirms")))
            if index is not None and history[index].confirmation is None:
                old = history[index]
                history[index] = Assessment(
                    old.status, old.grounds, old.note, old.actor, old.time, old.seq,
                    old.entry_hash,
                    Confirmation(str(entry["actor"]), str(entry["time"]), int(entry["seq"])),
                )
    return history


def assessment_of(entries: Iterable[Entry], item_id: str) -> Assessment | None:
    """The item's current assessment (the latest), or None while it is unreviewed."""
    history = assessment_history(entries, item_id)
    return history[-1] if history else None


def _check_text(label: str, value: str) -> str:
    if len(value) > MAX_TEXT:
        raise AssessmentRefused(f"{label} is {len(value)} characters; keep it under {MAX_TEXT}")
    return value


def record_assessment(
    custody: CustodyLog,
    item: Item,
    actor: str,
    status: str,
    grounds: Mapping[str, str],
    note: str,
) -> Entry:
    """Append one signed `assess` entry; refuse an unknown status or kind of grounds."""
    if status not in STATUSES:
        raise AssessmentRefused(
            f"unknown status {status!r}; use one of: {', '.join(STATUSES)}"
        )
    unknown = sorted(set(grounds) - set(GROUNDS))
    if unknown:
        raise AssessmentRefused(
            f"unknown kind of grounds {', '.join(map(repr, unknown))}; use"
            f" {', '.join(GROUNDS)} (source, content and technical analysis)"
        )
    if not actor.strip():
        raise AssessmentRefused("an assessment needs the name of who makes it (--actor)")
    details = {
        "status": status,
        "grounds": {kind: _check_text(f"{kind} grounds", grounds[kind])
                    for kind in GROUNDS if grounds.get(kind)},
        "note": _check_text("the note", note),
    }
    return custody.append(actor, ASSESS, item.item_id, item.sha256, details)


def confirm_assessment(custody: CustodyLog, item: Item, actor: str) -> Entry:
    """Append a `confirm` entry for the item's latest assessment, made by someone else."""
    current = assessment_of(custody.entries(), item.item_id)
    if current is None:
        raise AssessmentRefused(
            f"item {item.item_id[:16]} has no assessment to confirm; record one with `assess`"
        )
    if current.confirmation is not None:
        raise AssessmentRefused(
            f"the latest assessment of {item.item_id[:16]} ({current.status}, by"
            f" {current.actor}) was already confirmed by {current.confirmation.actor}"
        )
    if same_person(current.actor, actor):
        raise OwnAssessmentNotConfirmable(actor, item.item_id)
    return custody.append(actor, CONFIRM, item.item_id, item.sha256, {
        "confirms": current.entry_hash, "confirms_seq": current.seq, "status": current.status,
    })
