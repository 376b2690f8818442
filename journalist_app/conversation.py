"""One source's page: its messages, files and replies; download, reply, mark, star, delete."""

from collections.abc import Iterator
from http import HTTPStatus

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import LazyString, lazy_gettext
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from core.errors import (
    EmptyReply,
    ReplyError,
    StoredFileDamaged,
    StoredFileMissing,
    UnsafeStorePath,
)
from core.inbox import conversation, find_replies, find_source, find_submissions
from core.models import Reply, Source, Submission
from core.replies import encrypt_reply
from core.staff_actions import (
    delete_selected_items,
    delete_sources,
    deliver_file,
    mark_items_seen,
    mark_items_unseen,
    send_reply,
    set_star,
)
from core.store import FILENAME_PATTERN
from core.timestamping import (
    NOT_IN_TREE,
    STAMPED,
    WAITING_FOR_TOKEN,
    configured,
    stamp_states,
)
from journalist_app.auth import login_required
from journalist_app.context import acting, db, me, staff
from journalist_app.evidence import bundle_response, damaged_response
from journalist_app.forms import ActionForm, ReplyForm
from journalist_app.i18n import _
from journalist_app.notices import current_notice

ITEM_ACTIONS = {"bundle", "seen", "unseen", "delete"}
MAX_SELECTION = 2000
CHUNK_BYTES = 256 * 1024

bp = Blueprint("conversation", __name__)
STAMP_LABELS: dict[str, LazyString] = {
    STAMPED: lazy_gettext("timestamped"),
    WAITING_FOR_TOKEN: lazy_gettext("in a tree, waiting for a timestamp token"),
    NOT_IN_TREE: lazy_gettext("not yet timestamped"),
}


def _source_or_404(source_uuid: str) -> Source:
    if len(source_uuid) > 36:
        abort(HTTPStatus.NOT_FOUND, _("No such source."))
    source = find_source(db(), source_uuid)
    if source is None:
        abort(HTTPStatus.NOT_FOUND, _("No such source: it may have been deleted."))
    return source


def _render(source: Source, *, reply_form: ReplyForm | None = None, error: str | None = None,
            status: int = HTTPStatus.OK) -> tuple[str, int]:
    items = conversation(db(), source, me())
    stamps = None
    if configured(staff().instance):
        # Staff see what is not yet covered by a trusted timestamp (core.timestamping).
        ids = [e.item.id for e in items if isinstance(e.item, Submission)]
        # The page's class says stamped or not; the label is in the staff member's language.
        stamps = {item_id: ("stamped" if state == STAMPED else "unstamped",
                            str(STAMP_LABELS[state]))
                  for item_id, state in stamp_states(db(), ids).items()}
    return (
        render_template(
            "source.html",
            source=source,
            items=items,
            stamps=stamps,
            reply_form=reply_form or ReplyForm(),
            form=ActionForm(),
            error=error,
            notice=current_notice(),
        ),
        status,
    )


@bp.get("/source/<source_uuid>")
@login_required
def show(source_uuid: str) -> tuple[str, int]:
    return _render(_source_or_404(source_uuid))


@bp.post("/source/<source_uuid>/reply")
@login_required
def reply(source_uuid: str) -> BaseResponse | tuple[str, int]:
    source = _source_or_404(source_uuid)
    form = ReplyForm()
    if not form.validate():
        return _render(
            source, reply_form=form, error=_("The reply is too long: split it into several."),
            status=HTTPStatus.BAD_REQUEST,
        )
    try:
        ciphertext = encrypt_reply(staff().instance, source, form.message.data or "")
    except EmptyReply as exc:
        return _render(source, reply_form=form, error=str(exc), status=HTTPStatus.BAD_REQUEST)
    except ReplyError as exc:
        return _render(source, reply_form=form, error=str(exc), status=HTTPStatus.BAD_REQUEST)
    send_reply(acting(), source, ciphertext)
    return redirect(url_for("conversation.show", source_uuid=source.uuid, notice="reply-sent"))


