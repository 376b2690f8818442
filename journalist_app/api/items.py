"""Submissions and replies: list, show, download, delete, reply, and mark seen."""

import uuid as uuid_module
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, request, send_file
from sqlalchemy.orm import Session

from core import staff_actions
from core.bundle import VerifiedFile
from core.errors import CiphertextStoreError, ReplyError, ReplyUuidInUse, StoredFileDamaged
from core.inbox import find_replies, find_submissions
from core.models import Journalist, Reply, Source, Submission
from core.staff_actions import delete_selected_items, deliver_file, send_client_reply
from journalist_app.api.body import read_body_object
from journalist_app.api.context import (
    api,
    authenticated,
    json_response,
    list_response,
    read_page,
)
from journalist_app.api.errors import (
    DamagedCiphertext,
    InvalidBody,
    InvalidField,
    MissingField,
    PlaintextReply,
    UnknownObject,
    UuidInUse,
)
from journalist_app.api.listing import (
    count_replies,
    count_submissions,
    load_replies,
    load_submissions,
    uuid_in_use,
)
from journalist_app.api.serialization import serialize_reply, serialize_submission
from journalist_app.api.sources import require_source

ARMOR_FIRST_LINE = "-----BEGIN PGP MESSAGE-----"
SEEN_KINDS = ("files", "messages", "replies")


def require_submission(db: Session, source: Source, submission_uuid: str) -> Submission:
    submission = next(iter(find_submissions(db, source, [submission_uuid])), None)
    if submission is None:
        raise UnknownObject(f"No submission with uuid {submission_uuid} for this source.")
    return submission


def require_reply(db: Session, source: Source, reply_uuid: str) -> Reply:
    reply = next(iter(find_replies(db, source, [reply_uuid])), None)
    if reply is None:
        raise UnknownObject(f"No reply with uuid {reply_uuid} for this source.")
    return reply


def send_ciphertext(verified: VerifiedFile, filename: str) -> Response:
    """The checked ciphertext as stored, with `Etag: sha256:<hex>` and Range support (206).

    Sent from the descriptor that was hashed, so a concurrent deletion or a file renamed over
    the stored one cannot change what is sent.
    """
    response = send_file(
        verified.handle,
        mimetype="application/pgp-encrypted",
        as_attachment=True,
        download_name=filename,
        conditional=False,
        etag=False,
    )
    # The SDK reads the header spelled exactly "Etag" from a plain dict of the headers; set the
    # header before make_conditional so If-None-Match and If-Range compare against it.
    response.headers["Etag"] = f"sha256:{verified.sha256}"
    response.content_length = verified.size
    response.make_conditional(request.environ, accept_ranges=True, complete_length=verified.size)
    return response


def download_item(db: Session, journalist: Journalist, item: Submission | Reply) -> Response:
    """Send an item's checked file: a JSON 404 if it is gone, a logged 409 if damaged.

    Downloading through the API does not mark the item seen: clients call /seen once it is
    shown (see ``core.audit_actions.Channel``).
    """
    try:
        verified = deliver_file(api().actor(db, journalist), item)
    except StoredFileDamaged as exc:
        raise DamagedCiphertext(str(exc)) from exc
    except CiphertextStoreError as exc:
        kind = "reply" if isinstance(item, Reply) else "submission"
        raise UnknownObject(f"The file of this {kind} is missing from the store.") from exc
    return send_ciphertext(verified, item.filename)


def read_reply_text(document: dict[str, Any]) -> str:
    text = document.get("reply")
    if text is None or text == "":
        raise MissingField("reply not found in request body")
    if not isinstance(text, str):
        raise InvalidField("reply must be a string holding an armored PGP message")
    lines = text.splitlines()
    if not lines or lines[0].rstrip() != ARMOR_FIRST_LINE:
        raise PlaintextReply("You must encrypt replies client side")
    return text


def read_reply_uuid(document: dict[str, Any]) -> str | None:
    if "uuid" not in document:
        return None
    raw = document["uuid"]
    if not isinstance(raw, str):
        raise InvalidField("'uuid' was not a valid UUID")
    try:
        return str(uuid_module.UUID(raw))
    except ValueError as exc:
        raise InvalidField("'uuid' was not a valid UUID") from exc


