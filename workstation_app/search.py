"""Search what sources sent: messages, intake answers, file names, text layers and OCR text.

The query goes to the service as typed (be, ru or en; Cyrillic and Latin spellings of a name
meet in the index). A query without a single word is answered on the page without searching;
a broken index is the error page, whose advice is to rebuild it.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from workstation_app.context import desk_service
from workstation_app.display import SNIPPET_MARKERS

MAX_QUERY = 200

bp = Blueprint("search", __name__)


@bp.get("/search")
def index() -> tuple[str, int]:
    query = " ".join(request.args.get("q", "").split())[:MAX_QUERY]
    raw = request.args.get("page", "1")
    page_number = int(raw) if raw.isdigit() and 0 < len(raw) < 4 else 1
    if not query:
        return render_template("search.html", query="", found=None, wordless=False), 200
    if not any(ch.isalnum() for ch in query):
        return render_template("search.html", query=query, found=None, wordless=True), 400
    found = desk_service().search(query, page_number, markers=SNIPPET_MARKERS)
    return render_template("search.html", query=query, found=found, wordless=False), 200
