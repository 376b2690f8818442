"""The staff forms. Every form carries Flask-WTF's CSRF token; lengths are bounded.

flask_wtf ships no type information, so mypy sees FlaskForm as Any (hence the ignores). The
labels and validator messages of the forms whose errors are shown (the admin's) are translated
here: WTForms has no Belarusian catalog of its own, and `admin._form_errors` names each field by
its label.
"""

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.replies import REPLY_MAX_CHARS
from core.staff_accounts import NAME_MAX_CHARS, PASSPHRASE_MAX_CHARS

# Validator messages in the staff member's language (WTForms fills in the %(...)d values).
REQUIRED = lazy_gettext("This field is required.")
TOO_LONG = lazy_gettext("Use at most %(max)d characters.")
TOO_SMALL = lazy_gettext("The number must be at least %(min)d.")
OUT_OF_RANGE = lazy_gettext("The number must be between %(min)d and %(max)d.")


def _length(most: int) -> Length:
    return Length(max=most, message=TOO_LONG)


SECOND_FACTORS = [
    SelectChoice("totp", lazy_gettext("Authenticator app (TOTP)")),
    SelectChoice("hotp", lazy_gettext("Hardware token (HOTP)")),
]


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    passphrase = PasswordField(
        "Passphrase", validators=[DataRequired(), Length(max=PASSPHRASE_MAX_CHARS)]
    )
    code = StringField("One-time code", validators=[DataRequired(), Length(max=16)])


class ReplyForm(FlaskForm):  # type: ignore[misc]
    message = TextAreaField("Reply", validators=[Length(max=REPLY_MAX_CHARS)])


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that changes something: only the CSRF token is needed."""


class EditUserForm(FlaskForm):  # type: ignore[misc]
    """Who a staff member is: what an administrator sets when creating or editing one."""

    username = StringField(lazy_gettext("Username"),
                           validators=[DataRequired(message=REQUIRED), _length(64)])
    first_name = StringField(lazy_gettext("First name"),
                             validators=[Optional(), _length(NAME_MAX_CHARS)])
    last_name = StringField(lazy_gettext("Last name"),
                            validators=[Optional(), _length(NAME_MAX_CHARS)])
    is_admin = BooleanField(lazy_gettext("Administrator"))


class NewUserForm(EditUserForm):
    """A new staff member: who they are, and the second factor they start with."""

    otp_kind = RadioField(
        lazy_gettext("Second factor"),
        choices=SECOND_FACTORS,
        default="totp",
    )
    hotp_secret = StringField(
        lazy_gettext("Hardware token secret (HOTP only)"), validators=[Optional(), _length(160)]
    )


class ResetTwoFactorForm(FlaskForm):  # type: ignore[misc]
    otp_kind = RadioField(
        lazy_gettext("New second factor"),
        choices=SECOND_FACTORS,
        default="totp",
    )
    hotp_secret = StringField(
        lazy_gettext("Hardware token secret (HOTP only)"), validators=[Optional(), _length(160)]
    )


class VerifyCodeForm(FlaskForm):  # type: ignore[misc]
    code = StringField("One-time code", validators=[DataRequired(), Length(max=16)])


class InstanceSettingsForm(FlaskForm):  # type: ignore[misc]
    organization_name = StringField(
        lazy_gettext("Organisation name"),
        validators=[DataRequired(message=REQUIRED), Length(min=1, max=64, message=TOO_LONG)],
    )
    allow_document_uploads = BooleanField(lazy_gettext("Sources may upload files"))
    max_upload_mib = IntegerField(
        lazy_gettext("Largest upload (MiB)"),
        validators=[InputRequired(message=REQUIRED), NumberRange(min=1, message=TOO_SMALL)],
    )
    initial_message_min_len = IntegerField(
        lazy_gettext("Shortest first message (characters)"),
        validators=[InputRequired(message=REQUIRED),
                    NumberRange(min=0, max=10_000, message=OUT_OF_RANGE)],
    )
    reject_message_with_codename = BooleanField(
        lazy_gettext("Refuse a message that is the source's own codename")
    )


class LogoForm(FlaskForm):  # type: ignore[misc]
    logo = FileField("Logo (PNG)", validators=[FileRequired()])


class AcknowledgementForm(FlaskForm):  # type: ignore[misc]
    acknowledgement = FileField(
        lazy_gettext("Acknowledgement file"), validators=[FileRequired()]
    )
