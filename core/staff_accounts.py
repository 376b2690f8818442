"""Staff accounts: create, find, change and delete them; reset their passphrase or second factor.

A new account gets a generated 7-word passphrase (stored only as an Argon2id hash, shown once)
and a one-time-code secret (`core.two_factor`). A bad username, name or given passphrase raises
`InvalidUsername`, `InvalidName` or `InvalidPassphrase` and nothing is changed; resetting a
passphrase or second factor, or deleting an account, ends its sessions (`core.staff_sessions`).
"""

import re
from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.errors import (
    InvalidName,
    InvalidOtpSecret,
    InvalidPassphrase,
    InvalidUsername,
    UsernameTaken,
)
from core.models import (
    Journalist,
    LoginAttempt,
    Reply,
    SeenReply,
    SeenSubmission,
)
from core.staff_sessions import revoke_sessions
from core.two_factor import generate_otp_secret, normalize_otp_secret
from crypto.kdf import PRODUCTION, KdfParams
from crypto.passphrase import generate_passphrase, hash_passphrase

PASSPHRASE_WORDS = 7
# A passphrase given from outside (demo data, migrations) must still be long.
PASSPHRASE_MIN_CHARS = 20
PASSPHRASE_MAX_CHARS = 128
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")
NAME_MAX_CHARS = 64


def check_username(username: str) -> str:
    """Return the username if it is acceptable, else raise :class:`InvalidUsername`."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidUsername()
    return username


def _check_name(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > NAME_MAX_CHARS or any(ord(ch) < 32 for ch in value):
        raise InvalidName(what, NAME_MAX_CHARS)
    return value


def _check_given_passphrase(passphrase: str) -> str:
    if not PASSPHRASE_MIN_CHARS <= len(passphrase) <= PASSPHRASE_MAX_CHARS:
        raise InvalidPassphrase(PASSPHRASE_MIN_CHARS, PASSPHRASE_MAX_CHARS)
    return passphrase


def find_journalist(db: Session, username: str) -> Journalist | None:
    return db.scalars(select(Journalist).where(Journalist.username == username)).first()


def find_journalist_by_uuid(db: Session, uuid: str) -> Journalist | None:
    return db.scalars(select(Journalist).where(Journalist.uuid == uuid)).first()


def list_journalists(db: Session) -> Sequence[Journalist]:
    return db.scalars(select(Journalist).order_by(Journalist.username)).all()


def create_journalist(
    db: Session,
    *,
    username: str,
    first_name: str | None = None,
    last_name: str | None = None,
    is_admin: bool = False,
    passphrase: str | None = None,
    otp_secret: str | None = None,
    hotp: bool = False,
    kdf: KdfParams = PRODUCTION,
) -> tuple[Journalist, str]:
    """Create a staff account and return it with its passphrase, which is shown ONCE.

    The passphrase is generated (7 EFF words) unless given; the one-time-code secret is a new
    160-bit one unless given (a hardware token's secret for HOTP). ``kdf`` is the Argon2id cost
    of the stored hash (pass ``settings.kdf``: tests and demos use the cheap one). Flushes; does
    not commit.
    """
    check_username(username)
    first = _check_name(first_name, "first name")
    last = _check_name(last_name, "last name")
    if hotp and otp_secret is None:
        raise InvalidOtpSecret(
            "A hardware (HOTP) token needs its secret: copy it from the token's configuration."
        )
    secret = (
        generate_otp_secret()
        if otp_secret is None
        else normalize_otp_secret(otp_secret, allow_hex=hotp)
    )
    clear = (
        generate_passphrase(PASSPHRASE_WORDS)
        if passphrase is None
        else _check_given_passphrase(passphrase)
    )
    if find_journalist(db, username) is not None:
        raise UsernameTaken(username)
    journalist = Journalist(
        username=username,
        first_name=first,
        last_name=last,
        is_admin=is_admin,
        passphrase_hash=hash_passphrase(clear, kdf),
        otp_secret=secret,
        is_totp=not hotp,
        hotp_counter=0,
    )
    db.add(journalist)
    db.flush()
    return journalist, clear


def update_journalist(
    db: Session,
    journalist: Journalist,
    *,
    username: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    is_admin: bool | None = None,
) -> None:
    """Change names or admin rights. Names given as "" are cleared. Flushes; does not commit."""
    if username is not None and username != journalist.username:
        check_username(username)
        if find_journalist(db, username) is not None:
            raise UsernameTaken(username)
        journalist.username = username
    if first_name is not None:
        journalist.first_name = _check_name(first_name, "first name")
    if last_name is not None:
        journalist.last_name = _check_name(last_name, "last name")
    if is_admin is not None:
        journalist.is_admin = is_admin
    db.flush()


def delete_journalist(db: Session, journalist: Journalist) -> None:
    """Delete an account and everything tied to it except its replies.

    Replies stay with the source and are shown as written by a deleted user. Sessions and API
    tokens end at once. Done explicitly rather than through ON DELETE, so the result does not
    depend on the database enforcing foreign keys. Flushes; does not commit.
    """
    db.execute(update(Reply).where(Reply.journalist_id == journalist.id).values(journalist_id=None))
    db.execute(delete(SeenReply).where(SeenReply.journalist_id == journalist.id))
    db.execute(delete(SeenSubmission).where(SeenSubmission.journalist_id == journalist.id))
    db.execute(delete(LoginAttempt).where(LoginAttempt.journalist_id == journalist.id))
    revoke_sessions(db, journalist)
    db.delete(journalist)
    db.flush()


def reset_passphrase(db: Session, journalist: Journalist, *, kdf: KdfParams = PRODUCTION) -> str:
    """Give the account a new generated passphrase (returned once) and end its sessions."""
    clear = generate_passphrase(PASSPHRASE_WORDS)
    journalist.passphrase_hash = hash_passphrase(clear, kdf)
    revoke_sessions(db, journalist)
    db.flush()
    return clear


def reset_two_factor(db: Session, journalist: Journalist, *, hotp_secret: str | None = None) -> str:
    """Give the account a new TOTP secret (or a hardware token's HOTP secret) and end sessions.

    Returns the secret in base32 for the enrolment page. Flushes; does not commit.
    """
    if hotp_secret is None:
        secret = generate_otp_secret()
        journalist.is_totp = True
    else:
        secret = normalize_otp_secret(hotp_secret, allow_hex=True)
        journalist.is_totp = False
    journalist.otp_secret = secret
    journalist.hotp_counter = 0
    journalist.last_otp = None
    journalist.last_otp_step = None
    revoke_sessions(db, journalist)
    db.flush()
    return secret
