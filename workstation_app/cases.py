"""Cases: create one, add items, preview what an export would send and why, then export.

The preview page carries a fingerprint of what it showed; the export refuses to run if the
case or the consent changed since (`ExportPreviewMismatch`), so nobody exports something other
than what they looked at. Why each item stays out is said in the person's language from the
causes the workstation gives (`workstation.handover.ExclusionCause`); the package's statement
keeps its English.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import LazyString, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers.response import Response

from workstation.consent import DESTINATIONS
from workstation.errors import ExportError
from workstation.handover import DESTINATION_LABELS, Exclusion
from workstation_app.context import current_actor, desk_service
from workstation_app.display import destination_name

bp = Blueprint("cases", __name__)
# The desk's words for workstation.handover.EXCLUSION_TEXTS, code by code.
EXCLUSION_NAMES: dict[str, LazyString] = {
    "no_consent": _l("no consent record (treated as this platform only)"),
    "consent_narrower": _l("latest consent (%(recorded_at)s) allows: %(allowed)s"),
    "no_submission": _l("no submission record"),
    "deleted": _l("the item is no longer in the store (deleted)"),
}


def exclusion_text(exclusion: Exclusion) -> str:
    """Why an item stays out, in the person's language (destinations by their names)."""
    said = []
    for cause in exclusion.causes:
        values = dict(cause.values)
        if "allowed" in values:
            values["allowed"] = ", ".join(destination_name(code)
                                          for code in values["allowed"].split(", "))
        said.append(str(EXCLUSION_NAMES[cause.code]) % values)
    return "; ".join(said)


@bp.get("/cases")
def index() -> str:
    return render_template("cases.html", cases=desk_service().cases())


@bp.post("/cases")
def create() -> Response:
    case = desk_service().create_case(request.form.get("name", "").strip(), current_actor())
    flash(_("Case %(name)s created.", name=case.name), "success")
    return redirect(url_for("cases.show", name=case.name), code=303)


@bp.get("/cases/<name>")
def show(name: str) -> str:
    service = desk_service()
    case = service.case(name)
    items = [service.find(item_id) for item_id in case.items]
    return render_template("case.html", case=case, items=items, destinations=DESTINATIONS,
                           labels=DESTINATION_LABELS)


@bp.post("/cases/items")
def add() -> Response:
    name = request.form.get("case", "")
    case = desk_service().add_to_case(name, request.form.getlist("item"), current_actor())
    flash(ngettext("The case now holds %(num)d item.", "The case now holds %(num)d items.",
                   len(case.items)), "success")
    back = request.form.get("back", "")
    if back.startswith("/items/") and "//" not in back:
        return redirect(back, code=303)
    return redirect(url_for("cases.show", name=case.name), code=303)


@bp.get("/cases/<name>/export")
def preview(name: str) -> str:
    destination = request.args.get("to", "")
    preview = desk_service().preview_export(name, destination)
    return render_template("export.html", preview=preview, out=request.args.get("out", ""),
                           recipient=request.args.get("recipient", ""),
                           exclusion_text=exclusion_text)


@bp.post("/cases/<name>/export")
def export(name: str) -> str:
    form = request.form
    out = form.get("out", "").strip()
    if not out:
        raise ExportError("give the folder to write the package into (e.g. the handover stick)")
    recipient = form.get("recipient", "").strip()
    service = desk_service()
    report = service.export_case(
        name, form.get("to", ""), Path(out), current_actor(),
        Path(recipient) if recipient else None, expected=form.get("fingerprint", ""),
    )
    return render_template("exported.html", report=report, case_name=name,
                           fingerprint=service.workstation_fingerprint())
