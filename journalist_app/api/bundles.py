"""Skrynka extension: POST /api/v1/bundle, a transfer bundle of chosen submissions and replies.

The bundle (docs/bundle-format.md) is streamed as it is produced: it holds only ciphertext, may
be gigabytes long, and every file in it is checked against its recorded SHA-256 before the first
byte is sent. An item deleted meanwhile is a JSON 404; a damaged one is a JSON 409 naming it,
logged as `bundle_refused`, with nothing sent or recorded as delivered.
"""

import logging

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from core.bundle import stream_bundle
from core.errors import BundleError, BundleItemMissing, StoredFileDamaged
from core.models import Journalist, Reply, Submission
from journalist_app.api.body import read_body_json
from journalist_app.api.context import ApiContext
from journalist_app.api.errors import DamagedCiphertext, InvalidBody, InvalidField, UnknownObject
from journalist_app.api.listing import find_replies, find_submissions

logger = logging.getLogger(__name__)


def read_selection(document: object) -> list[str]:
    """A JSON array of uuids (or `{"items": [...]}`), without duplicates, order kept."""
    if isinstance(document, dict) and "items" in document:
        document = document["items"]
    if not isinstance(document, list) or not all(isinstance(u, str) for u in document):
        raise InvalidField("Send a JSON list of submission and reply uuids.")
    if not document:
        raise InvalidBody("Choose at least one submission or reply for the bundle.")
    return list(dict.fromkeys(document))


def add_bundle_routes(bp: Blueprint, ctx: ApiContext) -> None:
    @bp.post("/bundle")
    @ctx.authenticated
    def download_bundle(db: Session, journalist: Journalist) -> Response:
        uuids = read_selection(read_body_json(request))
        submissions = {s.uuid: s for s in find_submissions(db, uuids)}
        replies = {r.uuid: r for r in find_replies(db, uuids)}
        items: list[Submission | Reply] = []
        for item_uuid in uuids:
            item = submissions.get(item_uuid) or replies.get(item_uuid)
            if item is None:
                raise UnknownObject(f"No submission or reply with uuid {item_uuid}.")
            items.append(item)
        try:
            stream = stream_bundle(ctx.instance, items)
        except StoredFileDamaged as exc:
            raise refuse_damaged(ctx, db, journalist, exc, "bundle_refused") from exc
        except BundleItemMissing as exc:
            raise UnknownObject(str(exc)) from exc
        except BundleError as exc:
            raise InvalidField(str(exc)) from exc
        # Committed with the token renewal as the response starts (after every file was
        # checked): the client may still disconnect before it has the whole bundle.
        for item in items:
            ctx.record(db, journalist, "bundle", object=item.uuid, ciphertext_sha256=item.sha256)
        response = Response(stream, mimetype="application/zip")
        response.headers["Content-Disposition"] = f'attachment; filename="{stream.name}"'
        response.call_on_close(stream.close)
        return response


def refuse_damaged(
    ctx: ApiContext, db: Session, journalist: Journalist, error: StoredFileDamaged, action: str
) -> DamagedCiphertext:
    """Commit one refusal entry per damaged file (nothing else) and return the error to raise.

    Committed here because raising the error rolls the request's transaction back; the view
    has changed nothing else by then (only the token's renewal, which may as well stay).
    """
    for damaged in error.damaged:
        logger.warning(
            "Refused to send item %s: its stored ciphertext no longer matches its SHA-256",
            damaged.item_uuid,
        )
        ctx.audit.record(
            db,
            actor=journalist.uuid,
            action=action,
            object=damaged.item_uuid,
            ciphertext_sha256=damaged.expected_sha256,
            detail=f"api: {'receipt' if damaged.receipt_of else 'ciphertext'} damaged, "
            f"found sha256 {damaged.found_sha256}",
        )
    db.commit()
    return DamagedCiphertext(str(error))
