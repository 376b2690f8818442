"""Uploading the workstation's signed acknowledgement: the server forgets what it confirmed.

Any signed-in member of staff may upload (they carry the file from the air-gapped workstation);
the file itself is the authority, checked against the pinned workstation key by
core.staff_actions.accept_acknowledgement. The answer lists every item and what became of it. A
refused file changes nothing and is explained on the same page with status 400.
"""

from flask import Blueprint, render_template
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from core.acknowledgements import ItemOutcome
from core.errors import AcknowledgementError
from core.staff_actions import accept_acknowledgement
from formats.acknowledgement import MAX_ACKNOWLEDGEMENT_BYTES
from journalist_app.auth import login_required
from journalist_app.context import acting, staff
from journalist_app.forms import AcknowledgementForm
from journalist_app.i18n import _

bp = Blueprint("acknowledgements", __name__, url_prefix="/acknowledgements")

# What became of each item, in the staff member's language (the API answers with the values).
OUTCOME_TEXTS = {
    ItemOutcome.DELETED: lazy_gettext("deleted from the server"),
    ItemOutcome.HELD: lazy_gettext("acknowledged; deleted when the retention period has passed"),
    ItemOutcome.ALREADY_ACKNOWLEDGED: lazy_gettext("acknowledged before; nothing changed"),
    ItemOutcome.UNKNOWN: lazy_gettext(
        "not on this server (already deleted, or never here); nothing changed"
    ),
    ItemOutcome.MISMATCH: lazy_gettext(
        "the server's ciphertext has another SHA-256; left alone"
    ),
    ItemOutcome.REPLY_KEPT: lazy_gettext("a reply; kept so the source can read it"),
}


def _page(form: AcknowledgementForm, **values: object) -> str:
    return render_template(
        "acknowledgements.html",
        form=form,
        retention_days=staff().instance.settings.retention_days,
        outcome_texts=OUTCOME_TEXTS,
        **values,
    )


@bp.get("")
@login_required
def show() -> str:
    return _page(AcknowledgementForm())


@bp.post("")
@login_required
def upload() -> BaseResponse | str | tuple[str, int]:
    form = AcknowledgementForm()
    if not form.validate_on_submit():
        return _page(
            form,
            error=_(
                "Choose the acknowledgement file written by `skrynka-workstation acknowledge` "
                "(or reload the page if it was open for long)."
            ),
        ), 400
    data = form.acknowledgement.data.read(MAX_ACKNOWLEDGEMENT_BYTES + 1)
    try:
        outcome = accept_acknowledgement(acting(), data)
    except AcknowledgementError as exc:
        return _page(AcknowledgementForm(formdata=None), error=str(exc)), 400
    return _page(AcknowledgementForm(formdata=None), outcome=outcome)
