"""The timeline: incidents in the order they happened, each with its items.

`build_timeline` puts the incidents in `workstation.incident.timeline_order` (by date, undated
last) and describes each linked item the way an investigator reads a timeline: its kind, the
sources that sent it (their designations, never more), when it was captured according to its
signed metadata summary, and when it was received. An item deleted since it was linked stays
listed as deleted, so the incident's record does not silently shrink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from workstation.catalogue import Item
from workstation.custody import Entry
from workstation.incident import Incident, timeline_order
from workstation.incident_proposal import metadata_summary, read_capture_time


@dataclass(frozen=True)
class TimelineItem:
    item_id: str
    name: str
    kind: str
    sources: tuple[str, ...]
    capture_time: str | None
    received_on: str
    present: bool = True

    def summary(self) -> dict[str, Any]:
        return {"id": self.item_id, "name": self.name, "kind": self.kind,
                "sources": list(self.sources), "capture_time": self.capture_time,
                "received_on": self.received_on, "present": self.present}


@dataclass(frozen=True)
class TimelineEntry:
    incident: Incident
    items: tuple[TimelineItem, ...]

    def summary(self) -> dict[str, Any]:
        return {**self.incident.summary(), "items": [item.summary() for item in self.items]}


def describe_item(item_id: str, item: Item | None, entries: list[Entry]) -> TimelineItem:
    if item is None:
        return TimelineItem(item_id, f"deleted item {item_id[:12]}", "deleted", (), None, "",
                            present=False)
    return TimelineItem(
        item_id=item.item_id,
        name=item.display_name,
        kind=item.kind,
        sources=tuple(sorted({sub.source_designation for sub in item.submissions})),
        capture_time=read_capture_time(metadata_summary(entries, item.item_id)),
        received_on=min((sub.received_on for sub in item.submissions), default=""),
    )


def build_timeline(incidents: Iterable[Incident], load: Callable[[str], Item | None],
                   entries: list[Entry]) -> list[TimelineEntry]:
    """The incidents in timeline order; within each, items by capture time, then receipt."""
    timeline = []
    for incident in timeline_order(incidents):
        items = [describe_item(item_id, load(item_id), entries)
                 for item_id in incident.item_ids]
        # Items without a capture time follow those with one, by when they were received.
        items.sort(key=lambda i: (i.capture_time is None, i.capture_time or "",
                                  i.received_on, i.item_id))
        timeline.append(TimelineEntry(incident, tuple(items)))
    return timeline
