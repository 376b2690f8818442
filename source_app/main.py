"""The source's pages: get a codename, log in, submit, read replies, log out."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext
from flask_babel import ngettext as babel_ngettext
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse
from wtforms import ValidationError

from core.errors import (
    CiphertextStoreError,
    EmptyFile,
    EmptySubmission,
    MessageContainsCodename,
    MessageNotText,
    MessageTooLong,
    MessageTooShort,
    SubmissionRefused,
    TooManyFiles,
    UnknownSource,
    UploadsDisabled,
    UploadTooLarge,
)
from core.instance_config import read_instance_config
from core.models import Reply, Source, Submission
from core.replies import (
    REPLY_CIPHERTEXT_MAX_BYTES,
    REPLY_PLAINTEXT_MAX_BYTES,
    delete_all_replies_for_source,
    delete_reply_for_source,
)
from core.sources import (
    authenticate_source,
    count_recent_pending_sources,
    create_source,
    prune_pending_sources,
)
from core.submissions import (
    MAX_FILES_PER_SUBMISSION,
    SubmissionDraft,
    open_submission,
    upload_limit,
)
from crypto.codename import CODENAME_LANGUAGES, MAX_CODENAME_CHARS, generate_codename
from crypto.errors import CryptoError, InvalidCodename
from crypto.reply_key import decrypt_with_reply_key
from formats.errors import InvalidConsent, InvalidIntake
from source_app.answers import (
    AnswerFields,
    StreamedAnswers,
    problem_texts,
    read_consent,
    read_intake,
    record_consent,
)
from source_app.context import SourceContext, source_context
from source_app.drain import refuse_upload
from source_app.errors import MalformedUpload, ServerBusy, TooManyParts
from source_app.i18n import current_locale
from source_app.session import LONGEST_SESSION_FACTOR, Expired, LoggedIn
from source_app.upload import (
    FORM_OVERHEAD_BYTES,
    HONEYPOT_FIELD,
    MAX_PARTS_PER_REQUEST,
    RequestBody,
    receive_form,
)

bp = Blueprint("main", __name__)

View = TypeVar("View", bound=Callable[..., Any])


def _(text: str, **values: Any) -> str:
    """gettext with a type (Flask-Babel ships none); ``_`` is what extraction looks for."""
    return str(gettext(text, **values))


def ngettext(singular: str, plural: str, number: int) -> str:
    return str(babel_ngettext(singular, plural, number))


MIB = 1024 * 1024
#: The form field that names the reply to delete (the uuid the page shows with it).
REPLY_FIELD = "reply_uuid"
#: Reply uuids are 36 characters; anything much longer is not one, and costs no query.
_REPLY_UUID_MAX_CHARS = 64


@dataclass(frozen=True)
class ReplyView:
    """One reply on /lookup; ``text`` is None when it could not be read (shown as such)."""

    uuid: str
    created_at: datetime
    text: str | None


def login_required(view: View) -> View:
    """Run ``view`` only for a logged-in source (``g.login``); slide the session's expiry."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        box = source_context().sessions
        state = box.current(session)
        if isinstance(state, LoggedIn):
            g.login = box.refresh(session, state.secrets)
            return view(*args, **kwargs)
        if isinstance(state, Expired):
            box.log_out(session)
            refusal: BaseResponse = make_response(render_template("session_expired.html"), 401)
        else:
            refusal = redirect(url_for("main.login"), code=303)
        # Other forms were read whole before the view (the CSRF check); /submit reads its own
        # body, and an upload refused here still has to reach the browser as a page.
        return refuse_upload(refusal) if request.endpoint == "main.submit" else refusal

    return cast(View, wrapper)


@bp.get("/")
def index() -> Any:
    if isinstance(source_context().sessions.current(session), LoggedIn):
        return redirect(url_for("main.lookup"), code=303)
    return render_template("index.html")


@bp.post("/generate")
def generate() -> str:
    # The codename is in the language the source reads the site in; any language logs in.
    language = current_locale()
    codename = generate_codename(language if language in CODENAME_LANGUAGES else "en")
    source_context().sessions.hold_codename(session, codename)
    return render_template(
        "generate.html", codename=codename, word_count=len(codename.split(" "))
    )


