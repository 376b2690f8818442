"""The staff forms. Every form carries Flask-WTF's CSRF token; lengths are bounded.

flask_wtf ships no type information, so mypy sees FlaskForm as Any (hence the ignores).
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


class NewUserForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    first_name = StringField("First name", validators=[Optional(), Length(max=NAME_MAX_CHARS)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=NAME_MAX_CHARS)])
    is_admin = BooleanField("Administrator")
    otp_kind = RadioField(
        "Second factor",
        choices=SECOND_FACTORS,
        default="totp",
    )
    hotp_secret = StringField(
        "Hardware token secret (HOTP only)", validators=[Optional(), Length(max=160)]
    )


class EditUserForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    first_name = StringField("First name", validators=[Optional(), Length(max=NAME_MAX_CHARS)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=NAME_MAX_CHARS)])
    is_admin = BooleanField("Administrator")


class ResetTwoFactorForm(FlaskForm):  # type: ignore[misc]
    otp_kind = RadioField(
        "New second factor",
        choices=SECOND_FACTORS,
        default="totp",
    )
    hotp_secret = StringField(
        "Hardware token secret (HOTP only)", validators=[Optional(), Length(max=160)]
    )


class VerifyCodeForm(FlaskForm):  # type: ignore[misc]
    code = StringField("One-time code", validators=[DataRequired(), Length(max=16)])


class InstanceSettingsForm(FlaskForm):  # type: ignore[misc]
    organization_name = StringField(
        "Organisation name", validators=[DataRequired(), Length(min=1, max=64)]
    )
    allow_document_uploads = BooleanField("Sources may upload files")
    max_upload_mib = IntegerField(
        "Largest upload (MiB)", validators=[InputRequired(), NumberRange(min=1)]
    )
    initial_message_min_len = IntegerField(
        "Shortest first message (characters)",
        validators=[InputRequired(), NumberRange(min=0, max=10_000)],
    )
    reject_message_with_codename = BooleanField(
        "Refuse a message that is the source's own codename"
    )


class LogoForm(FlaskForm):  # type: ignore[misc]
    logo = FileField("Logo (PNG)", validators=[FileRequired()])


class AcknowledgementForm(FlaskForm):  # type: ignore[misc]
    acknowledgement = FileField(
        lazy_gettext("Acknowledgement file"), validators=[FileRequired()]
    )
