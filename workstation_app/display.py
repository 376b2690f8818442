"""How values look on the desk's pages: names of kinds, destinations, actions, sizes, answers."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from workstation.catalogue_index import ItemFilter

KIND_NAMES: dict[str, LazyString] = {
    "message": _l("message"),
    "file": _l("file"),
    "reply": _l("reply"),
    "consent": _l("consent record"),
}
DESTINATION_NAMES: dict[str, LazyString] = {
    "platform": _l("this platform only"),
    "un": _l("UN investigative bodies"),
    "court": _l("courts and prosecutors"),
}
ACTION_NAMES: dict[str, LazyString] = {
    "import": _l("imported"),
    "view": _l("viewed"),
    "copy": _l("working copy"),
    "export": _l("exported"),
    "delete": _l("deleted"),
    "verify": _l("log verified"),
    "case": _l("case"),
    "render": _l("rendition made"),
    "incident": _l("incident"),
}
INTAKE_LABELS: dict[str, LazyString] = {
    "violations": _l("What happened"),
    "when": _l("When"),
    "where": _l("Where"),
    "responsible": _l("Who was responsible"),
    "relation": _l("The source's relation to it"),
}
# The codes of the intake questions (docs/storage-format.md, `skrynka-intake` version 1).
CHOICE_NAMES: dict[str, LazyString] = {
    "arbitrary_detention": _l("arbitrary detention"),
    "torture_or_ill_treatment": _l("torture or ill-treatment"),
    "sexual_or_gender_based_violence": _l("sexual or gender-based violence"),
    "enforced_disappearance": _l("enforced disappearance"),
    "other": _l("other"),
    "survivor": _l("survivor"),
    "witness": _l("witness"),
    "insider": _l("insider"),
    "other_or_prefer_not_to_say": _l("other, or would rather not say"),
    "brest": _l("Brest region"),
    "vitebsk": _l("Vitebsk region"),
    "gomel": _l("Gomel region"),
    "grodno": _l("Grodno region"),
    "minsk_region": _l("Minsk region"),
    "mogilev": _l("Mogilev region"),
    "minsk_city": _l("Minsk city"),
}
UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(kind, kind))


def destination_name(destination: str) -> str:
    return str(DESTINATION_NAMES.get(destination, destination))


def action_name(action: str) -> str:
    return str(ACTION_NAMES.get(action, action))


def intake_label(key: str) -> str:
    return str(INTAKE_LABELS.get(key, key))


def size(count: int) -> str:
    value = float(count)
    for unit in UNITS:
        if value < 1024 or unit == UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover (the loop always returns)


def show_value(value: Any) -> str:
    """An intake answer as text: codes by their names, lists joined, the free text of "when"
    and "where" with the month or region the source picked, anything else as compact JSON."""
    if isinstance(value, list):
        return ", ".join(show_value(v) for v in value)
    if isinstance(value, dict):
        text = value.get("text")
        extra = []
        if isinstance(value.get("year"), int):
            month = value.get("month")
            extra.append(f"{value['year']}-{month:02d}" if isinstance(month, int)
                         else str(value["year"]))
        if isinstance(value.get("region"), str):
            extra.append(show_value(value["region"]))
        if isinstance(text, str) or extra:
            shown = text if isinstance(text, str) else ""
            return f"{shown} ({', '.join(extra)})" if extra and shown else shown or ", ".join(
                extra)
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value in CHOICE_NAMES:
        return str(CHOICE_NAMES[value])
    return "" if value is None else str(value)


def filter_values(wanted: ItemFilter) -> dict[str, str]:
    """The query-string values that reproduce `wanted` (for paging links)."""
    pairs = {"q": wanted.text, "kind": wanted.kind, "source": wanted.source_uuid,
             "from": wanted.received_from, "to": wanted.received_to}
    return {key: value for key, value in pairs.items() if value}


def init_display(app: Flask) -> None:
    helpers = {
        "kind_name": kind_name, "destination_name": destination_name,
        "action_name": action_name, "intake_label": intake_label, "size": size,
        "show_value": show_value, "filter_values": filter_values,
    }
    app.jinja_env.globals.update(helpers)
    app.jinja_env.filters["destination_name"] = destination_name
