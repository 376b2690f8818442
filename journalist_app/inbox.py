"""The inbox: every source with activity, starred first, paginated; bulk actions."""

from http import HTTPStatus

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from core.inbox import all_submissions, find_sources, list_sources, unread_submissions
from core.staff_actions import delete_sources, set_star
from core.timestamping import configured, count_unstamped
from journalist_app.auth import login_required
from journalist_app.context import acting, db, staff
from journalist_app.evidence import bundle_response
from journalist_app.forms import ActionForm
from journalist_app.i18n import _
from journalist_app.notices import current_notice

PER_PAGE = 50
MAX_SELECTION = 1000
BULK_ACTIONS = {
    "download-unread",
    "download-all",
    "star",
    "unstar",
    "delete-data",
    "delete-source",
}

bp = Blueprint("inbox", __name__)


def page_number(raw: str | None) -> int:
    """A 1-based page number from the query string; anything odd is a clear 400."""
    if raw is None or raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        abort(HTTPStatus.BAD_REQUEST, _("The page number must be a whole number of at least 1."))
    return int(raw)


@bp.get("/")
@login_required
def index() -> str:
    query = request.args.get("q", "")[:255]
    page = list_sources(
        db(), page=page_number(request.args.get("page")), per_page=PER_PAGE,
        designation_filter=query or None,
    )
    unstamped = count_unstamped(db()) if configured(staff().instance) else None
    return render_template(
        "inbox.html", page=page, query=query, form=ActionForm(), notice=current_notice(),
        unstamped=unstamped,
    )


@bp.post("/bulk")
@login_required
def bulk() -> BaseResponse | str:
    action = request.form.get("action", "")
    if action not in BULK_ACTIONS:
        abort(HTTPStatus.BAD_REQUEST, _("Choose one of the listed actions."))
    uuids = request.form.getlist("source")
    if len(uuids) > MAX_SELECTION:
        abort(
            HTTPStatus.BAD_REQUEST,
            _("Select at most %(count)d sources at once.", count=MAX_SELECTION),
        )
    database = db()
    sources = find_sources(database, uuids)
    if not sources:
        return redirect(url_for("inbox.index", notice="nothing-selected"))
    actor = acting()
    if action in ("download-unread", "download-all"):
        items = (
            unread_submissions(database, sources)
            if action == "download-unread"
            else all_submissions(database, sources)
        )
        if not items:
            abort(HTTPStatus.NOT_FOUND, _("The selected sources have nothing to download."))
        return bundle_response(actor, items)
    if action in ("star", "unstar"):
        set_star(actor, sources, action == "star")
        return redirect(url_for("inbox.index", notice=f"{action}red"))
    if request.form.get("confirm") != "yes":
        return render_template(
            "confirm_sources.html",
            sources=sources,
            action=action,
            form=ActionForm(),
            target=url_for("inbox.bulk"),
            what=None,
        )
    delete_sources(actor, sources, whole_source=action == "delete-source")
    return redirect(url_for("inbox.index", notice="sources-deleted"))
