"""Skrynka extension: POST /api/v1/bundle, a transfer bundle of chosen submissions and replies.

The bundle (docs/bundle-format.md) is streamed as it is produced: it holds only ciphertext, may
be gigabytes long, and every file in it is checked against its recorded SHA-256 before the first
byte is sent. An item deleted meanwhile is a JSON 404; a damaged one is a JSON 409 naming it,
logged as `bundle_refused`, with nothing sent or recorded as delivered.
"""

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from core.errors import BundleError, BundleItemMissing, StoredFileDamaged
from core.inbox import find_replies, find_submissions
from core.models import Journalist, Reply, Submission
from core.staff_actions import deliver_bundle
from journalist_app.api.body import read_body_json
from journalist_app.api.context import api, authenticated
from journalist_app.api.errors import DamagedCiphertext, InvalidBody, InvalidField, UnknownObject


def read_selection(document: object) -> list[str]:
    """A JSON array of uuids (or `{"items": [...]}`), without duplicates, order kept."""
    if isinstance(document, dict) and "items" in document:
        document = document["items"]
    if not isinstance(document, list) or not all(isinstance(u, str) for u in document):
        raise InvalidField("Send a JSON list of submission and reply uuids.")
    if not document:
        raise InvalidBody("Choose at least one submission or reply for the bundle.")
    return list(dict.fromkeys(document))


@authenticated
def download_bundle(db: Session, journalist: Journalist) -> Response:
    uuids = read_selection(read_body_json(request))
    submissions = {s.uuid: s for s in find_submissions(db, None, uuids)}
    replies = {r.uuid: r for r in find_replies(db, None, uuids)}
    items: list[Submission | Reply] = []
    for item_uuid in uuids:
        item = submissions.get(item_uuid) or replies.get(item_uuid)
        if item is None:
            raise UnknownObject(f"No submission or reply with uuid {item_uuid}.")
        items.append(item)
    try:
        # Committed as the response starts (after every file was checked): the client may
        # still disconnect before it has the whole bundle.
        stream = deliver_bundle(api().actor(db, journalist), items)
    except StoredFileDamaged as exc:
        # The refusal was logged and committed; raising rolls back nothing more.
        raise DamagedCiphertext(str(exc)) from exc
    except BundleItemMissing as exc:
        raise UnknownObject(str(exc)) from exc
    except BundleError as exc:
        raise InvalidField(str(exc)) from exc
    response = Response(stream, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{stream.name}"'
    response.call_on_close(stream.close)
    return response


def add_bundle_routes(bp: Blueprint) -> None:
    bp.post("/bundle")(download_bundle)
