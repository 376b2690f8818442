"""Proposing an incident's date, place and violation types from the items it is made of.

Flow: for each chosen item, the intake answers of each of its submissions (`skrynka-intake`,
read strictly with `formats.intake`) and the signed summary of its embedded metadata (the
item's latest `metadata` custody entry, written by `workstation.metadata_record`) are read:

- date: the capture days in the metadata, as a range of days; without any, the months the
  sources named, as a range of months (a year alone stands for its twelve months);
- place: the sources' own words for where, and a region they picked when they wrote none; the
  position from the first GPS record (the others, if they differ, are named in the reasons);
- violation types: every type the sources named, in the vocabulary's order.

A `Proposal` is text for a form, with the reasons for each value; it records nothing. A person
sees it, changes what is wrong and submits it through `workstation.incident.read_fields`, like
anything typed. Intake answers that cannot be read and metadata values that are not a date or a
position are skipped and named in the reasons: they come from the source's device and files,
which may be hostile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from formats.errors import InvalidIntake
from formats.intake import Intake, parse_intake_document
from workstation.catalogue import Item
from workstation.custody import Entry
from workstation.incident import PLACE_LIMIT, TITLE_LIMIT, VIOLATION_TYPES
from workstation.metadata_record import latest_metadata_entry

# exiftool -n prints dates as "YYYY:MM:DD HH:MM:SS" with optional fractions and offset.
_CAPTURE = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?",
                      re.ASCII)
REGION_NAMES: Mapping[str, str] = {
    "brest": "Brest region", "vitebsk": "Vitebsk region", "gomel": "Gomel region",
    "grodno": "Grodno region", "minsk_region": "Minsk region", "mogilev": "Mogilev region",
    "minsk_city": "Minsk",
}
NAME_LIMIT = 60


# Why a value was proposed, in English with `%(name)s` slots; the desk has its own translation
# of each code, so a reason reads in the officer's language.
REASON_TEXTS: Mapping[str, str] = {
    "intake_unreadable": "the intake answers sent with %(item)s cannot be read and were not used",
    "date_from_metadata": "date: capture time in the embedded metadata of %(items)s",
    "date_disagrees": "check the date: the sources' answers name %(months)s, not the month the"
                      " metadata gives",
    "date_from_intake": "date: the month the sources named in their intake answers",
    "place_from_intake": "place: the sources' intake answers",
    "place_from_region": "place: the region the sources picked in their intake answers",
    "position_from_metadata": "position: GPS in the embedded metadata of %(item)s",
    "other_positions": "other GPS positions, not proposed, in %(items)s",
    "violations_from_intake": "violation types: those the sources named in their intake answers",
}


@dataclass(frozen=True)
class Reason:
    """One reason: a code of `REASON_TEXTS` and the values of its slots."""

    code: str
    values: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        return REASON_TEXTS[self.code] % dict(self.values)


def _reason(code: str, **values: str) -> Reason:
    return Reason(code, tuple(sorted(values.items())))


@dataclass(frozen=True)
class Proposal:
    """Form values (text, as a person would type them) and why each was proposed."""

    title: str = ""
    date_from: str = ""
    date_to: str = ""
    place: str = ""
    latitude: str = ""
    longitude: str = ""
    violations: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    notes: str = ""  # never proposed; the desk's forms carry typed notes in the same shape


def read_capture_time(summary: Any) -> str | None:
    """The capture time of a metadata summary as "YYYY-MM-DD[ HH:MM[:SS]]", or None."""
    if not isinstance(summary, dict):
        return None
    capture = summary.get("capture_time")
    value = capture.get("value") if isinstance(capture, dict) else None
    found = _CAPTURE.match(value) if isinstance(value, str) else None
    if found is None:
        return None
    year, month, day, hour, minute, second = found.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return None  # "0000:00:00 00:00:00" and its kin: a camera without a clock
    text = f"{year}-{month}-{day}"
    if hour is not None and int(hour) < 24 and int(minute) < 60:
        text += f" {hour}:{minute}" + (f":{second}" if second else "")
    return text


def metadata_summary(entries: list[Entry], item_id: str) -> dict[str, Any] | None:
    entry = latest_metadata_entry(entries, item_id)
    if entry is None:
        return None
    summary = (entry.get("details") or {}).get("summary")
    return summary if isinstance(summary, dict) else None


def _position(summary: dict[str, Any]) -> tuple[float, float] | None:
    gps = summary.get("gps")
    if not isinstance(gps, dict):
        return None
    lat, lon = gps.get("latitude"), gps.get("longitude")
    if (isinstance(lat, bool) or isinstance(lon, bool)
            or not isinstance(lat, int | float) or not isinstance(lon, int | float)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None  # 0,0 is where a device without a fix says it is
    return float(lat), float(lon)


def _name(item: Item) -> str:
    name = item.display_name
    return name if len(name) <= NAME_LIMIT else name[:NAME_LIMIT] + "…"


def _intakes(item: Item, reasons: list[Reason]) -> list[Intake]:
    found = []
    for sub in item.submissions:
        if sub.intake is None:
            continue
        try:
            found.append(parse_intake_document(sub.intake))
        except InvalidIntake:
            reasons.append(_reason("intake_unreadable", item=_name(item)))
    return found


def _intake_months(intake: Intake) -> list[str]:
    if intake.when_year is None:
        return []
    if intake.when_month is None:
        return [f"{intake.when_year:04d}-01", f"{intake.when_year:04d}-12"]
    return [f"{intake.when_year:04d}-{intake.when_month:02d}"]


def propose_incident(items: Sequence[Item], entries: list[Entry],
                     region_names: Mapping[str, str] = REGION_NAMES) -> Proposal:
    """What the items' intake answers and metadata suggest; nothing is recorded. A region the
    sources picked is named with `region_names` (the desk passes them in the officer's
    language, since the place is text the officer reads and may keep)."""
    reasons: list[Reason] = []
    days: list[tuple[str, str]] = []
    months: list[str] = []
    places: list[str] = []
    regions: list[str] = []
    positions: list[tuple[tuple[float, float], str]] = []
    violations: set[str] = set()
    for item in items:
        for intake in _intakes(item, reasons):
            violations.update(v.value for v in intake.violations)
            months += _intake_months(intake)
            # A source may write several lines; a place is one line of the form.
            where = " ".join((intake.where_text or "").split())
            if where and where not in places:
                places.append(where)
            if intake.region is not None and intake.region.value not in regions:
                regions.append(intake.region.value)
        summary = metadata_summary(entries, item.item_id)
        if summary is None:
            continue
        captured = read_capture_time(summary)
        if captured is not None:
            days.append((captured[:10], f"{_name(item)} ({captured})"))
        position = _position(summary)
        if position is not None:
            positions.append((position, _name(item)))

    date_from = date_to = ""
    if days:
        first, last = min(d for d, _ in days), max(d for d, _ in days)
        date_from, date_to = first, "" if last == first else last
        reasons.append(_reason("date_from_metadata",
                               items=", ".join(where for _, where in days)))
        if months and not any(min(months) <= d[:7] <= max(months) for d, _ in days):
            named = min(months) if min(months) == max(months) else (
                f"{min(months)} – {max(months)}")
            reasons.append(_reason("date_disagrees", months=named))
    elif months:
        date_from = min(months)
        date_to = "" if max(months) == date_from else max(months)
        reasons.append(_reason("date_from_intake"))

    place = ("; ".join(places) if places else "; ".join(region_names[r] for r in regions)
             )[:PLACE_LIMIT]
    if place:
        reasons.append(_reason("place_from_intake" if places else "place_from_region"))
    latitude = longitude = ""
    if positions:
        (lat, lon), where = positions[0]
        latitude, longitude = f"{lat:.6f}", f"{lon:.6f}"
        others = sorted({name for (pos, name) in positions[1:] if pos != (lat, lon)})
        reasons.append(_reason("position_from_metadata", item=where))
        if others:
            reasons.append(_reason("other_positions", items=", ".join(others)))
    chosen = tuple(v for v in VIOLATION_TYPES if v in violations)
    if chosen:
        reasons.append(_reason("violations_from_intake"))
    title = place.split(";")[0].strip()[:TITLE_LIMIT]
    if title and date_from:
        title = f"{title}, {date_from}"[:TITLE_LIMIT]
    return Proposal(title, date_from, date_to, place, latitude, longitude, chosen,
                    tuple(reasons))
