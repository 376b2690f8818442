"""Renditions: an item is seen only as what the sandbox made of it, one page at a time.

The desk never sends an original to the browser, not even as a download: a browser that got
the file would offer to open it in the machine's own viewer, which is the very thing renditions
exist to avoid. Originals leave the store only inside an export package (or as a working copy
made from the command line, for the rare case that needs one). What is served here are the
rendition's own files, PNG pages, a re-encoded video or sound, escaped text, each with a fixed
content type chosen here, never guessed from the file.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers.response import Response

from workstation.rendition import MEDIA_TYPES
from workstation_app.context import current_actor, desk_service

bp = Blueprint("renditions", __name__)


@bp.post("/items/<item_id>/rendition")
def make(item_id: str) -> Response:
    rendition = desk_service().render(item_id, current_actor())
    return redirect(url_for("renditions.show", item_id=rendition.item_id), code=303)


@bp.get("/items/<item_id>/rendition")
def show(item_id: str) -> str:
    service = desk_service()
    item = service.find(item_id)
    rendition = service.find_rendition(item.item_id)
    pages = rendition.pages if rendition else ()
    raw = request.args.get("page", "1")
    number = int(raw) if raw.isdigit() and len(raw) < 7 else 1
    number = min(max(1, number), max(1, len(pages)))
    media = [path.name for path in (rendition.files if rendition else ())
             if path.suffix in (".webm", ".ogg")]
    return render_template("rendition.html", item=item, rendition=rendition, pages=pages,
                           number=number, media=media)


@bp.get("/items/<item_id>/rendition/<name>")
def file(item_id: str, name: str) -> Response:
    rendition = desk_service().find_rendition(item_id)
    if rendition is None:
        abort(404)
    # Only a file the rendition record lists; its type from our table, never from the file.
    for path in rendition.files:
        if path.name == name and path.suffix in MEDIA_TYPES and path.suffix != ".txt":
            return send_file(path, mimetype=MEDIA_TYPES[path.suffix], conditional=True,
                             max_age=0)
    abort(404)
