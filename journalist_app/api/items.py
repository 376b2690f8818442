"""Submissions and replies: list, show, download, delete, reply, and mark seen."""

import uuid as uuid_module
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Generic, Protocol, TypeVar

from flask import Blueprint, Response, request, send_file
from sqlalchemy.orm import Session

from core import staff_actions
from core.bundle import VerifiedFile
from core.errors import CiphertextStoreError, ReplyError, ReplyUuidInUse, StoredFileDamaged
from core.inbox import Page, find_replies, find_submissions
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
    ReplyRow,
    SubmissionRow,
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
ItemT = TypeVar("ItemT", Submission, Reply)
RowT = TypeVar("RowT")


class LoadRows(Protocol[RowT]):
    def __call__(
        self,
        db: Session,
        *,
        source_id: int | None = None,
        uuid: str | None = None,
        page: Page | None = None,
    ) -> list[RowT]: ...


class CountRows(Protocol):
    def __call__(self, db: Session, *, source_id: int | None = None) -> int: ...


@dataclass(frozen=True)
class ItemKind(Generic[ItemT, RowT]):
    """What the submission views and the reply views differ in; the views themselves are one
    set (:func:`add_kind_routes`), so both kinds answer alike."""

    #: In messages ("No reply with uuid ...") and in endpoint names (``show_reply``).
    name: str
    #: The URL segment under a source and the key of a list (``replies``).
    collection: str
    #: The URL variable naming one item (``reply_uuid``), as the API description spells it.
    uuid_param: str
    find: Callable[[Session, Source, Sequence[str]], list[ItemT]]
    load: LoadRows[RowT]
    count: CountRows
    serialize: Callable[[RowT], dict[str, Any]]
    deleted_message: str

    def require(self, db: Session, source: Source, item_uuid: str) -> ItemT:
        item = next(iter(self.find(db, source, [item_uuid])), None)
        if item is None:
            raise UnknownObject(f"No {self.name} with uuid {item_uuid} for this source.")
        return item


SUBMISSIONS: ItemKind[Submission, SubmissionRow] = ItemKind(
    name="submission",
    collection="submissions",
    uuid_param="submission_uuid",
    find=find_submissions,
    load=load_submissions,
    count=count_submissions,
    serialize=serialize_submission,
    deleted_message="Submission deleted",
)
REPLIES: ItemKind[Reply, ReplyRow] = ItemKind(
    name="reply",
    collection="replies",
    uuid_param="reply_uuid",
    find=find_replies,
    load=load_replies,
    count=count_replies,
    serialize=serialize_reply,
    deleted_message="Reply deleted",
)


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


# --- submissions and replies ---


def add_kind_routes(bp: Blueprint, kind: ItemKind[ItemT, RowT]) -> None:
    """List, show, delete and download one kind of item, under the endpoint names and URL
    variables the API description documents (``list_all_submissions``, ``<reply_uuid>``)."""

    @authenticated
    def list_all(db: Session, journalist: Journalist) -> Response:
        page = read_page(request.args)
        rows = kind.load(db, page=page)
        return list_response(kind.collection, rows, kind.serialize, page, lambda: kind.count(db))

    @authenticated
    def list_source(db: Session, journalist: Journalist, source_uuid: str) -> Response:
        source = require_source(db, source_uuid)
        page = read_page(request.args)
        rows = kind.load(db, source_id=source.id, page=page)
        return list_response(
            kind.collection,
            rows,
            kind.serialize,
            page,
            lambda: kind.count(db, source_id=source.id),
        )

    # The item's uuid arrives under the URL variable of its kind (``submission_uuid``).
    @authenticated
    def show(
        db: Session, journalist: Journalist, /, source_uuid: str, **item: str
    ) -> Response:
        source = require_source(db, source_uuid)
        item_uuid = item[kind.uuid_param]
        rows = kind.load(db, source_id=source.id, uuid=item_uuid)
        if not rows:
            raise UnknownObject(f"No {kind.name} with uuid {item_uuid} for this source.")
        return json_response(kind.serialize(rows[0]))

    @authenticated
    def delete(
        db: Session, journalist: Journalist, /, source_uuid: str, **item: str
    ) -> Response:
        source = require_source(db, source_uuid)
        found = kind.require(db, source, item[kind.uuid_param])
        if isinstance(found, Submission):
            delete_selected_items(api().actor(db, journalist), [found], [])
        else:
            delete_selected_items(api().actor(db, journalist), [], [found])
        return json_response({"message": kind.deleted_message})

    @authenticated
    def download(
        db: Session, journalist: Journalist, /, source_uuid: str, **item: str
    ) -> Response:
        source = require_source(db, source_uuid)
        found = kind.require(db, source, item[kind.uuid_param])
        return download_item(db, journalist, found)

    listed = f"/sources/<source_uuid>/{kind.collection}"
    one = f"{listed}/<{kind.uuid_param}>"
    bp.get(f"/{kind.collection}", endpoint=f"list_all_{kind.collection}")(list_all)
    bp.get(listed, endpoint=f"list_source_{kind.collection}")(list_source)
    bp.get(one, endpoint=f"show_{kind.name}")(show)
    bp.delete(one, endpoint=f"delete_{kind.name}")(delete)
    bp.get(f"{one}/download", endpoint=f"download_{kind.name}")(download)


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
    add_kind_routes(bp, SUBMISSIONS)
    add_kind_routes(bp, REPLIES)
    bp.post("/sources/<source_uuid>/replies")(post_reply)
    bp.post("/seen")(mark_items_seen)