@bp.post("/create")
def create() -> ResponseReturnValue:
    context = source_context()
    codename = context.sessions.take_codename(session)
    if codename is None:
        if isinstance(context.sessions.current(session), LoggedIn):
            # "Continue" sent twice: the first one already logged the source in.
            return redirect(url_for("main.lookup"), code=303)
        flash(
            _(
                "That codename page is too old or was already used. If you have not learnt "
                "that codename, get a new one below."
            ),
            "error",
        )
        return redirect(url_for("main.index"), code=303)
    # Pending sources whose every possible login is over only hold a designation: drop them,
    # then refuse to create more than the global rate (it cannot single out a visitor).
    prune_pending_sources(context.instance, _longest_login(context))
    recent = count_recent_pending_sources(context.instance, timedelta(minutes=1))
    if recent >= context.creations_per_minute:
        # The codename goes back into the session: the source can confirm it again later.
        context.sessions.hold_codename(session, codename)
        return _busy(retry_create=True)
    try:
        with context.derivations.slot():
            login = create_source(context.instance, codename)
    except ServerBusy:
        context.sessions.hold_codename(session, codename)
        return _busy(retry_create=True)
    context.sessions.log_in(session, login.secrets)
    return redirect(url_for("main.lookup"), code=303)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    # ?show=1: the codename field shows what is typed (the source chose it on the page).
    show = request.args.get("show") == "1"
    if request.method == "GET":
        return render_template("login.html", show=show)
    typed = request.form.get("codename", "")
    try:
        if len(typed) > MAX_CODENAME_CHARS:
            # Refused before any derivation: long input must not buy Argon2id time.
            raise InvalidCodename("too long")
        with source_context().derivations.slot():
            found = authenticate_source(source_context().instance, typed)
    except ServerBusy:
        return _busy()
    except InvalidCodename:
        return render_template(
            "login.html",
            show=show,
            error=_(
                "That is not a codename: check the number of words and the spelling of each "
                "word."
            ),
        ), 400
    except UnknownSource:
        return render_template(
            "login.html",
            show=show,
            error=_(
                "No one has this codename here. Check each word: one wrong word gives a "
                "different codename."
            ),
        ), 400
    source_context().sessions.log_in(session, found.secrets)
    return redirect(url_for("main.lookup"), code=303)


@bp.post("/logout")
def logout() -> str:
    # The session, and the language in it, is gone; this last page still speaks the source's
    # language, and its links carry the choice without a cookie.
    language = current_locale()
    source_context().sessions.log_out(session)
    with force_locale(language):
        return render_template("logged_out.html")


@bp.get("/lookup")
@login_required
def lookup() -> Any:
    return _render_lookup()


def _render_lookup(
    filled: AnswerFields | None = None,
    refusals: tuple[str, ...] = (),
    lost_files: tuple[str, ...] = (),
) -> Any:
    """The source's page; after a refusal, with what was typed put back (``filled``).

    A browser cannot refill a file field, so a refusal names the files to choose again.
    """
    context = source_context()
    instance = context.instance
    with instance.sessions() as db:
        source = _current_source(db)
        if source is None:
            return _source_gone()
        counts: dict[str, int] = {
            kind: count
            for kind, count in db.execute(
                select(Submission.kind, func.count())
                .where(Submission.source_id == source.id)
                .group_by(Submission.kind)
            )
        }
        replies = _read_replies(source, g.login.secrets.wrap_key)
        config = read_instance_config(db)
    limit = upload_limit(instance, config)
    return render_template(
        "lookup.html",
        messages_received=counts.get("message", 0),
        files_received=counts.get("file", 0),
        replies=replies,
        allow_uploads=config.allow_document_uploads if config is not None else True,
        first_submission=not (counts.get("message") or counts.get("file")),
        limit_mib=limit // MIB,
        honeypot_field=HONEYPOT_FIELD,
        filled=filled,
        refusals=refusals,
        lost_files=lost_files,
        consent_choice=_consent_shown(),
    ), (400 if refusals else 200)


def _consent_shown() -> AnswerFields | None:
    choice = source_context().sessions.remembered_consent(session)
    return AnswerFields(dict(choice)) if choice is not None else None


def _refused(
    texts: list[str], fields: AnswerFields | None, message: bytes | None, files: tuple[str, ...]
) -> Any:
    """Show the page again with the refusal and every field the source filled in but files."""
    filled = AnswerFields(dict(fields.values)) if fields is not None else AnswerFields()
    if message is not None:
        filled.values["msg"] = [message.decode("utf-8", "replace")]
    return _render_lookup(filled, tuple(texts), files)


