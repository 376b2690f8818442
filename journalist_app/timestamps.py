"""Trusted time for staff: what waits for a timestamp, and stamping a workstation's hash.

GET /timestamps shows the trees and how many submissions wait. POST /timestamps/stamp takes the
one-line stamp request the evidence workstation wrote (core.stamp_requests), has it stamped
through tor and answers with the token as a `.tsr` download; a file that is not a request, or
authorities that do not answer, get the page again with the reason (HTTP 400 or 502) and
nothing is recorded. Every token given out is in the audit log (`timestamp_hash`).
"""

import hashlib
from http import HTTPStatus

from flask import Blueprint, Response, render_template, request
from sqlalchemy import func, select

from core.audit_actions import AuditAction
from core.errors import StampRequestInvalid, TimestampError
from core.models import TimestampToken, TimestampTree
from core.stamp_requests import MAX_REQUEST_BYTES, parse_stamp_request, stamp_request
from core.timestamping import configured, count_pending
from core.tsa import tsa_client_from
from journalist_app.auth import login_required
from journalist_app.context import db, me, staff
from journalist_app.forms import ActionForm
from journalist_app.i18n import _

bp = Blueprint("timestamps", __name__)


def _render(error: str | None = None, status: int = HTTPStatus.OK) -> tuple[str, int]:
    database = db()
    trees = database.scalar(select(func.count(TimestampTree.id))) or 0
    stamped = database.scalar(select(func.count(func.distinct(TimestampToken.tree_id)))) or 0
    return render_template(
        "timestamps.html",
        configured=configured(staff().instance),
        pending=count_pending(database),
        trees=trees,
        unstamped_trees=trees - stamped,
        form=ActionForm(),
        error=error,
    ), status


@bp.get("/timestamps")
@login_required
def show() -> tuple[str, int]:
    return _render()


@bp.post("/timestamps/stamp")
@login_required
def stamp() -> Response | tuple[str, int]:
    form = ActionForm()
    if not form.validate():
        return _render(_("The form expired; try again."), HTTPStatus.BAD_REQUEST)
    upload = request.files.get("request")
    if upload is None:
        return _render(_("Choose the stamp request file first."), HTTPStatus.BAD_REQUEST)
    data = upload.stream.read(MAX_REQUEST_BYTES + 1)
    try:
        purpose, line = parse_stamp_request(data)
    except StampRequestInvalid as exc:
        return _render(str(exc), HTTPStatus.BAD_REQUEST)
    try:
        client = tsa_client_from(staff().instance.settings)
    except TimestampError as exc:
        return _render(str(exc), HTTPStatus.CONFLICT)
    if client is None:
        return _render(_("Time-stamping is not set up on this server (SKRYNKA_TSA_URLS)."),
                       HTTPStatus.CONFLICT)
    try:
        token = stamp_request(client, line)
    except TimestampError as exc:
        return _render(
            _("No authority gave a token: %(reason)s", reason=str(exc)), HTTPStatus.BAD_GATEWAY
        )
    digest = hashlib.sha256(line).hexdigest()
    database = db()
    staff().record(database, me(), AuditAction.TIMESTAMP_HASH, object=f"request:{digest[:32]}",
                   detail=f"{purpose} stamped by {token.url} at "
                          f"{token.facts.gen_time.isoformat()}")
    database.commit()
    name = f"{purpose}-{digest[:12]}.tsr"
    return Response(token.response, mimetype="application/timestamp-reply", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
    })
