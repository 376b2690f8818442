"""Administration: staff accounts, instance settings and logo, and the audit log."""

from http import HTTPStatus
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from core.acknowledgements import read_pinned_workstation_key
from core.audit import count_entries, list_entries, verify_audit_log
from core.audit_actions import AuditAction
from core.audit_names import name_audit_objects
from core.errors import AcknowledgementError, InvalidOtpCode, JournalistError
from core.instance_config import instance_config_for_edit, read_organization_name
from core.models import Journalist
from core.retention import holdings
from core.staff_accounts import (
    create_journalist,
    delete_journalist,
    find_journalist_by_uuid,
    list_journalists,
    reset_passphrase,
    reset_two_factor,
    update_journalist,
)
from core.two_factor import provisioning_uri, verify_two_factor
from crypto.signing import fingerprint_of
from journalist_app.auth import admin_required
from journalist_app.context import db, me, staff
from journalist_app.errors import LogoRejected
from journalist_app.forms import (
    ActionForm,
    EditUserForm,
    InstanceSettingsForm,
    LogoForm,
    NewUserForm,
    ResetTwoFactorForm,
    VerifyCodeForm,
)
from journalist_app.i18n import _
from journalist_app.inbox import page_number
from journalist_app.logo import MAX_LOGO_BYTES, remove_logo, save_logo
from journalist_app.notices import current_notice
from journalist_app.qr import qr_svg

MIB = 1024 * 1024
AUDIT_PER_PAGE = 100

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _user_or_404(user_uuid: str) -> Journalist:
    journalist = find_journalist_by_uuid(db(), user_uuid[:36])
    if journalist is None:
        abort(HTTPStatus.NOT_FOUND, _("No such account: it may have been deleted."))
    return journalist


def _enrolment_page(journalist: Journalist, *, passphrase: str | None, title: str) -> str:
    organisation = read_organization_name(db())
    return render_template(
        "user_secrets.html",
        user=journalist,
        title=title,
        passphrase=passphrase,
        secret=journalist.otp_secret if journalist.is_totp else None,
        qr=qr_svg(provisioning_uri(journalist, organisation)) if journalist.is_totp else None,
        verify_form=VerifyCodeForm(),
    )



# --- accounts ---


