"""Items: the filtered, paged list (from the catalogue index), and one item with all about it."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers.response import Response

from workstation.assessment import GROUNDS, NEEDS_CONFIRMATION, STATUSES
from workstation.catalogue_index import ItemFilter
from workstation.metadata_tool import MetadataTool
from workstation.perceptual_hash import DISTANCE_THRESHOLD, MIN_QUALITY, VIDEO_DISTANCE_THRESHOLD
from workstation_app.context import current_actor, desk_service

METADATA_TOOL_KEY = "skrynka.desk.metadata_tool"

bp = Blueprint("items", __name__)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


def read_filter() -> ItemFilter:
    def value(name: str) -> str | None:
        text = request.args.get(name, "").strip()
        return text[:200] or None

    return ItemFilter(kind=value("kind"), source_uuid=value("source"), text=value("q"),
                      received_from=value("from"), received_to=value("to"))


@bp.get("/")
def index() -> str:
    service = desk_service()
    wanted = read_filter()
    page = service.list_items(wanted, _page_number())
    return render_template("items.html", page=page, wanted=wanted,
                           kinds=service.index().kinds())


@bp.get("/items/<item_id>")
def show(item_id: str) -> str:
    service = desk_service()
    detail = service.describe_item(item_id, current_actor())
    return render_template("item.html", detail=detail, item=detail.item,
                           cases=service.cases(),
                           rendition=service.find_rendition(detail.item.item_id),
                           statuses=STATUSES, grounds=GROUNDS,
                           needs_confirmation=NEEDS_CONFIRMATION,
                           threshold=DISTANCE_THRESHOLD, video_threshold=VIDEO_DISTANCE_THRESHOLD,
                           min_quality=MIN_QUALITY)


@bp.post("/items/<item_id>/working-copy")
def working_copy(item_id: str) -> Response:
    tool: MetadataTool = current_app.extensions[METADATA_TOOL_KEY]
    copy = desk_service().make_working_copy(item_id, current_actor(), tool)
    if copy.stripped:
        flash(_("Working copy made; metadata removed."), "success")
    else:
        flash(_("Working copy made, but its metadata could NOT be removed: %(reason)s",
                reason=copy.record["not_stripped_reason"]), "error")
    return redirect(url_for("items.show", item_id=copy.original_id), code=303)
