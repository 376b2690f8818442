"""Consent: which destinations a source allowed, as of their latest consent record.

A consent record (`formats.consent`; docs/handover-format.md, "Consent records") arrives either
as the `consent` object inside a receipt or as the plaintext of a bundle item of kind `consent`.
Unlike the server, the workstation must decide something for every record it holds, so it reads
them leniently here, with the shared vocabulary but not the strict parser. The latest record
of a source (by `recorded_at`) decides; a record that cannot be read counts as the most
protective choice (this platform only) rather than being skipped, so a malformed withdrawal never
revives an older, broader consent. A source with no record at all has consented to nothing
beyond this platform.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from formats.consent import CONSENT_FORMAT, DESTINATION_ORDER, Destination

PLATFORM = Destination.PLATFORM.value
DESTINATIONS = tuple(d.value for d in DESTINATION_ORDER)


@dataclass(frozen=True)
class StoredConsent:
    source_uuid: str
    recorded_at: str
    destinations: frozenset[str]
    origin: str
    document: Any
    problem: str | None = None

    def covers(self, destination: str) -> bool:
        return destination in self.destinations

    def summary(self) -> dict[str, Any]:
        return {
            "source_recorded_at": self.recorded_at,
            "destinations": sorted(self.destinations),
            "origin": self.origin,
            "problem": self.problem,
            "record": self.document,
        }


def read_consent(
    document: Any, source_uuid: str, origin: str, fallback_time: str
) -> StoredConsent:
    """Read a consent document; anything unreadable becomes "this platform only"."""
    problem: str | None = None
    destinations: set[str] = {PLATFORM}
    recorded_at = fallback_time
    if not isinstance(document, dict):
        problem = "not a JSON object"
    else:
        if document.get("format", CONSENT_FORMAT) != CONSENT_FORMAT:
            problem = f"format {document.get('format')!r} is not {CONSENT_FORMAT}"
        raw_time = document.get("recorded_at", fallback_time)
        if isinstance(raw_time, str) and raw_time:
            recorded_at = raw_time
        raw = document.get("destinations")
        if problem is None:
            if not isinstance(raw, list) or not all(isinstance(d, str) for d in raw):
                problem = "destinations is not a list of names"
            else:
                unknown = sorted(set(raw) - set(DESTINATIONS))
                if unknown:
                    problem = f"unknown destinations {unknown} ignored"
                destinations |= set(raw) & set(DESTINATIONS)
    return StoredConsent(
        source_uuid=source_uuid,
        recorded_at=recorded_at,
        destinations=frozenset(destinations),
        origin=origin,
        document=document,
        problem=problem,
    )


def latest_consent(records: Iterable[StoredConsent]) -> StoredConsent | None:
    ordered = sorted(records, key=lambda record: (record.recorded_at, record.origin))
    return ordered[-1] if ordered else None
