"""Assessments at the desk: record one for an item, and confirm a colleague's.

Both forms post here and come back to the item page. The service signs each as a custody entry
naming the person at the desk. A refusal (unknown status, text too long, nothing to confirm,
or the person confirming their own assessment) records nothing and is shown on the item page
in the person's language, with the workstation's own reason.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers.response import Response

from workstation.assessment import GROUNDS
from workstation.errors import AssessmentRefused, OwnAssessmentNotConfirmable
from workstation_app.context import current_actor, desk_service

bp = Blueprint("assessments", __name__)


def _back(item_id: str) -> Response:
    return redirect(url_for("items.show", item_id=item_id, _anchor="assessment"), code=303)


@bp.post("/items/<item_id>/assessment")
def assess(item_id: str) -> Response:
    form = request.form
    grounds = {kind: form.get(f"grounds-{kind}", "").strip() for kind in GROUNDS}
    service = desk_service()
    item = service.find(item_id)
    try:
        service.assess(item.item_id, current_actor(), form.get("status", ""),
                       {kind: text for kind, text in grounds.items() if text},
                       form.get("note", "").strip())
    except AssessmentRefused as exc:
        flash(_("The assessment was not recorded: %(reason)s", reason=str(exc)), "error")
        return _back(item.item_id)
    flash(_("Assessment recorded in the custody log."), "success")
    return _back(item.item_id)


@bp.post("/items/<item_id>/confirmation")
def confirm(item_id: str) -> Response:
    service = desk_service()
    item = service.find(item_id)
    try:
        service.confirm(item.item_id, current_actor())
    except OwnAssessmentNotConfirmable:
        flash(_("You made this assessment, so you cannot confirm it. Nothing was recorded: a "
                "second person must confirm it under their own name."), "error")
        return _back(item.item_id)
    except AssessmentRefused as exc:
        flash(_("Nothing was confirmed: %(reason)s", reason=str(exc)), "error")
        return _back(item.item_id)
    flash(_("Your confirmation was recorded in the custody log."), "success")
    return _back(item.item_id)