@bp.get("/users")
@admin_required
def users() -> str:
    return render_template(
        "users.html", users=list_journalists(db()), form=ActionForm(), notice=current_notice()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user() -> str | tuple[str, int]:
    form = NewUserForm()
    if request.method == "GET":
        return render_template("user_new.html", form=form)
    if not form.validate_on_submit():
        return render_template("user_new.html", form=form, error=_form_errors(form)), 400
    database, context = db(), staff()
    hotp = form.otp_kind.data == "hotp"
    try:
        journalist, passphrase = create_journalist(
            database,
            username=(form.username.data or "").strip(),
            first_name=form.first_name.data,
            last_name=form.last_name.data,
            is_admin=bool(form.is_admin.data),
            otp_secret=(form.hotp_secret.data or None) if hotp else None,
            hotp=hotp,
        )
    except JournalistError as exc:
        database.rollback()
        return render_template("user_new.html", form=form, error=str(exc)), 400
    context.record(
        database, me(), AuditAction.USER_CREATE, object=journalist.uuid,
        detail="admin" if journalist.is_admin else None,
    )
    database.commit()
    return _enrolment_page(journalist, passphrase=passphrase, title=_("Account created"))


@bp.route("/users/<user_uuid>", methods=["GET", "POST"])
@admin_required
def edit_user(user_uuid: str) -> BaseResponse | str | tuple[str, int]:
    journalist = _user_or_404(user_uuid)
    form = EditUserForm(obj=journalist) if request.method == "GET" else EditUserForm()
    page = {"user": journalist, "form": form, "action_form": ActionForm(),
            "reset_form": ResetTwoFactorForm()}
    if request.method == "GET":
        return render_template("user_edit.html", **page)
    if not form.validate_on_submit():
        return render_template("user_edit.html", error=_form_errors(form), **page), 400
    database, context, admin = db(), staff(), me()
    make_admin = bool(form.is_admin.data)
    if journalist.id == admin.id and not make_admin:
        return render_template(
            "user_edit.html",
            error=_("You cannot remove your own administrator rights; ask another admin."),
            **page,
        ), 400
    was_admin = journalist.is_admin
    try:
        update_journalist(
            database,
            journalist,
            username=(form.username.data or "").strip(),
            first_name=form.first_name.data or "",
            last_name=form.last_name.data or "",
            is_admin=make_admin,
        )
    except JournalistError as exc:
        database.rollback()
        return render_template("user_edit.html", error=str(exc), **page), 400
    context.record(database, admin, AuditAction.USER_EDIT, object=journalist.uuid)
    if make_admin != was_admin:
        change = AuditAction.USER_MAKE_ADMIN if make_admin else AuditAction.USER_REMOVE_ADMIN
        context.record(database, admin, change, object=journalist.uuid)
    database.commit()
    return redirect(url_for("admin.users", notice="user-saved"))


@bp.post("/users/<user_uuid>/delete")
@admin_required
def delete_user(user_uuid: str) -> BaseResponse | str | tuple[str, int]:
    journalist = _user_or_404(user_uuid)
    database, admin = db(), me()
    if journalist.id == admin.id:
        abort(HTTPStatus.BAD_REQUEST, _("You cannot delete your own account; ask another admin."))
    if request.form.get("confirm") != "yes":
        return render_template("user_delete.html", user=journalist, form=ActionForm())
    staff().record(database, admin, AuditAction.USER_DELETE, object=journalist.uuid)
    delete_journalist(database, journalist)
    database.commit()
    return redirect(url_for("admin.users", notice="user-deleted"))


@bp.post("/users/<user_uuid>/reset-passphrase")
@admin_required
def reset_user_passphrase(user_uuid: str) -> str:
    journalist = _user_or_404(user_uuid)
    database = db()
    if request.form.get("confirm") != "yes":
        # The old passphrase stops working at once: ask first, and say so loudly for one's own.
        return render_template(
            "user_reset.html", user=journalist, own=journalist.id == me().id
        )
    passphrase = reset_passphrase(database, journalist)
    staff().record(database, me(), AuditAction.USER_RESET_PASSPHRASE, object=journalist.uuid)
    database.commit()
    return render_template(
        "user_secrets.html", user=journalist, title=_("New passphrase"), passphrase=passphrase,
        secret=None, qr=None, verify_form=None,
    )


@bp.post("/users/<user_uuid>/reset-2fa")
@admin_required
def reset_user_two_factor(user_uuid: str) -> str | tuple[str, int]:
    journalist = _user_or_404(user_uuid)
    form = ResetTwoFactorForm()
    database = db()
    if not form.validate_on_submit():
        abort(HTTPStatus.BAD_REQUEST, _form_errors(form))
    hotp = form.otp_kind.data == "hotp"
    if hotp and not (form.hotp_secret.data or "").strip():
        abort(HTTPStatus.BAD_REQUEST, _("A hardware token needs its secret: paste it and retry."))
    try:
        reset_two_factor(
            database, journalist, hotp_secret=(form.hotp_secret.data or None) if hotp else None
        )
    except JournalistError as exc:
        database.rollback()
        abort(HTTPStatus.BAD_REQUEST, str(exc))
    staff().record(database, me(), AuditAction.USER_RESET_2FA, object=journalist.uuid)
    database.commit()
    return _enrolment_page(journalist, passphrase=None, title=_("New second factor"))


@bp.post("/users/<user_uuid>/verify-2fa")
@admin_required
def verify_user_two_factor(user_uuid: str) -> BaseResponse | tuple[str, int]:
    """Check a first code from the newly enrolled authenticator (it is then used up)."""
    journalist = _user_or_404(user_uuid)
    form = VerifyCodeForm()
    database = db()
    try:
        if not form.validate_on_submit():
            raise InvalidOtpCode(_("Enter the 6-digit code your authenticator shows."))
        verify_two_factor(database, journalist, form.code.data or "")
    except InvalidOtpCode as exc:
        database.rollback()
        page = render_template(
            "user_secrets.html", user=journalist, title=_("Check the authenticator"),
            passphrase=None, secret=journalist.otp_secret if journalist.is_totp else None,
            qr=qr_svg(provisioning_uri(journalist, read_organization_name(database)))
            if journalist.is_totp else None,
            verify_form=form, error=str(exc),
        )
        return page, 400
    database.commit()
    return redirect(url_for("admin.users", notice="two-factor-verified"))


# --- instance settings ---


def _settings_page(form: InstanceSettingsForm, *, error: str | None = None) -> str:
    context = staff()
    return render_template(
        "settings.html",
        form=form,
        logo_form=LogoForm(),
        remove_form=ActionForm(),
        config=instance_config_for_edit(db()),
        server_max_mib=context.instance.settings.max_upload_bytes // MIB,
        submission_fingerprint=context.instance.submission_fingerprint,
        signing_fingerprint=context.instance.signer.fingerprint,
        max_logo_kib=MAX_LOGO_BYTES // 1024,
        held=holdings(db()),
        retention_days=context.instance.settings.retention_days,
        workstation_fingerprint=_workstation_fingerprint(),
        error=error,
        notice=current_notice(),
    )


def _workstation_fingerprint() -> str | None:
    try:
        key = read_pinned_workstation_key(staff().instance.settings)
    except AcknowledgementError as exc:
        return _("unusable: %(reason)s", reason=str(exc))
    return None if key is None else fingerprint_of(key)


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings() -> BaseResponse | str | tuple[str, int]:
    database, context = db(), staff()
    config = instance_config_for_edit(database)
    server_max = context.instance.settings.max_upload_bytes
    if request.method == "GET":
        form = InstanceSettingsForm(
            organization_name=config.organization_name,
            allow_document_uploads=config.allow_document_uploads,
            max_upload_mib=(config.max_upload_bytes or server_max) // MIB,
            initial_message_min_len=config.initial_message_min_len,
            reject_message_with_codename=config.reject_message_with_codename,
        )
        return _settings_page(form)
    form = InstanceSettingsForm()
    if not form.validate_on_submit():
        return _settings_page(form, error=_form_errors(form)), 400
    limit = int(form.max_upload_mib.data or 0) * MIB
    if limit > server_max:
        return _settings_page(
            form,
            error=(
                f"The upload limit can only be lowered: the server allows at most "
                f"{server_max // MIB} MiB (SKRYNKA_MAX_UPLOAD_BYTES)."
            ),
        ), 400
    name = (form.organization_name.data or "").strip()
    if not name or any(ord(ch) < 32 for ch in name):
        return _settings_page(form, error=_("Give the organisation a printable name.")), 400
    config.organization_name = name
    config.allow_document_uploads = bool(form.allow_document_uploads.data)
    config.max_upload_bytes = None if limit == server_max else limit
    config.initial_message_min_len = int(form.initial_message_min_len.data or 0)
    config.reject_message_with_codename = bool(form.reject_message_with_codename.data)
    context.record(
        database, me(), AuditAction.INSTANCE_SETTINGS,
        detail=(
            f"name={name!r} uploads={config.allow_document_uploads} "
            f"max_upload_bytes={config.max_upload_bytes} "
            f"min_len={config.initial_message_min_len} "
            f"reject_codename={config.reject_message_with_codename}"
        ),
    )
    database.commit()
    return redirect(url_for("admin.settings", notice="settings-saved"))


@bp.post("/logo")
@admin_required
def logo() -> BaseResponse | tuple[str, int]:
    form = LogoForm()
    database, context = db(), staff()
    blank = InstanceSettingsForm(formdata=None, obj=instance_config_for_edit(database))
    if not form.validate_on_submit():
        return _settings_page(blank, error=_("Choose a PNG file to upload.")), 400
    data = form.logo.data.read(MAX_LOGO_BYTES + 1)
    try:
        save_logo(context.instance.settings.logo_path, data)
    except LogoRejected as exc:
        return _settings_page(blank, error=str(exc)), 400
    instance_config_for_edit(database).has_logo = True
    context.record(database, me(), AuditAction.LOGO_UPDATE, detail=f"{len(data)} bytes")
    database.commit()
    return redirect(url_for("admin.settings", notice="logo-saved"))


@bp.post("/logo/delete")
@admin_required
def delete_logo() -> BaseResponse:
    database, context = db(), staff()
    remove_logo(context.instance.settings.logo_path)
    instance_config_for_edit(database).has_logo = False
    context.record(database, me(), AuditAction.LOGO_REMOVE)
    database.commit()
    return redirect(url_for("admin.settings", notice="logo-removed"))


# --- audit log ---


@bp.get("/audit")
@admin_required
def audit() -> str:
    database, context = db(), staff()
    page = page_number(request.args.get("page"))
    total = count_entries(database)
    pages = max(1, -(-total // AUDIT_PER_PAGE))
    page = min(page, pages)
    entries = list_entries(database, page=page, per_page=AUDIT_PER_PAGE)
    names = {j.uuid: j.username for j in list_journalists(database)}
    objects = name_audit_objects(database, [e.object for e in entries if e.object], names)
    verdict = (
        verify_audit_log(database, context.instance.signer.public_key)
        if request.args.get("verify") == "1"
        else None
    )
    return render_template(
        "audit.html", entries=entries, names=names, objects=objects, page=page, pages=pages,
        total=total, verdict=verdict,
    )




def _form_errors(form: Any) -> str:
    """What is wrong with a refused form, field by field, in the staff member's language."""
    parts = []
    for field, messages in form.errors.items():
        if field == "csrf_token":
            # Flask-WTF's own reasons are English and say nothing the person can act on.
            parts.append(_("The form expired; reload the page and try again."))
            continue
        label = form[field].label.text
        parts.append(f"{label}: {'; '.join(str(m) for m in messages)}")
    return " ".join(parts) or _("The form could not be read; reload the page and try again.")
