"""A journalist's own account page and the organisation logo."""

from flask import Blueprint, Response, abort, g, render_template, send_file

from core.audit_actions import AuditAction
from core.staff_accounts import reset_passphrase
from journalist_app.auth import login_required
from journalist_app.context import db, me, staff
from journalist_app.forms import ActionForm
from journalist_app.i18n import _
from journalist_app.session import new_token

bp = Blueprint("account", __name__)


@bp.get("/account")
@login_required
def show() -> str:
    return render_template("account.html", form=ActionForm())


@bp.post("/account/new-passphrase")
@login_required
def new_passphrase() -> str:
    """Replace one's own passphrase with a generated one; every session ends, this one too."""
    from flask import session

    journalist = me()
    database = db()
    passphrase = reset_passphrase(database, journalist)
    staff().record(database, journalist, AuditAction.USER_RESET_PASSPHRASE, object=journalist.uuid)
    database.commit()
    session.replace_token(new_token())  # type: ignore[attr-defined]
    g.journalist = None
    return render_template(
        "user_secrets.html", user=journalist, title="Your new passphrase", passphrase=passphrase,
        secret=None, qr=None, verify_form=None, signed_out=True,
    )


@bp.get("/logo")
def logo() -> Response:
    path = staff().instance.settings.logo_path
    if not path.is_file():
        abort(404, _("No logo has been uploaded."))
    return send_file(path, mimetype="image/png", max_age=0)
