"""Importing a transfer bundle from a path (the USB stick the bundle came on).

The service does what the command line's `import` does: verify and store, then read metadata,
perceptual hashes and content credentials in the sandbox and index the text; the page lists what
needs a person's attention (a sandbox that did not start, items not indexed)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template, request

from workstation_app.context import current_actor, desk_service

bp = Blueprint("intake", __name__)


@bp.get("/import")
def form() -> str:
    return render_template("import.html", path="")


@bp.post("/import")
def run() -> str:
    path = request.form.get("path", "").strip()
    outcome = desk_service().import_bundle(Path(path), current_actor())
    return render_template("imported.html", report=outcome.report, outcome=outcome)