@bp.post("/submit")
@login_required
def submit() -> Any:
    """Receive a message and/or files; nothing is shown to staff unless all of it is stored.

    The body is parsed here, not by Werkzeug (which would spool files to /tmp), so the global
    CSRF hook is off for this view and the token is checked once the body has been read.
    """
    instance = source_context().instance
    try:
        draft = open_submission(instance, g.login.source_id)
    except UnknownSource:
        source_context().sessions.log_out(session)
        return refuse_upload(make_response(render_template("session_expired.html"), 401))
    with draft:
        limit = draft.limit + FORM_OVERHEAD_BYTES
        if request.content_length is not None and request.content_length > limit:
            return _too_large(draft)
        request.max_content_length = limit
        answers = StreamedAnswers()
        try:
            # The server's own input, not request.stream: see RequestBody for why.
            body = RequestBody(request.environ, limit)
            form = receive_form(body, request.content_type or "", draft, answers)
            fields = answers.fields()
        except (UploadTooLarge, RequestEntityTooLarge):
            return _too_large(draft)
        except TooManyParts:
            return _too_many(draft)
        except (MalformedUpload, ClientDisconnected):
            return refuse_upload(make_response(render_template("upload_malformed.html"), 400))
        except MessageTooLong as refused:
            # The rest of the body was not read: only what came before the message survives.
            return _refused([_refusal_text(refused, draft)], answers.partial(), None, ())
        try:
            validate_csrf(form.csrf_token)
        except ValidationError as exc:
            raise CSRFError(str(exc)) from exc
        if form.honeypot:
            # A robot filled the hidden field: look successful, keep nothing.
            flash(_("Thank you. We received your submission."), "success")
            return redirect(url_for("main.lookup"), code=303)
        try:
            # Consent is asked with a source's first submission (and taken whenever the form
            # carried the questions); intake answers may come with every submission.
            intake = read_intake(fields)
            consent = record_consent(read_consent(fields)) if fields.has_consent else None
        except (InvalidIntake, InvalidConsent) as invalid:
            return _refused(
                problem_texts(invalid.problems), fields, form.message, form.file_names
            )
        draft.attach_answers(intake=intake, consent=consent)
        if isinstance(form.refusal, TooManyFiles):
            return _too_many(draft)
        try:
            if form.refusal is not None:
                raise form.refusal
            if form.message is not None:
                draft.set_message(form.message)
            draft.commit()
        except SubmissionRefused as refused:
            return _refused(
                [_refusal_text(refused, draft)], fields, form.message, form.file_names
            )
        except UnknownSource:
            source_context().sessions.log_out(session)
            return render_template("session_expired.html"), 401
        except (CryptoError, CiphertextStoreError):
            return render_template("submit_failed.html"), 503
    if fields.has_consent:
        source_context().sessions.remember_consent(session, fields.consent_choice())
    flash(_("Thank you. We received your submission."), "success")
    return redirect(url_for("main.lookup"), code=303)


@bp.post("/delete")
@login_required
def delete() -> ResponseReturnValue:
    """Remove one reply from the source's page; staff keep their copy (core.replies)."""
    reply_uuid = request.form.get(REPLY_FIELD, "")
    with source_context().instance.sessions() as db:
        source = _current_source(db)
        if source is None:
            return _source_gone()
        # Only the logged-in source's own replies match: another source's uuid changes nothing.
        deleted = len(reply_uuid) <= _REPLY_UUID_MAX_CHARS and delete_reply_for_source(
            db, source, reply_uuid
        )
        db.commit()
    if deleted:
        flash(_("The reply was deleted from your page."), "success")
    else:
        flash(
            _(
                "That reply is not on your page, so nothing was deleted. "
                "Reload your page and try again."
            ),
            "error",
        )
    return redirect(url_for("main.lookup", _anchor="replies"), code=303)


@bp.route("/delete-all", methods=["GET", "POST"])
@login_required
def delete_all() -> ResponseReturnValue:
    """Ask first, then remove every reply from the source's page (no JavaScript needed).

    The confirmation is a page of its own: GET shows it, and a POST without ``confirm=yes``
    (an older page's button) shows it too; only the confirming form deletes.
    """
    with source_context().instance.sessions() as db:
        source = _current_source(db)
        if source is None:
            return _source_gone()
        if request.method == "GET" or request.form.get("confirm") != "yes":
            count = db.scalar(
                select(func.count())
                .select_from(Reply)
                .where(Reply.source_id == source.id, Reply.deleted_by_source.is_(False))
            )
            return render_template("delete_all.html", count=count or 0)
        deleted = delete_all_replies_for_source(db, source)
        db.commit()
    if deleted:
        flash(
            ngettext(
                "%(num)d reply was deleted from your page.",
                "%(num)d replies were deleted from your page.",
                deleted,
            ),
            "success",
        )
    else:
        flash(_("There were no replies to delete."), "success")
    return redirect(url_for("main.lookup", _anchor="replies"), code=303)