def read_uuid_lists(document: dict[str, Any]) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    for kind in SEEN_KINDS:
        value = document.get(kind, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidField(f"{kind} must be a list of uuids")
        lists[kind] = value
    return lists


# --- submissions ---


@authenticated
def list_all_submissions(db: Session, journalist: Journalist) -> Response:
    page = read_page(request.args)
    rows = load_submissions(db, page=page)
    return list_response(
        "submissions", rows, serialize_submission, page, lambda: count_submissions(db)
    )


@authenticated
def list_source_submissions(db: Session, journalist: Journalist, source_uuid: str) -> Response:
    source = require_source(db, source_uuid)
    page = read_page(request.args)
    rows = load_submissions(db, source_id=source.id, page=page)
    return list_response(
        "submissions",
        rows,
        serialize_submission,
        page,
        lambda: count_submissions(db, source_id=source.id),
    )


@authenticated
def show_submission(
    db: Session, journalist: Journalist, source_uuid: str, submission_uuid: str
) -> Response:
    source = require_source(db, source_uuid)
    rows = load_submissions(db, source_id=source.id, uuid=submission_uuid)
    if not rows:
        raise UnknownObject(f"No submission with uuid {submission_uuid} for this source.")
    return json_response(serialize_submission(rows[0]))


@authenticated
def delete_submission(
    db: Session, journalist: Journalist, source_uuid: str, submission_uuid: str
) -> Response:
    source = require_source(db, source_uuid)
    submission = require_submission(db, source, submission_uuid)
    delete_selected_items(api().actor(db, journalist), [submission], [])
    return json_response({"message": "Submission deleted"})


@authenticated
def download_submission(
    db: Session, journalist: Journalist, source_uuid: str, submission_uuid: str
) -> Response:
    source = require_source(db, source_uuid)
    submission = require_submission(db, source, submission_uuid)
    return download_item(db, journalist, submission)


# --- replies ---


@authenticated
def list_all_replies(db: Session, journalist: Journalist) -> Response:
    page = read_page(request.args)
    rows = load_replies(db, page=page)
    return list_response("replies", rows, serialize_reply, page, lambda: count_replies(db))


@authenticated
def list_source_replies(db: Session, journalist: Journalist, source_uuid: str) -> Response:
    source = require_source(db, source_uuid)
    page = read_page(request.args)
    rows = load_replies(db, source_id=source.id, page=page)
    return list_response(
        "replies", rows, serialize_reply, page, lambda: count_replies(db, source_id=source.id)
    )


@authenticated
def post_reply(db: Session, journalist: Journalist, source_uuid: str) -> Response:
    source = require_source(db, source_uuid)
    document = read_body_object(request)
    text = read_reply_text(document)
    reply_uuid = read_reply_uuid(document)
    if reply_uuid is not None and uuid_in_use(db, reply_uuid):
        raise UuidInUse("That UUID is already in use.")
    try:
        # Stored exactly as sent, once its packets show it is encrypted to the source's reply
        # key (the `key` of the Source object) and the submission key, and to nothing else.
        reply = send_client_reply(api().actor(db, journalist), source, text, reply_uuid=reply_uuid)
    except ReplyUuidInUse as exc:
        raise UuidInUse("That UUID is already in use.") from exc
    except ReplyError as exc:
        raise InvalidField(str(exc)) from exc
    return json_response(
        {
            "message": "Your reply has been stored",
            "uuid": reply.uuid,
            "filename": reply.filename,
        },
        HTTPStatus.CREATED,
    )


@authenticated
def show_reply(db: Session, journalist: Journalist, source_uuid: str, reply_uuid: str) -> Response:
    source = require_source(db, source_uuid)
    rows = load_replies(db, source_id=source.id, uuid=reply_uuid)
    if not rows:
        raise UnknownObject(f"No reply with uuid {reply_uuid} for this source.")
    return json_response(serialize_reply(rows[0]))


@authenticated
def delete_reply(
    db: Session, journalist: Journalist, source_uuid: str, reply_uuid: str
) -> Response:
    source = require_source(db, source_uuid)
    reply = require_reply(db, source, reply_uuid)
    delete_selected_items(api().actor(db, journalist), [], [reply])
    return json_response({"message": "Reply deleted"})


@authenticated
def download_reply(
    db: Session, journalist: Journalist, source_uuid: str, reply_uuid: str
) -> Response:
    source = require_source(db, source_uuid)
    reply = require_reply(db, source, reply_uuid)
    return download_item(db, journalist, reply)


# --- seen ---


@authenticated
def mark_items_seen(db: Session, journalist: Journalist) -> Response:
    lists = read_uuid_lists(read_body_object(request))
    if not any(lists.values()):
        raise InvalidBody("Please specify the resources to mark seen.")
    wanted = lists["files"] + lists["messages"]
    submissions = {s.uuid: s for s in find_submissions(db, None, wanted)}
    for file_uuid in lists["files"]:
        found = submissions.get(file_uuid)
        if found is None or not found.is_file:
            raise UnknownObject(f"file not found: {file_uuid}")
    for message_uuid in lists["messages"]:
        found = submissions.get(message_uuid)
        if found is None or found.is_file:
            raise UnknownObject(f"message not found: {message_uuid}")
    replies = {r.uuid: r for r in find_replies(db, None, lists["replies"])}
    for reply_uuid in lists["replies"]:
        if reply_uuid not in replies:
            raise UnknownObject(f"reply not found: {reply_uuid}")
    # Checked everything first: an unknown uuid marks nothing.
    staff_actions.mark_items_seen(
        api().actor(db, journalist), list(submissions.values()), list(replies.values())
    )
    return json_response({"message": "resources marked seen"})


def add_item_routes(bp: Blueprint) -> None:
    item = "/sources/<source_uuid>/submissions/<submission_uuid>"
    reply = "/sources/<source_uuid>/replies/<reply_uuid>"
    bp.get("/submissions")(list_all_submissions)
    bp.get("/sources/<source_uuid>/submissions")(list_source_submissions)
    bp.get(item)(show_submission)
    bp.delete(item)(delete_submission)
    bp.get(f"{item}/download")(download_submission)
    bp.get("/replies")(list_all_replies)
    bp.get("/sources/<source_uuid>/replies")(list_source_replies)
    bp.post("/sources/<source_uuid>/replies")(post_reply)
    bp.get(reply)(show_reply)
    bp.delete(reply)(delete_reply)
    bp.get(f"{reply}/download")(download_reply)
    bp.post("/seen")(mark_items_seen)
