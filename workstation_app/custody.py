"""The custody log: read it (newest first, a page at a time) and verify it.

Where the store and the log disagree, each gap is said in the person's language from its kind
and cause (`workstation.reconciliation.Gap`); the command line prints the English.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from workstation.reconciliation import Gap
from workstation_app.context import current_actor, desk_service

bp = Blueprint("custody", __name__)
PAGE_SIZE = 100
GAP_KINDS: dict[str, LazyString] = {
    "unrecorded": _l("In the store but not in the log"),
    "missing": _l("In the log but not in the store"),
}
# The desk's words for workstation.reconciliation.GAP_TEXTS, cause by cause.
GAP_CAUSES: dict[str, LazyString] = {
    "no_import_entry": _l("no import entry records it; run “skrynka-workstation custody "
                          "repair” to check its content and record it"),
    "held_by_pending": _l("import entry %(seq)s records it and an interrupted import holds it "
                          "in tmp/; run “skrynka-workstation custody repair” (or the next "
                          "import) to move it into place"),
    "lost": _l("import entry %(seq)s records it but it is not in the store and no interrupted "
               "import holds it; import bundle %(bundle)s again to restore it"),
    "content_mismatch": _l("its content does not match its name; it was not recorded. Preserve "
                           "the store as it is and investigate"),
}


def gap_text(gap: Gap) -> str:
    """One gap in the person's language: what, which item and submission, what to do."""
    cause = str(GAP_CAUSES[gap.cause]) % dict(gap.values)
    return str(_l("%(kind)s: %(item)s (submission %(submission)s): %(cause)s",
                  kind=GAP_KINDS[gap.kind], item=gap.item, submission=gap.submission_uuid,
                  cause=cause))


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
    return render_template("verified.html", verdict=verdict, gap_text=gap_text)