@bp.get("/source/<source_uuid>/download/<filename>")
@login_required
def download(source_uuid: str, filename: str) -> Response:
    """One ciphertext file exactly as stored. Names must be a stored item of this source."""
    if not FILENAME_PATTERN.fullmatch(filename) or filename.endswith("-receipt.gpg"):
        abort(HTTPStatus.NOT_FOUND, _("No such item."))
    source = _source_or_404(source_uuid)
    database = db()
    item: Submission | Reply | None = database.scalars(
        select(Submission).where(Submission.source_id == source.id, Submission.filename == filename)
    ).first()
    if item is None:
        item = database.scalars(
            select(Reply).where(Reply.source_id == source.id, Reply.filename == filename)
        ).first()
    if item is None:
        abort(HTTPStatus.NOT_FOUND, _("No such item: it may have been deleted."))
    try:
        # Verify, then record, then send: the file is hashed against the record first, and
        # the descriptor that was hashed is the one sent, so a concurrent deletion or a file
        # renamed over it can no longer change the download.
        verified = deliver_file(acting(), item)
    except StoredFileDamaged as exc:
        return damaged_response(exc)
    except (StoredFileMissing, FileNotFoundError):
        abort(HTTPStatus.GONE, _("This item was deleted while you were opening it."))
    except UnsafeStorePath:
        abort(HTTPStatus.NOT_FOUND, _("No such item."))
    handle = verified.handle

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    response = Response(chunks(), mimetype="application/pgp-encrypted", direct_passthrough=True)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Content-Length"] = str(verified.size)
    response.call_on_close(handle.close)
    return response


@bp.post("/source/<source_uuid>/items")
@login_required
def items(source_uuid: str) -> BaseResponse | str | tuple[str, int]:
    source = _source_or_404(source_uuid)
    action = request.form.get("action", "")
    if action not in ITEM_ACTIONS:
        abort(HTTPStatus.BAD_REQUEST, _("Choose one of the listed actions."))
    uuids = request.form.getlist("item")
    if len(uuids) > MAX_SELECTION:
        abort(
            HTTPStatus.BAD_REQUEST,
            _("Select at most %(count)d items at once.", count=MAX_SELECTION),
        )
    database = db()
    submissions = find_submissions(database, source, uuids)
    replies = find_replies(database, source, uuids)
    if not submissions and not replies:
        return redirect(
            url_for("conversation.show", source_uuid=source.uuid, notice="nothing-selected")
        )
    actor = acting()
    if action == "bundle":
        return bundle_response(actor, [*submissions, *replies])
    if action == "seen":
        mark_items_seen(actor, submissions, replies)
        return redirect(url_for("conversation.show", source_uuid=source.uuid, notice="seen"))
    if action == "unseen":
        mark_items_unseen(actor, submissions, replies)
        return redirect(url_for("conversation.show", source_uuid=source.uuid, notice="unseen"))
    if request.form.get("confirm") != "yes":
        return render_template(
            "confirm_items.html",
            source=source,
            submissions=submissions,
            replies=replies,
            form=ActionForm(),
        )
    delete_selected_items(actor, submissions, replies)
    return redirect(url_for("conversation.show", source_uuid=source.uuid, notice="deleted"))


@bp.post("/source/<source_uuid>/star")
@login_required
def star(source_uuid: str) -> BaseResponse:
    source = _source_or_404(source_uuid)
    starred = request.form.get("starred") != "no"
    set_star(acting(), [source], starred)
    back = request.form.get("back")
    notice = "starred" if starred else "unstarred"
    if back == "inbox":
        return redirect(url_for("inbox.index", notice=notice))
    return redirect(url_for("conversation.show", source_uuid=source.uuid, notice=notice))


@bp.post("/source/<source_uuid>/delete")
@login_required
def delete(source_uuid: str) -> BaseResponse | str:
    """Delete the conversation (``what=data``) or the whole source (``what=source``)."""
    source = _source_or_404(source_uuid)
    what = request.form.get("what", "")
    if what not in ("data", "source"):
        abort(HTTPStatus.BAD_REQUEST, _("Say what to delete: the data or the whole source."))
    action = "delete-source" if what == "source" else "delete-data"
    if request.form.get("confirm") != "yes":
        return render_template(
            "confirm_sources.html",
            sources=[source],
            action=action,
            form=ActionForm(),
            target=url_for("conversation.delete", source_uuid=source.uuid),
            what=what,
        )
    delete_sources(acting(), [source], whole_source=what == "source")
    if what == "source":
        return redirect(url_for("inbox.index", notice="sources-deleted"))
    return redirect(
        url_for("conversation.show", source_uuid=source.uuid, notice="conversation-deleted")
    )
