"""Incidents on the desk: the timeline, one incident, a new one proposed from items, links.

A new incident opened from items (`/incidents/new?item=…`) comes with its date, place and
violation types filled in from the items' intake answers and metadata, each with the reason it
was proposed; nothing is recorded until the person reads the form and presses the button, and
what is recorded is what the form then says. Each change is a signed custody entry with the
person's name (`WorkstationService`, `workstation.incident`). A refused form comes back with
what was typed and the reason, and nothing recorded. The item page shows an item's incidents
through `incident_choices` (a template global), so the item view itself needs no change.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import LazyString, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers.response import Response

from workstation.errors import IncidentRefused
from workstation.incident import VIOLATION_TYPES, Incident, IncidentFields, read_fields
from workstation.incident_proposal import REGION_NAMES, Proposal, Reason
from workstation_app.context import current_actor, desk_service
from workstation_app.display import CHOICE_NAMES

bp = Blueprint("incidents", __name__)
MAX_ITEMS = 200

VIOLATION_NAMES: dict[str, LazyString] = {
    "arbitrary_detention": _l("arbitrary detention"),
    "torture_or_ill_treatment": _l("torture or ill-treatment"),
    "sexual_or_gender_based_violence": _l("sexual or gender-based violence"),
    "enforced_disappearance": _l("enforced disappearance"),
    "unfair_trial": _l("unfair trial"),
    "persecution_for_expression_or_assembly": _l("persecution for expression or assembly"),
    "property_seizure": _l("property seizure"),
    "other": _l("other"),
}
CHANGE_NAMES: dict[str, LazyString] = {
    "created": _l("created"),
    "edited": _l("changed"),
    "linked": _l("item added"),
    "unlinked": _l("item taken out"),
}

# The fields of workstation.incident.IncidentFields, as an `edited` step names those it changed.
FIELD_NAMES: dict[str, LazyString] = {
    "title": _l("title"),
    "date": _l("date"),
    "place": _l("place"),
    "violations": _l("violation types"),
    "notes": _l("notes"),
}


# The desk's words for workstation.incident_proposal.REASON_TEXTS, code by code.
REASON_NAMES: dict[str, LazyString] = {
    "intake_unreadable": _l("the intake answers sent with %(item)s cannot be read and were not "
                            "used"),
    "date_from_metadata": _l("date: capture time in the embedded metadata of %(items)s"),
    "date_disagrees": _l("check the date: the sources’ answers name %(months)s, not the month "
                         "the metadata gives"),
    "date_from_intake": _l("date: the month the sources named in their intake answers"),
    "place_from_intake": _l("place: the sources’ intake answers"),
    "place_from_region": _l("place: the region the sources picked in their intake answers"),
    "position_from_metadata": _l("position: GPS in the embedded metadata of %(item)s"),
    "other_positions": _l("other GPS positions, not proposed, in %(items)s"),
    "violations_from_intake": _l("violation types: those the sources named in their intake "
                                 "answers"),
}


def region_names() -> dict[str, str]:
    """The intake regions as the officer reads them, for a proposed place."""
    return {code: str(CHOICE_NAMES[code]) for code in REGION_NAMES}


def reason_text(reason: Reason) -> str:
    known = REASON_NAMES.get(reason.code)
    return reason.text if known is None else str(known) % dict(reason.values)


def violation_name(code: str) -> str:
    return str(VIOLATION_NAMES.get(code, code))


def change_name(code: str) -> str:
    return str(CHANGE_NAMES.get(code, code))


def field_names(fields: tuple[str, ...]) -> str:
    return ", ".join(str(FIELD_NAMES.get(name, name)) for name in fields)


def form_values(fields: IncidentFields) -> Proposal:
    """An incident's fields as the form shows them."""
    when, place = fields.date, fields.place
    coordinates = place is not None and place.latitude is not None
    return Proposal(
        title=fields.title,
        date_from=when.start if when else "",
        date_to=(when.end or "") if when else "",
        place=(place.text or "") if place else "",
        latitude=repr(place.latitude) if coordinates and place else "",
        longitude=repr(place.longitude) if coordinates and place else "",
        violations=fields.violations,
        notes=fields.notes,
    )


def _typed() -> Proposal:
    form = request.form
    return Proposal(
        title=form.get("title", ""), date_from=form.get("date_from", ""),
        date_to=form.get("date_to", ""), place=form.get("place", ""),
        latitude=form.get("latitude", ""), longitude=form.get("longitude", ""),
        violations=tuple(form.getlist("violation")), notes=form.get("notes", ""),
    )


