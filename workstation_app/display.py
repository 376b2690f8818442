"""How values look on the desk's pages: names of kinds, destinations, actions, sizes, answers.

Text that came from outside (names, metadata, notes, search snippets) goes through `shown`:
Jinja's autoescape keeps it from being markup, and `shown` keeps it from reordering the page.
Control and format characters (the bidirectional overrides and isolates among them) become
visible escapes such as `\u202e`, and the whole value sits in its own `<bdi>`, so even a run of
right-to-left letters cannot drag the text around it into its direction.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from flask import Flask
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

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
# Every action of workstation.custody.ACTIONS (a test keeps them in step).
ACTION_NAMES: dict[str, LazyString] = {
    "import": _l("imported"),
    "view": _l("viewed"),
    "copy": _l("working copy"),
    "export": _l("exported"),
    "delete": _l("deleted"),
    "verify": _l("log verified"),
    "case": _l("case"),
    "render": _l("rendition made"),
    "assess": _l("assessed"),
    "confirm": _l("assessment confirmed"),
    "metadata": _l("metadata recorded"),
    "perceptual-hash": _l("perceptual hash"),
    "incident": _l("incident"),
    "provenance": _l("provenance checked"),
    "timestamp": _l("trusted timestamp"),
    "fixity": _l("fixity checked"),
    "unreadable": _l("reply that could not be decrypted"),
    "acknowledge": _l("receipt acknowledged"),
}
STATUS_NAMES: dict[str, LazyString] = {
    "unreviewed": _l("unreviewed"),
    "in review": _l("in review"),
    "corroborated": _l("corroborated"),
    "unverified": _l("unverified"),
    "doubtful": _l("doubtful"),
    "rejected": _l("rejected"),
}
# The Berkeley Protocol keeps these three analyses apart.
GROUND_NAMES: dict[str, LazyString] = {
    "source": _l("Source analysis"),
    "content": _l("Content analysis"),
    "technical": _l("Technical analysis"),
}
FIELD_NAMES: dict[str, LazyString] = {
    "name": _l("file name"),
    "intake": _l("intake answers"),
    "message": _l("message"),
    "text": _l("text layer"),
    "ocr": _l("recognised text (OCR)"),
}
MEDIA_NAMES: dict[str, LazyString] = {
    "image": _l("image"),
    "video": _l("video"),
}
# Characters kept as they are although their category is "other": line breaks and tabs in
# notes and messages.
_KEPT = frozenset("\n\t")
# Where the matched words of a search snippet start and end; `snippet` turns them into <mark>.
SNIPPET_MARKERS = ("\x02", "\x03")
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


def status_name(status: str) -> str:
    return str(STATUS_NAMES.get(status, status))


def ground_name(kind: str) -> str:
    return str(GROUND_NAMES.get(kind, kind))


def field_name(field: str) -> str:
    return str(FIELD_NAMES.get(field, field))


def media_name(media: str) -> str:
    return str(MEDIA_NAMES.get(media, media))


def neutral_text(value: Any) -> str:
    """The text with control and format characters (bidi overrides among them) as escapes."""
    text = "" if value is None else str(value)
    return "".join(ch if _plain(ch) else f"\\u{ord(ch):04x}" for ch in text)


def _plain(ch: str) -> bool:
    category = unicodedata.category(ch)
    return ch in _KEPT or (category[0] != "C" and category not in ("Zl", "Zp"))


def shown(value: Any) -> Markup:
    """Text from outside, escaped, neutralised and isolated in its own <bdi>."""
    return Markup("<bdi>") + escape(neutral_text(value)) + Markup("</bdi>")


def snippet(text: str) -> Markup:
    """A search snippet with its matched words in <mark>, the rest as `shown` treats it."""
    start, end = SNIPPET_MARKERS
    pieces = text.split(start)
    html = escape(neutral_text(pieces[0]))
    for piece in pieces[1:]:
        marked, _sep, rest = piece.partition(end)
        html += (Markup("<mark>") + escape(neutral_text(marked)) + Markup("</mark>")
                 + escape(neutral_text(rest)))
    return Markup("<bdi>") + html + Markup("</bdi>")


def metadata_value(value: Any) -> str:
    """One value of an embedded-metadata summary as text (dicts as `tag: value` pairs)."""
    if isinstance(value, dict):
        return "; ".join(f"{key}: {metadata_value(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(metadata_value(item) for item in value)
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
        "status_name": status_name, "ground_name": ground_name, "field_name": field_name,
        "media_name": media_name, "metadata_value": metadata_value, "snippet": snippet,
    }
    app.jinja_env.globals.update(helpers)
    app.jinja_env.filters["destination_name"] = destination_name
    app.jinja_env.filters["shown"] = shown
    app.jinja_env.filters["neutral"] = neutral_text
