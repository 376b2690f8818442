"""Actions on evidence shared by the inbox and the source page: bundles, stars, deletion.

Each one writes its audit entries in the same transaction as the change, so an action is
either logged and done, or neither.
"""

from collections.abc import Sequence
from http import HTTPStatus

from flask import Response, abort
from sqlalchemy.orm import Session

from core.bundle import open_bundle
from core.deletion import DeletionSummary, delete_conversation, delete_items, delete_source
from core.errors import BundleError, BundleItemMissing, EmptyBundle
from core.models import Journalist, Reply, Source, Submission
from core.seen import mark_seen
from journalist_app.context import StaffContext


def bundle_response(
    context: StaffContext,
    database: Session,
    journalist: Journalist,
    items: Sequence[Submission | Reply],
) -> Response:
    """Stream a transfer bundle of ``items``; logged and marked seen before the first byte."""
    try:
        stream = open_bundle(context.instance, items)
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
