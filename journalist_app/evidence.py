"""Actions on evidence shared by the inbox and the source page: bundles, stars, deletion.

Each one writes its audit entries in the same transaction as the change, so an action is
either logged and done, or neither.
"""

import logging
from collections.abc import Sequence
from http import HTTPStatus

from flask import Response, abort, render_template
from sqlalchemy.orm import Session

from core.bundle import stream_bundle
from core.deletion import DeletionSummary, delete_conversation, delete_items, delete_source
from core.errors import BundleError, BundleItemMissing, EmptyBundle, StoredFileDamaged
from core.models import Journalist, Reply, Source, Submission
from core.seen import mark_seen
from journalist_app.context import StaffContext

logger = logging.getLogger(__name__)

# The stored bytes disagree with the record: retrying will not help until someone restores them.
DAMAGED_STATUS = HTTPStatus.CONFLICT
DAMAGED_TITLE = "Damaged evidence: nothing was downloaded"


def refuse_damaged(
    context: StaffContext,
    database: Session,
    journalist: Journalist,
    error: StoredFileDamaged,
    action: str,
) -> Response:
    """Log the refusal (one entry per damaged file, nothing marked) and explain it to staff.

    Whatever the view had changed is rolled back first, so the record shows a refusal and no
    delivery.
    """
    database.rollback()
    for damaged in error.damaged:
        logger.warning(
            "Refused to send item %s: its stored ciphertext no longer matches its SHA-256",
            damaged.item_uuid,
        )
        context.record(
            database,
            journalist,
            action,
            object=damaged.item_uuid,
            ciphertext_sha256=damaged.expected_sha256,
            detail=f"{'receipt' if damaged.receipt_of else 'ciphertext'} damaged, "
            f"found sha256 {damaged.found_sha256}",
        )
    database.commit()
    body = render_template(
        "error.html", code=DAMAGED_STATUS, title=DAMAGED_TITLE, message=str(error)
    )
    return Response(body, status=DAMAGED_STATUS, mimetype="text/html")


def bundle_response(
    context: StaffContext,
    database: Session,
    journalist: Journalist,
    items: Sequence[Submission | Reply],
) -> Response:
    """Check every file, then log, mark seen and stream a transfer bundle of ``items``.

    The audit entries and the downloaded/seen marks are committed once every file has been
    checked and before the first byte is sent: they record that the bundle was handed to the
    client, which may still disconnect before it has all of it.
    """
    try:
        stream = stream_bundle(context.instance, items)
    except StoredFileDamaged as exc:
        return refuse_damaged(context, database, journalist, exc, "bundle_refused")
    except BundleItemMissing as exc:
        database.rollback()
        abort(HTTPStatus.GONE, str(exc))
    except EmptyBundle as exc:
        abort(HTTPStatus.BAD_REQUEST, str(exc))
    except BundleError as exc:
        abort(HTTPStatus.BAD_REQUEST, str(exc))
    try:
        for item in items:
            context.record(
                database,
                journalist,
                "bundle",
                object=item.uuid,
                ciphertext_sha256=item.sha256,
                detail=stream.name,
            )
            if isinstance(item, Submission):
                item.downloaded = True
        mark_seen(
            database,
            journalist,
            submissions=[i for i in items if isinstance(i, Submission)],
            replies=[i for i in items if isinstance(i, Reply)],
        )
        database.commit()
    except BaseException:
        stream.close()
        raise
    response = Response(stream, mimetype="application/zip", direct_passthrough=True)
    response.headers["Content-Disposition"] = f'attachment; filename="{stream.name}"'
    response.call_on_close(stream.close)
    return response


def set_star(
    context: StaffContext,
    database: Session,
    journalist: Journalist,
    sources: Sequence[Source],
    starred: bool,
) -> None:
    for source in sources:
        if source.is_starred != starred:
            source.is_starred = starred
            context.record(
                database, journalist, "star" if starred else "unstar", object=source.uuid
            )
    database.commit()


def delete_selected_items(
    context: StaffContext,
    database: Session,
    journalist: Journalist,
    submissions: Sequence[Submission],
    replies: Sequence[Reply],
) -> DeletionSummary:
    for submission in submissions:
        context.record(
            database,
            journalist,
            "delete_submission",
            object=submission.uuid,
            ciphertext_sha256=submission.sha256,
        )
    for reply in replies:
        context.record(
            database, journalist, "delete_reply", object=reply.uuid, ciphertext_sha256=reply.sha256
        )
    return delete_items(database, context.instance, submissions, replies)


def delete_sources_data(
    context: StaffContext,
    database: Session,
    journalist: Journalist,
    sources: Sequence[Source],
    *,
    whole_source: bool,
) -> None:
    """Delete each source's conversation, or the sources themselves (each committed alone)."""
    for source in sources:
        action = "delete_source" if whole_source else "delete_conversation"
        context.record(database, journalist, action, object=source.uuid)
        if whole_source:
            delete_source(database, context.instance, source)
        else:
            delete_conversation(database, context.instance, source)
