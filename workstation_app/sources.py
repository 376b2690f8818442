"""Sources: who sent what, the intake answers they gave and the consent each one recorded."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from workstation_app.context import desk_service

bp = Blueprint("sources", __name__)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


@bp.get("/sources")
def index() -> str:
    return render_template("sources.html", page=desk_service().list_sources(_page_number()))


@bp.get("/sources/<source_uuid>")
def show(source_uuid: str) -> str:
    detail = desk_service().source_detail(source_uuid, _page_number())
    return render_template("source.html", detail=detail)
