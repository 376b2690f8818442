"""Incidents: items from different sources linked as one event, with when, where and what.

An incident has a title, a date or a date range (`IncidentDate`: days or months, from–to), a
place (free text and, optionally, a position), violation types from `VIOLATION_TYPES` and notes.
Every change is one signed `incident` entry in the custody log naming who made it; its
`details.change` says which:

- `created`: `details.fields` is the whole record; `item` is null;
- `edited`: `details.fields` is the whole record after the change, `details.changed` names the
  fields that changed; `item` is null;
- `linked` / `unlinked`: `item` is the item put into or taken out of the incident (with the
  person's reason for taking it out).

Nothing else holds incidents: `incidents_from` replays the log, so the log stays the only truth,
a crash leaves nothing to rebuild, and an edited entry fails `custody verify` like any other.

What a person typed arrives as text (`read_fields`), is checked whole, and a refusal
(`IncidentRefused`) names every field at fault before anything is signed; an unknown item is
refused (`ItemNotFound`) before anything is signed too. Values proposed from the items' intake
answers and metadata (`workstation.incident_proposal`) pass through the same reader, and only
once a person has seen and submitted them.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from formats.errors import FieldProblem
from formats.intake import MIN_YEAR, Violation, clean_text
from workstation.catalogue import Item
from workstation.custody import CustodyLog, Entry
from workstation.errors import IncidentNotFound, IncidentRefused

ACTION = "incident"
CREATED, EDITED, LINKED, UNLINKED = "created", "edited", "linked", "unlinked"
DAY, MONTH = "day", "month"
# The intake form's answers (formats.intake.Violation) first, in its order and spelling, so an
# answer can be proposed as it is; then what investigators add that a source is not asked.
VIOLATION_TYPES: tuple[str, ...] = (
    Violation.ARBITRARY_DETENTION.value,
    Violation.TORTURE.value,
    Violation.SEXUAL_VIOLENCE.value,
    Violation.ENFORCED_DISAPPEARANCE.value,
    "unfair_trial",
    "persecution_for_expression_or_assembly",
    "property_seizure",
    Violation.OTHER.value,
)
VIOLATION_LABELS: Mapping[str, str] = {
    "arbitrary_detention": "arbitrary detention",
    "torture_or_ill_treatment": "torture or ill-treatment",
    "sexual_or_gender_based_violence": "sexual or gender-based violence",
    "enforced_disappearance": "enforced disappearance",
    "unfair_trial": "unfair trial",
    "persecution_for_expression_or_assembly": "persecution for expression or assembly",
    "property_seizure": "property seizure",
    "other": "other",
}
TITLE_LIMIT = 200
PLACE_LIMIT = 200
NOTES_LIMIT = 20_000
REASON_LIMIT = 1_000
MIN_PREFIX = 6
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
_PROBLEM_TEXT = {
    "invalid_characters": "control or direction-changing characters in the {label}",
    "too_long": "more than {limit} characters in the {label}",
}


@dataclass(frozen=True)
class IncidentDate:
    """One day or month (`start`), or a range of them; both ends have the same precision."""

    start: str
    end: str | None
    precision: str

    def as_json(self) -> dict[str, Any]:
        return {"from": self.start, "to": self.end, "precision": self.precision}

    def describe(self) -> str:
        return self.start if self.end is None else f"{self.start} – {self.end}"

    @property
    def sort_key(self) -> tuple[str, str]:
        # A month sorts at its first day, so "2020-08" comes before "2020-08-09".
        def day(value: str) -> str:
            return value if self.precision == DAY else f"{value}-01"
        return day(self.start), day(self.end or self.start)


@dataclass(frozen=True)
class Place:
    text: str | None
    latitude: float | None = None
    longitude: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "latitude": self.latitude, "longitude": self.longitude}

    def describe(self) -> str:
        parts = [self.text] if self.text else []
        if self.latitude is not None and self.longitude is not None:
            parts.append(f"{self.latitude:.6f}, {self.longitude:.6f}")
        return " · ".join(parts)


@dataclass(frozen=True)
class IncidentFields:
    """What a person says about an incident; everything but the title may be left empty."""

    title: str
    date: IncidentDate | None = None
    place: Place | None = None
    violations: tuple[str, ...] = ()
    notes: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "date": None if self.date is None else self.date.as_json(),
            "place": None if self.place is None else self.place.as_json(),
            "violations": list(self.violations),
            "notes": self.notes,
        }

    def changed_from(self, other: IncidentFields) -> list[str]:
        mine, theirs = self.as_json(), other.as_json()
        return [name for name in mine if mine[name] != theirs[name]]


@dataclass(frozen=True)
class LinkedItem:
    item_id: str
    actor: str
    time: str
    seq: int


@dataclass(frozen=True)
class IncidentChange:
    """One custody entry of the incident, as its history shows it."""

    seq: int
    time: str
    actor: str
    change: str
    entry_hash: str
    item: str | None = None
    changed: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Incident:
    incident_id: str
    fields: IncidentFields
    created_by: str
    created_at: str
    created_seq: int
    items: tuple[LinkedItem, ...] = ()
    history: tuple[IncidentChange, ...] = field(default_factory=tuple)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(link.item_id for link in self.items)

    @property
    def title(self) -> str:
        return self.fields.title

    def summary(self, item_ids: Iterable[str] | None = None) -> dict[str, Any]:
        """The incident as JSON; with `item_ids`, only those of its items are listed."""
        shown = None if item_ids is None else set(item_ids)
        return {
            "id": self.incident_id,
            **self.fields.as_json(),
            "created_by": self.created_by,
            "created_at": self.created_at,
            "items": [
                {"id": link.item_id, "linked_by": link.actor, "linked_at": link.time,
                 "seq": link.seq}
                for link in self.items if shown is None or link.item_id in shown
            ],
        }


# Reading what a person typed ----------------------------------------------------------------


def _parse_point(label: str, raw: str, problems: list[str]) -> tuple[str, str] | None:
    text = raw.strip()
    if _DAY.fullmatch(text):
        try:
            when = date.fromisoformat(text)
        except ValueError:
            problems.append(f"{label} {text!r} is not a day of the calendar")
            return None
        precision = DAY
        year = when.year
    elif found := _MONTH.fullmatch(text):
        year, month = int(found.group(1)), int(found.group(2))
        if not 1 <= month <= 12:
            problems.append(f"{label} {text!r} has no month {month}")
            return None
        precision = MONTH
    else:
        problems.append(f"{label} {text[:40]!r} is neither a day (2020-08-09) nor a month"
                        " (2020-08)")
        return None
    today = datetime.now(UTC).date().isoformat()
    if year < MIN_YEAR or text > today[:len(text)]:
        problems.append(f"{label} {text} is outside {MIN_YEAR} to today")
        return None
    return text, precision


def read_date(date_from: str, date_to: str, problems: list[str]) -> IncidentDate | None:
    """A day, a month or a range of either; an end before the start is refused."""
    if not date_from.strip():
        if date_to.strip():
            problems.append("the date range has an end but no start; give the start (from)")
        return None
    start = _parse_point("the date", date_from, problems)
    if not date_to.strip():
        return None if start is None else IncidentDate(start[0], None, start[1])
    end = _parse_point("the end of the date range", date_to, problems)
    if start is None or end is None:
        return None
    if start[1] != end[1]:
        problems.append(f"the date range mixes a {start[1]} ({start[0]}) and a {end[1]}"
                        f" ({end[0]}); give both as days or both as months")
        return None
    if end[0] < start[0]:
        problems.append(f"the date range ends ({end[0]}) before it starts ({start[0]})")
        return None
    return IncidentDate(start[0], None if end[0] == start[0] else end[0], start[1])


def _read_text(label: str, raw: str, limit: int, problems: list[str],
               one_line: bool = False) -> str | None:
    found: list[FieldProblem] = []
    text = clean_text(label, raw, limit, found)
    for problem in found:
        template = _PROBLEM_TEXT.get(problem.code, "the {label} cannot be used")
        problems.append(template.format(label=label, limit=limit))
    if one_line and text is not None and ("\n" in text or "\t" in text):
        problems.append(f"the {label} must be one line (put more in the notes)")
        return None
    return text


def _read_coordinate(label: str, raw: str, bound: float, problems: list[str]) -> float | None:
    text = raw.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(f"the {label} {text[:40]!r} is not a number (decimal degrees,"
                        " e.g. 53.9)")
        return None
    if not math.isfinite(value) or not -bound <= value <= bound:
        problems.append(f"the {label} {text[:40]} is outside -{bound:g} to {bound:g}")
        return None
    return round(value, 7)


def read_violations(values: Iterable[str], problems: list[str]) -> tuple[str, ...]:
    chosen = {value.strip() for value in values if value.strip()}
    unknown = sorted(chosen - set(VIOLATION_TYPES))
    if unknown:
        problems.append(
            f"unknown violation type {', '.join(repr(v[:60]) for v in unknown)}; use one of:"
            f" {', '.join(VIOLATION_TYPES)}"
        )
    return tuple(v for v in VIOLATION_TYPES if v in chosen)


def read_fields(
    *,
    title: str,
    date_from: str = "",
    date_to: str = "",
    place: str = "",
    latitude: str = "",
    longitude: str = "",
    violations: Iterable[str] = (),
    notes: str = "",
) -> IncidentFields:
    """The fields from what a person typed, or `IncidentRefused` naming every problem."""
    problems: list[str] = []
    clean_title = _read_text("title", title, TITLE_LIMIT, problems, one_line=True)
    if clean_title is None and not problems:
        problems.append("an incident needs a title (a few words that name it)")
    when = read_date(date_from, date_to, problems)
    place_text = _read_text("place", place, PLACE_LIMIT, problems, one_line=True)
    lat = _read_coordinate("latitude", latitude, 90, problems)
    lon = _read_coordinate("longitude", longitude, 180, problems)
    if bool(latitude.strip()) != bool(longitude.strip()):
        problems.append("give both latitude and longitude, or neither")
    chosen = read_violations(violations, problems)
    clean_notes = _read_text("notes", notes, NOTES_LIMIT, problems) or ""
    if problems:
        raise IncidentRefused("the incident was not recorded: " + "; ".join(problems))
    assert clean_title is not None
    where = None
    if place_text is not None or lat is not None:
        where = Place(place_text, lat, lon)
    return IncidentFields(clean_title, when, where, chosen, clean_notes)


def fields_from_json(data: Any) -> IncidentFields:
    """The fields as a signed entry carries them (written by `as_json`)."""
    data = data if isinstance(data, dict) else {}
    raw_date = data.get("date")
    when = None
    if isinstance(raw_date, dict) and isinstance(raw_date.get("from"), str):
        end = raw_date.get("to")
        when = IncidentDate(raw_date["from"], end if isinstance(end, str) else None,
                            str(raw_date.get("precision") or DAY))
    raw_place = data.get("place")
    where = None
    if isinstance(raw_place, dict):
        lat, lon = raw_place.get("latitude"), raw_place.get("longitude")
        text = raw_place.get("text")
        where = Place(text if isinstance(text, str) else None,
                      float(lat) if isinstance(lat, int | float) else None,
                      float(lon) if isinstance(lon, int | float) else None)
    violations = data.get("violations")
    return IncidentFields(
        title=str(data.get("title") or ""),
        date=when,
        place=where,
        violations=tuple(str(v) for v in violations) if isinstance(violations, list) else (),
        notes=str(data.get("notes") or ""),
    )


# Replaying the log ----------------------------------------------------------------------------


@dataclass
class _Replay:
    """An incident while its entries are being replayed (frozen into an `Incident` after)."""

    fields: IncidentFields
    created: IncidentChange
    items: dict[str, LinkedItem]
    history: list[IncidentChange]


def incidents_from(entries: Iterable[Entry]) -> dict[str, Incident]:
    """Every incident the log records, in the order they were created."""
    found: dict[str, _Replay] = {}
    for entry in entries:
        if entry.get("action") != ACTION:
            continue
        details = entry.get("details") or {}
        incident_id = str(details.get("incident"))
        change = str(details.get("change"))
        step = IncidentChange(
            seq=int(entry["seq"]), time=str(entry["time"]), actor=str(entry["actor"]),
            change=change, entry_hash=str(entry["hash"]), item=entry.get("item"),
            changed=tuple(str(n) for n in details.get("changed") or ()),
            reason=str(details.get("reason") or ""),
        )
        if change == CREATED:
            found[incident_id] = _Replay(fields_from_json(details.get("fields")), step, {},
                                         [step])
            continue
        current = found.get(incident_id)
        if current is None:
            continue
        current.history.append(step)
        if change == EDITED:
            current.fields = fields_from_json(details.get("fields"))
        elif change == LINKED and step.item and step.item not in current.items:
            current.items[step.item] = LinkedItem(step.item, step.actor, step.time, step.seq)
        elif change == UNLINKED and step.item:
            current.items.pop(step.item, None)
    return {
        incident_id: Incident(incident_id, r.fields, r.created.actor, r.created.time,
                              r.created.seq, tuple(r.items.values()), tuple(r.history))
        for incident_id, r in found.items()
    }


def timeline_order(incidents: Iterable[Incident]) -> list[Incident]:
    """Dated incidents by their start (then end, then title); undated ones last, oldest first."""
    dated = [i for i in incidents if i.fields.date is not None]
    undated = [i for i in incidents if i.fields.date is None]
    dated.sort(key=lambda i: (*i.fields.date.sort_key,  # type: ignore[union-attr]
                              i.title.casefold(), i.created_seq))
    undated.sort(key=lambda i: i.created_seq)
    return dated + undated


def find_incident(incidents: Mapping[str, Incident], reference: str) -> Incident:
    """An incident by its id or a unique prefix of it (at least `MIN_PREFIX` characters)."""
    wanted = reference.strip().lower()
    if wanted in incidents:
        return incidents[wanted]
    matches = [i for key, i in incidents.items()
               if len(wanted) >= MIN_PREFIX and key.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise IncidentNotFound(reference[:80], f"{len(matches)} incidents match")
    raise IncidentNotFound(reference[:80])


# Recording changes ----------------------------------------------------------------------------


def _check_actor(actor: str) -> None:
    if not actor.strip():
        raise IncidentRefused("an incident change needs the name of who makes it (--actor)")


def _unique(items: Sequence[Item]) -> list[Item]:
    seen: dict[str, Item] = {}
    for item in items:
        seen.setdefault(item.item_id, item)
    return list(seen.values())


def create_incident(custody: CustodyLog, actor: str, fields: IncidentFields,
                    items: Sequence[Item] = ()) -> str:
    """Sign the `created` entry and one `linked` entry per item, written in one go; the id."""
    _check_actor(actor)
    incident_id = str(uuid.uuid4())
    custody.commit(custody.prepare(actor, [
        (ACTION, None, None, {"incident": incident_id, "change": CREATED,
                              "fields": fields.as_json()}),
        *((ACTION, item.item_id, item.sha256, {"incident": incident_id, "change": LINKED})
          for item in _unique(items)),
    ]))
    return incident_id


def edit_incident(custody: CustodyLog, actor: str, incident: Incident,
                  fields: IncidentFields) -> Entry | None:
    """Sign an `edited` entry with the whole new record, or nothing if nothing changed."""
    _check_actor(actor)
    changed = fields.changed_from(incident.fields)
    if not changed:
        return None
    return custody.append(actor, ACTION, None, None, {
        "incident": incident.incident_id, "change": EDITED, "fields": fields.as_json(),
        "changed": changed,
    })


def link_items(custody: CustodyLog, actor: str, incident: Incident,
               items: Sequence[Item]) -> list[Entry]:
    """A `linked` entry for each item not yet in the incident; refused if none is new."""
    _check_actor(actor)
    new = [item for item in _unique(items) if item.item_id not in incident.item_ids]
    if not new:
        raise IncidentRefused(
            f"{'this item is' if len(items) == 1 else 'these items are'} already in the incident"
            f" {incident.title!r}; nothing was recorded"
        )
    entries = custody.prepare(actor, [
        (ACTION, item.item_id, item.sha256, {"incident": incident.incident_id, "change": LINKED})
        for item in new
    ])
    custody.commit(entries)
    return entries


def unlink_items(custody: CustodyLog, actor: str, incident: Incident, items: Sequence[Item],
                 reason: str) -> list[Entry]:
    """An `unlinked` entry per item, with the person's reason; refused for an item not in it."""
    _check_actor(actor)
    problems: list[str] = []
    why = _read_text("reason", reason, REASON_LIMIT, problems)
    if problems:
        raise IncidentRefused("nothing was taken out of the incident: " + "; ".join(problems))
    if why is None:
        raise IncidentRefused("say why the item is taken out of the incident; the custody log"
                              " keeps the reason")
    outside = [item for item in items if item.item_id not in incident.item_ids]
    if outside:
        raise IncidentRefused(
            f"item {outside[0].item_id[:16]} is not in the incident {incident.title!r};"
            " nothing was taken out"
        )
    entries = custody.prepare(actor, [
        (ACTION, item.item_id, item.sha256,
         {"incident": incident.incident_id, "change": UNLINKED, "reason": why})
        for item in _unique(items)
    ])
    custody.commit(entries)
    return entries
