"""The workstation's commands for incidents and the timeline: `incident …` and `timeline`.

They are registered on `skrynka-workstation`'s parser by `register_incident_commands`; each
handler gets the parsed arguments and the CLI's context (its service layer and actor) and calls
`WorkstationService`. `incident propose` prints what the items' intake answers and metadata
suggest and records nothing: the person then runs `incident create` with the values they
confirm, so no proposed value is recorded without being typed or pasted by someone. Everything
printed goes through `workstation.terminal.say`: titles and places are typed by people, but
proposals and item names come from what sources sent.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Callable
from typing import Any, Protocol

from workstation.incident import (
    VIOLATION_LABELS,
    VIOLATION_TYPES,
    Incident,
    IncidentFields,
    read_fields,
)
from workstation.service import WorkstationService
from workstation.terminal import escape_json_text, say, say_block


class Context(Protocol):
    actor: str
    service: WorkstationService


ContextOf = Callable[[argparse.Namespace], Context]
KEEP = None  # an option not given keeps the incident's current value when editing


def _fields_from_args(args: argparse.Namespace, base: IncidentFields | None) -> IncidentFields:
    """The fields given on the command line; with `base` (an edit), the rest stay as they are.

    An empty value clears a field (`--place ""`); a new `--date` without `--to` is one day or
    month, not the old range's end.
    """
    def given(name: str) -> str | None:
        value = getattr(args, name, KEEP)
        return None if value is KEEP else str(value)

    when = base.date if base else None
    place = base.place if base else None
    lat = lon = ""
    if place is not None and place.latitude is not None and place.longitude is not None:
        lat, lon = repr(place.latitude), repr(place.longitude)
    date_to = given("to")
    if date_to is None:
        date_to = "" if given("date") is not None or when is None else when.end or ""
    violations = args.violation if args.violation is not KEEP else (
        list(base.violations) if base else [])
    return read_fields(
        title=_pick(given("title"), base.title if base else ""),
        date_from=_pick(given("date"), when.start if when else ""),
        date_to=date_to,
        place=_pick(given("place"), (place.text or "") if place else ""),
        latitude=_pick(given("lat"), lat),
        longitude=_pick(given("lon"), lon),
        violations=violations,
        notes=_pick(given("notes"), base.notes if base else ""),
    )


def _pick(value: str | None, current: str) -> str:
    return current if value is None else value


def _print_incident(incident: Incident) -> None:
    fields = incident.fields
    say(f"incident  {incident.incident_id}")
    say(f"title     {fields.title}")
    say(f"date      {fields.date.describe() if fields.date else '(no date)'}"
        + (f" ({fields.date.precision}s)" if fields.date else ""))
    say(f"place     {fields.place.describe() if fields.place else '(no place)'}")
    say("violation " + (", ".join(VIOLATION_LABELS[v] for v in fields.violations
                                   if v in VIOLATION_LABELS) or "(none named)"))
    if fields.notes:
        say("notes:")
        say_block(fields.notes)
    say(f"created   {incident.created_at} by {incident.created_by}")


def command_incident(args: argparse.Namespace, context: Context) -> int:
    service = context.service
    command = args.incident_command
    if command == "propose":
        return _propose(service, args.items)
    if command == "create":
        incident = service.create_incident(_fields_from_args(args, None), args.items,
                                           context.actor)
        say(f"incident {incident.incident_id} created by {context.actor} with"
            f" {len(incident.items)} item(s)")
    elif command == "edit":
        current = service.incident(args.incident)
        incident, changed = service.edit_incident(
            current.incident_id, _fields_from_args(args, current.fields), context.actor)
        say(f"incident {incident.incident_id} "
            + ("changed" if changed else "unchanged: the values given are its current ones;"
               " nothing was recorded"))
    elif command == "link":
        incident = service.link_to_incident(args.incident, args.items, context.actor)
        say(f"incident {incident.incident_id} now holds {len(incident.items)} item(s)")
    elif command == "unlink":
        incident = service.unlink_from_incident(args.incident, args.items, args.reason,
                                                context.actor)
        say(f"incident {incident.incident_id} now holds {len(incident.items)} item(s)")
    else:
        incident = service.incident(args.incident)
        if args.json:
            print(escape_json_text(json.dumps(_incident_json(service, incident), indent=2,
                                              sort_keys=True, ensure_ascii=False)))
            return 0
        _print_incident(incident)
        detail = service.incident_detail(incident.incident_id)
        say(f"items ({len(detail.items)}):")
        for item in detail.items:
            _print_item(item.item_id, item.kind, item.capture_time, item.received_on,
                        item.sources, item.name)
        say("history:")
        for step in incident.history:
            say(f"  #{step.seq} {step.time} {step.actor} {step.change}"
                + (f" {step.item[:16]}" if step.item else "")
                + (f" ({', '.join(step.changed)})" if step.changed else "")
                + (f": {step.reason}" if step.reason else ""))
    return 0


def _incident_json(service: WorkstationService, incident: Incident) -> dict[str, Any]:
    found = service.incident_detail(incident.incident_id)
    return {
        **found.summary(),
        "history": [
            {"seq": s.seq, "time": s.time, "actor": s.actor, "change": s.change,
             "item": s.item, "changed": list(s.changed), "reason": s.reason,
             "hash": s.entry_hash}
            for s in incident.history
        ],
    }


def _propose(service: WorkstationService, items: list[str]) -> int:
    proposal = service.propose_incident(items)
    found = [service.find(item).item_id for item in items]
    say("proposed from the items' intake answers and embedded metadata (nothing recorded):")
    say(f"  title      {proposal.title or '-'}")
    say(f"  date       {proposal.date_from or '-'}"
        + (f" to {proposal.date_to}" if proposal.date_to else ""))
    say(f"  place      {proposal.place or '-'}")
    say(f"  position   {proposal.latitude}, {proposal.longitude}" if proposal.latitude
        else "  position   -")
    say(f"  violations {', '.join(proposal.violations) or '-'}")
    for reason in proposal.reasons:
        say(f"  why: {reason.text}")
    parts = ["skrynka-workstation", "incident", "create",
             "--title", proposal.title or "TITLE"]
    for option, value in (("--date", proposal.date_from), ("--to", proposal.date_to),
                          ("--place", proposal.place), ("--lat", proposal.latitude),
                          ("--lon", proposal.longitude)):
        if value:
            parts += [option, value]
    for violation in proposal.violations:
        parts += ["--violation", violation]
    say("check each value against the items, then record the incident with (edit as needed):")
    # Quoted for the shell: a source's words in the place cannot become a command.
    say("  " + shlex.join([*parts, *found]))
    return 0


def _print_item(item_id: str, kind: str, captured: str | None, received: str,
                sources: tuple[str, ...], name: str) -> None:
    say(f"  {item_id[:16]}  {kind:<7}  captured {captured or '-':<19}  received"
        f" {received or '-':<10}  from {', '.join(sources) or '-'}  {name}")


def command_timeline(args: argparse.Namespace, context: Context) -> int:
    timeline = context.service.timeline()
    if args.json:
        print(escape_json_text(json.dumps([entry.summary() for entry in timeline], indent=2,
                                          sort_keys=True, ensure_ascii=False)))
        return 0
    if not timeline:
        say("no incidents yet; `incident propose ITEM...` suggests one from items")
    for entry in timeline:
        fields = entry.incident.fields
        say(f"{fields.date.describe() if fields.date else '(undated)'}  {fields.title}"
            f"  [{entry.incident.incident_id[:8]}]")
        if fields.place:
            say(f"  place: {fields.place.describe()}")
        if fields.violations:
            say("  violations: " + ", ".join(VIOLATION_LABELS.get(v, v)
                                             for v in fields.violations))
        for item in entry.items:
            _print_item(item.item_id, item.kind, item.capture_time, item.received_on,
                        item.sources, item.name)
    return 0


def _add_field_options(parser: argparse.ArgumentParser, editing: bool) -> None:
    default = KEEP if editing else ""
    parser.add_argument("--title", required=not editing, default=KEEP if editing else None)
    parser.add_argument("--date", default=default, metavar="DAY|MONTH",
                        help="2020-08-09 (a day) or 2020-08 (a month); the start of a range")
    parser.add_argument("--to", default=default, metavar="DAY|MONTH",
                        help="the end of a date range, as precise as --date")
    parser.add_argument("--place", default=default, help="where, in words")
    parser.add_argument("--lat", default=default, help="latitude, decimal degrees")
    parser.add_argument("--lon", default=default, help="longitude, decimal degrees")
    parser.add_argument("--violation", action="append", default=KEEP if editing else [],
                        metavar="TYPE", help="one of: " + ", ".join(VIOLATION_TYPES)
                        + " (repeat for each" + ("; give none to keep them" if editing
                                                 else "") + ")")
    parser.add_argument("--notes", default=default)


def register_incident_commands(commands: Any, common: argparse.ArgumentParser,
                               context_of: ContextOf) -> None:
    def handler(function: Callable[[argparse.Namespace, Context], int]
                ) -> Callable[[argparse.Namespace], int]:
        return lambda args: function(args, context_of(args))

    incident = commands.add_parser(
        "incident", parents=[common],
        help="link items from different sources as one incident (signed custody entries)")
    sub = incident.add_subparsers(dest="incident_command", required=True)
    propose = sub.add_parser("propose", parents=[common],
                             help="suggest date, place and violations from items; records"
                             " nothing")
    propose.add_argument("items", nargs="+")
    create = sub.add_parser("create", parents=[common], help="record a new incident")
    _add_field_options(create, editing=False)
    create.add_argument("items", nargs="*", help="items to link to it")
    edit = sub.add_parser("edit", parents=[common],
                          help="change an incident's fields (options not given stay)")
    edit.add_argument("incident")
    _add_field_options(edit, editing=True)
    link = sub.add_parser("link", parents=[common], help="put items into an incident")
    link.add_argument("incident")
    link.add_argument("items", nargs="+")
    unlink = sub.add_parser("unlink", parents=[common], help="take items out of an incident")
    unlink.add_argument("incident")
    unlink.add_argument("items", nargs="+")
    unlink.add_argument("--reason", required=True)
    show = sub.add_parser("show", parents=[common], help="one incident, its items and history")
    show.add_argument("incident")
    show.add_argument("--json", action="store_true")
    incident.set_defaults(handler=handler(command_incident))

    timeline = commands.add_parser("timeline", parents=[common],
                                   help="incidents by date, each with its items")
    timeline.add_argument("--json", action="store_true")
    timeline.set_defaults(handler=handler(command_timeline))