def _read(values: Proposal) -> IncidentFields:
    return read_fields(title=values.title, date_from=values.date_from, date_to=values.date_to,
                       place=values.place, latitude=values.latitude,
                       longitude=values.longitude, violations=values.violations,
                       notes=values.notes)


def _chosen_items(source: Any) -> list[str]:
    return [value.strip() for value in source.getlist("item") if value.strip()][:MAX_ITEMS]


@bp.get("/timeline")
def timeline() -> str:
    return render_template("timeline.html", timeline=desk_service().timeline())


@bp.get("/incidents/new")
def new() -> str:
    service = desk_service()
    references = _chosen_items(request.args)
    proposal = (service.propose_incident(references, region_names=region_names())
                if references else Proposal())
    items = [service.find(reference) for reference in references]
    return render_template("incident_new.html", values=proposal, items=items,
                           proposed=bool(references), error=None,
                           violation_types=VIOLATION_TYPES)


@bp.post("/incidents")
def create() -> Response | tuple[str, int]:
    service = desk_service()
    references = _chosen_items(request.form)
    values = _typed()
    try:
        incident = service.create_incident(_read(values), references, current_actor())
    except IncidentRefused as refused:
        items = [service.find(reference) for reference in references]
        return render_template("incident_new.html", values=values, items=items,
                               proposed=False, error=str(refused),
                               violation_types=VIOLATION_TYPES), 400
    flash(_("Incident recorded."), "success")
    return redirect(url_for("incidents.show", incident_id=incident.incident_id), code=303)


def _incident_page(incident: Incident, values: Proposal, error: str | None) -> str:
    entry = desk_service().incident_detail(incident.incident_id)
    return render_template("incident.html", incident=entry.incident, items=entry.items,
                           values=values, error=error, violation_types=VIOLATION_TYPES)


@bp.get("/incidents/<incident_id>")
def show(incident_id: str) -> str:
    incident = desk_service().incident(incident_id)
    return _incident_page(incident, form_values(incident.fields), None)


@bp.post("/incidents/<incident_id>")
def edit(incident_id: str) -> Response | tuple[str, int]:
    service = desk_service()
    incident = service.incident(incident_id)
    values = _typed()
    try:
        incident, changed = service.edit_incident(incident.incident_id, _read(values),
                                                  current_actor())
    except IncidentRefused as refused:
        return _incident_page(incident, values, str(refused)), 400
    if changed:
        flash(_("The incident was changed."), "success")
    else:
        flash(_("Nothing was different, so nothing was recorded."), "success")
    return redirect(url_for("incidents.show", incident_id=incident.incident_id), code=303)


def _back(incident: Incident) -> Response:
    back = request.form.get("back", "")
    if back.startswith("/items/") and "//" not in back:
        return redirect(back, code=303)
    return redirect(url_for("incidents.show", incident_id=incident.incident_id), code=303)


@bp.post("/incidents/<incident_id>/items")
def link(incident_id: str) -> Response:
    incident = desk_service().link_to_incident(incident_id, _chosen_items(request.form),
                                               current_actor())
    flash(ngettext("The incident now holds %(num)d item.",
                   "The incident now holds %(num)d items.", len(incident.items)), "success")
    return _back(incident)


@bp.post("/incidents/items")
def link_chosen() -> Response:
    """The item page's form: the incident is chosen in the form rather than in the address."""
    return link(request.form.get("incident", ""))


@bp.post("/incidents/<incident_id>/items/remove")
def unlink(incident_id: str) -> Response:
    incident = desk_service().unlink_from_incident(
        incident_id, _chosen_items(request.form), request.form.get("reason", ""),
        current_actor())
    flash(ngettext("The incident now holds %(num)d item.",
                   "The incident now holds %(num)d items.", len(incident.items)), "success")
    return _back(incident)


def init_incidents(app: Flask) -> None:
    """The blueprint, and what templates use: names of violation types and changes, and the
    incidents of an item (for the item page's `_incidents.html`)."""
    app.register_blueprint(bp)
    app.jinja_env.filters["violation_name"] = violation_name
    app.jinja_env.globals.update({
        "violation_name": violation_name,
        "reason_text": reason_text,
        "change_name": change_name,
        "field_names": field_names,
        "incident_choices": lambda item_id: desk_service().incident_choices(item_id),
    })
