"""The custody log: read it (newest first, a page at a time) and verify it."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from workstation_app.context import current_actor, desk_service

bp = Blueprint("custody", __name__)
PAGE_SIZE = 100


@bp.get("/custody")
def index() -> str:
    entries = desk_service().custody_entries()
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(page, pages)
    newest = entries[::-1][(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    return render_template("custody.html", entries=newest, page=page, pages=pages,
                           total=len(entries))


@bp.post("/custody/verify")
def verify() -> str:
    verdict = desk_service().verify_custody(current_actor())
    return render_template("verified.html", verdict=verdict)