def _current_source(db: Session) -> Source | None:
    source: Source | None = db.scalar(
        select(Source).where(Source.filesystem_id == g.login.source_id)
    )
    return source


def _busy(*, retry_create: bool = False) -> BaseResponse:
    """The calm answer when the server has all the key derivations it can run at once."""
    response = make_response(render_template("busy.html", retry_create=retry_create), 503)
    response.headers["Retry-After"] = "60"
    return response


def _longest_login(context: SourceContext) -> timedelta:
    """The longest a source login can last (sliding stops at LONGEST_SESSION_FACTOR)."""
    settings = context.instance.settings
    return timedelta(
        seconds=LONGEST_SESSION_FACTOR * settings.source_session_seconds
        + settings.worker_timeout_seconds
    )


def _source_gone() -> tuple[str, int]:
    """The logged-in source no longer exists (staff deleted it): end the session."""
    source_context().sessions.log_out(session)
    return render_template("session_expired.html"), 401


def _too_large(draft: SubmissionDraft) -> BaseResponse:
    draft.discard()
    page = render_template("too_large.html", limit_mib=draft.limit // MIB)
    return refuse_upload(make_response(page, 413))


def _too_many(draft: SubmissionDraft) -> BaseResponse:
    """The friendly page for a submission with too many files (or a form with too many parts)."""
    draft.discard()
    page = render_template(
        "too_many_files.html", max_files=MAX_FILES_PER_SUBMISSION, max_parts=MAX_PARTS_PER_REQUEST
    )
    return refuse_upload(make_response(page, 413))


def _refusal_text(refused: SubmissionRefused, draft: SubmissionDraft) -> str:
    if isinstance(refused, EmptySubmission):
        return _("You must write a message or choose a file to submit.")
    if isinstance(refused, EmptyFile):
        return _("The file you chose is empty. Nothing was sent; choose the file again.")
    if isinstance(refused, MessageNotText):
        return _("Your message could not be read as text. Nothing was sent; type it again.")
    if isinstance(refused, MessageTooLong):
        return _("Your message is too long. Nothing was sent; send long texts as a file.")
    if isinstance(refused, MessageTooShort):
        return ngettext(
            "Your first message must be at least %(num)d character long.",
            "Your first message must be at least %(num)d characters long.",
            refused.minimum,
        )
    if isinstance(refused, MessageContainsCodename):
        return _(
            "Your message contains your codename. Nothing was sent: never share your codename, "
            "not even with us. Remove it and send the message again."
        )
    if isinstance(refused, UploadsDisabled):
        return _("This site accepts messages only; files cannot be sent here.")
    if isinstance(refused, UploadTooLarge):
        return _("The file is larger than %(size)d MiB.", size=draft.limit // MIB)
    return _("Your submission could not be accepted. Nothing was sent.")


def _read_replies(source: Source, wrap_key: bytes) -> list[ReplyView]:
    """Decrypt the source's replies in memory (the reply key exists only for this call).

    Each reply is decrypted on its own and capped in size: one that does not decrypt, is
    missing, or expands too far is shown as unreadable, and the others, the form and the delete
    buttons stay on the page.
    """
    instance = source_context().instance
    rows = [reply for reply in source.replies if not reply.deleted_by_source]
    if not rows:
        return []
    ciphertexts = []
    for reply in rows:
        try:
            path = instance.store.path_of(source.filesystem_id, reply.filename)
            with path.open("rb") as handle:
                # One byte past the cap makes an oversized file fail to decrypt, not fill memory.
                ciphertexts.append(handle.read(REPLY_CIPHERTEXT_MAX_BYTES + 1))
        except (OSError, CiphertextStoreError):
            ciphertexts.append(b"")
    texts = decrypt_with_reply_key(
        source.reply_key_wrapped,
        wrap_key,
        ciphertexts,
        instance.settings.ram_dir,
        max_plaintext_bytes=REPLY_PLAINTEXT_MAX_BYTES,
    )
    return [
        ReplyView(
            reply.uuid, reply.created_at, None if text is None else text.decode("utf-8", "replace")
        )
        for reply, text in zip(rows, texts, strict=True)
    ]
