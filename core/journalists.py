"""Staff accounts: creation, sign-in with passphrase and one-time code, server-side sessions.

Sign-in needs three things: the username, a generated 7-word passphrase (stored only as an
Argon2id hash) and a one-time code from TOTP (RFC 6238, authenticator apps) or HOTP (RFC 4226,
hardware tokens). Sessions live in the database: the browser cookie or API client holds only a
random token, and the database holds only that token's SHA-256, so a copy of the database
cannot be used to sign in.

One-time codes are computed and compared by pyotp, through subclasses that lower its
112-bit secret minimum to 80 bits: the 80-bit secret of SecureDrop's development data (and of
some hardware tokens) must keep working. What pyotp does not do is kept here: the ±1 step
window that reports *which* step matched, replay protection (a code, and every code of an
earlier step, works once) and the HOTP look-ahead for a token pressed without signing in.
"""

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.client_throttle import ClientThrottle
from core.errors import (
    InvalidOtpCode,
    InvalidOtpSecret,
    InvalidUsername,
    LoginFailed,
    LoginThrottled,
    UsernameTaken,
)
from core.models import (
    Journalist,
    JournalistSession,
    LoginAttempt,
    Reply,
    SeenReply,
    SeenSubmission,
)
from core.settings import Settings
from crypto.kdf import PRODUCTION, KdfParams
from crypto.passphrase import generate_passphrase, hash_passphrase, verify_passphrase

SessionKind = Literal["web", "api"]

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
# One step either side tolerates a phone clock that is up to 30 s off.
TOTP_WINDOW_STEPS = 1
# A hardware token's counter runs ahead when its button is pressed without signing in.
HOTP_LOOK_AHEAD = 20
# New secrets: 160 bits, as RFC 4226 recommends.
OTP_SECRET_BYTES = 20
# Existing secrets shorter than this are refused (80 bits: SecureDrop's development secret).
OTP_SECRET_MIN_BYTES = 10
PASSPHRASE_WORDS = 7
# A passphrase given from outside (demo data, migrations) must still be long.
PASSPHRASE_MIN_CHARS = 20
PASSPHRASE_MAX_CHARS = 128
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")
NAME_MAX_CHARS = 64
SESSION_TOKEN_BYTES = 32


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("naive datetime given where a UTC time is needed")
    return now


# --- one-time codes ---


def generate_otp_secret() -> str:
    """A fresh 160-bit TOTP/HOTP secret, base32 without padding (what authenticator apps read)."""
    return base64.b32encode(secrets.token_bytes(OTP_SECRET_BYTES)).decode("ascii").rstrip("=")


def normalize_otp_secret(text: str, *, allow_hex: bool = False) -> str:
    """Return ``text`` as upper-case base32 without spaces or padding, or raise.

    Hardware tokens are usually programmed with a hex secret, so HOTP also accepts 40 hex digits.
    """
    compact = re.sub(r"\s+", "", text)
    raw: bytes | None = None
    if allow_hex and re.fullmatch(r"[0-9A-Fa-f]{20,128}", compact) and len(compact) % 2 == 0:
        raw = bytes.fromhex(compact)
    else:
        candidate = compact.upper().rstrip("=")
        if re.fullmatch(r"[A-Z2-7]{16,128}", candidate):
            try:
                raw = base64.b32decode(candidate + "=" * (-len(candidate) % 8))
            except binascii.Error:
                raw = None
    if raw is None or len(raw) < OTP_SECRET_MIN_BYTES:
        raise InvalidOtpSecret(
            "The one-time-code secret must be base32 (letters A-Z and digits 2-7) or, for a "
            "hardware token, 40 hex digits, and at least 80 bits long. Copy it again from the "
            "token's configuration."
        )
    return base64.b32encode(raw).decode("ascii").rstrip("=")


class _TotpGenerator(pyotp.TOTP):
    # pyotp documents this attribute as the knob for subclasses; 80 bits is our floor too
    # (OTP_SECRET_MIN_BYTES), so anything normalize_otp_secret accepted is accepted here.
    min_secret_length_bits: ClassVar[int] = OTP_SECRET_MIN_BYTES * 8


class _HotpGenerator(pyotp.HOTP):
    min_secret_length_bits: ClassVar[int] = OTP_SECRET_MIN_BYTES * 8


def _totp(secret: str) -> _TotpGenerator:
    return _TotpGenerator(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS)


def _hotp(secret: str) -> _HotpGenerator:
    return _HotpGenerator(secret, digits=TOTP_DIGITS)


def hotp_code(secret: str, counter: int) -> str:
    """The RFC 4226 code for ``counter`` (HMAC-SHA1, dynamic truncation, 6 digits)."""
    return _hotp(secret).at(counter)


def totp_code(secret: str, when: datetime) -> str:
    """The RFC 6238 code for the 30-second step containing ``when``."""
    return _totp(secret).at(when)


def _totp_step(when: datetime) -> int:
    return int(when.timestamp()) // TOTP_STEP_SECONDS


def _clean_code(code: str) -> str | None:
    compact = re.sub(r"\s+", "", code)
    if re.fullmatch(r"[0-9]{6}", compact):
        return compact
    return None


def _match_totp(journalist: Journalist, code: str, now: datetime) -> int | None:
    """The step the code belongs to, if it is valid now and newer than the last accepted one."""
    totp = _totp(journalist.otp_secret)
    current = _totp_step(now)
    matched: int | None = None
    for step in range(current - TOTP_WINDOW_STEPS, current + TOTP_WINDOW_STEPS + 1):
        # Check every candidate (pyotp compares in constant time), so the time taken does not
        # depend on which one matched; pyotp's own window would not say which step it was.
        if totp.verify(code, for_time=step * TOTP_STEP_SECONDS):
            matched = step
    if matched is None:
        return None
    # A code is usable once: refuse it, and every code of an earlier or equal step, afterwards.
    if journalist.last_otp_step is not None and matched <= journalist.last_otp_step:
        return None
    return matched


def _match_hotp(journalist: Journalist, code: str) -> int | None:
    """The counter value the code belongs to, within the look-ahead window."""
    hotp = _hotp(journalist.otp_secret)
    matched: int | None = None
    start = journalist.hotp_counter
    for counter in range(start, start + HOTP_LOOK_AHEAD):
        if hotp.verify(code, counter) and matched is None:
            matched = counter
    return matched


def _consume_code(db: Session, journalist: Journalist, code: str | None, now: datetime) -> bool:
    """Check the code and, if it is good, record it as used so it never works again.

    The record is a conditional UPDATE, so two requests racing with the same code cannot both
    win: the database lets only one of them move the step (or counter) forward.
    """
    if code is None:
        return False
    if journalist.is_totp:
        step = _match_totp(journalist, code, now)
        if step is None:
            return False
        moved = db.execute(
            update(Journalist)
            .where(
                Journalist.id == journalist.id,
                (Journalist.last_otp_step.is_(None)) | (Journalist.last_otp_step < step),
            )
            .values(last_otp_step=step, last_otp=code)
            .execution_options(synchronize_session=False)
        )
    else:
        counter = _match_hotp(journalist, code)
        if counter is None:
            return False
        moved = db.execute(
            update(Journalist)
            .where(Journalist.id == journalist.id, Journalist.hotp_counter <= counter)
            .values(hotp_counter=counter + 1, last_otp=code)
            .execution_options(synchronize_session=False)
        )
    db.refresh(journalist)
    return int(getattr(moved, "rowcount", 0) or 0) == 1


def verify_two_factor(
    db: Session, journalist: Journalist, code: str, *, now: datetime | None = None
) -> None:
    """Check a one-time code outside sign-in (confirming a new authenticator); consumes it.

    Raises :class:`InvalidOtpCode` if it is wrong or already used. Does not commit.
    """
    if not _consume_code(db, journalist, _clean_code(code), _now(now)):
        raise InvalidOtpCode(
            "That code is wrong or was already used. Wait for the next code and enter it."
        )
    db.flush()


def provisioning_uri(journalist: Journalist, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the enrolment QR code."""
    from urllib.parse import quote, urlencode

    secret = journalist.otp_secret
    if journalist.is_totp:
        label = quote(f"{issuer}:{journalist.username}", safe=":@")
        query = urlencode({"secret": secret, "issuer": issuer})
        return f"otpauth://totp/{label}?{query}"
    label = quote(f"{issuer}:{journalist.username}", safe=":@")
    query = urlencode({"secret": secret, "issuer": issuer, "counter": journalist.hotp_counter})
    return f"otpauth://hotp/{label}?{query}"


# --- accounts ---


def check_username(username: str) -> str:
    """Return the username if it is acceptable, else raise :class:`InvalidUsername`."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidUsername(
            "Usernames are 3 to 64 characters: letters, digits, '.', '_' or '-', starting with "
            "a letter or digit. Choose another username."
        )
    return username


def _check_name(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > NAME_MAX_CHARS or any(ord(ch) < 32 for ch in value):
        raise InvalidUsername(
            f"The {what} must be at most {NAME_MAX_CHARS} printable characters. Shorten it."
        )
    return value


def _check_given_passphrase(passphrase: str) -> str:
    if not PASSPHRASE_MIN_CHARS <= len(passphrase) <= PASSPHRASE_MAX_CHARS:
        raise InvalidUsername(
            f"A passphrase must be {PASSPHRASE_MIN_CHARS} to {PASSPHRASE_MAX_CHARS} characters; "
            "leave it out to have one generated."
        )
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
        raise UsernameTaken(f"The username {username!r} is taken. Choose another one.")
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
            raise UsernameTaken(f"The username {username!r} is taken. Choose another one.")
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


# --- sign-in ---


def _throttle_state(
    db: Session, journalist: Journalist, settings: Settings, now: datetime
) -> int | None:
    """Seconds to wait if the account is throttled now, else None. Prunes old attempts."""
    window = timedelta(seconds=settings.login_attempt_window_seconds)
    since = now - window
    db.execute(
        delete(LoginAttempt).where(
            LoginAttempt.journalist_id == journalist.id, LoginAttempt.attempted_at <= since
        )
    )
    count, oldest = db.execute(
        select(func.count(LoginAttempt.id), func.min(LoginAttempt.attempted_at)).where(
            LoginAttempt.journalist_id == journalist.id, LoginAttempt.attempted_at > since
        )
    ).one()
    if count < settings.login_attempt_limit:
        return None
    oldest_at: datetime = oldest
    if oldest_at.tzinfo is None:
        oldest_at = oldest_at.replace(tzinfo=UTC)
    return max(1, int((oldest_at + window - now).total_seconds()) + 1)


def authenticate_journalist(
    db: Session,
    settings: Settings,
    *,
    username: str,
    passphrase: str,
    code: str,
    now: datetime | None = None,
    client: str = "",
    throttle: ClientThrottle | None = None,
) -> Journalist:
    """Check all three factors and return the journalist, or raise.

    Two counts decide :class:`LoginThrottled`. A wrong passphrase (or an unknown username)
    counts against the *client* in ``throttle`` (:mod:`core.client_throttle`), never against
    the account: whoever reaches the sign-in page must not be able to lock its owner out. A
    wrong one-time code after the *right* passphrase counts against the account (a row in
    ``login_attempts``): that needs the passphrase, so only then is the account itself held
    for the window after ``login_attempt_limit`` of them. A throttled attempt is not counted.
    Raises :class:`LoginFailed` for anything wrong, without saying what. COMMITS: a failed
    attempt must stay recorded even though the caller's request fails.
    """
    moment = _now(now)
    if throttle is not None and (wait := throttle.wait_for(client)) is not None:
        raise LoginThrottled(wait)
    journalist = find_journalist(db, username)
    if journalist is None:
        # Pay for a hash verification anyway, so response time does not reveal usernames.
        hash_passphrase(passphrase[:PASSPHRASE_MAX_CHARS], settings.kdf)
        if throttle is not None:
            throttle.record_failure(client)
        raise LoginFailed()
    wait = _throttle_state(db, journalist, settings, moment)
    if wait is not None:
        db.commit()
        raise LoginThrottled(wait)
    passphrase_ok = len(passphrase) <= PASSPHRASE_MAX_CHARS and verify_passphrase(
        journalist.passphrase_hash, passphrase
    )
    if not passphrase_ok:
        if throttle is not None:
            throttle.record_failure(client)
        db.commit()
        raise LoginFailed()
    # A code is consumed only together with a correct passphrase: otherwise anyone knowing a
    # username could burn a user's codes.
    if not _consume_code(db, journalist, _clean_code(code), moment):
        db.add(LoginAttempt(journalist_id=journalist.id, attempted_at=moment))
        db.commit()
        raise LoginFailed()
    journalist.last_login = moment
    db.commit()
    return journalist


# --- sessions ---


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(
    db: Session,
    journalist: Journalist,
    *,
    kind: SessionKind,
    lifetime: timedelta,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """Start a session; return the random token (give it to the client) and its expiry.

    Only the token's SHA-256 is stored. Flushes; does not commit.
    """
    moment = _now(now)
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    expires = moment + lifetime
    db.add(
        JournalistSession(
            token_hash=_token_hash(token),
            journalist_id=journalist.id,
            kind=kind,
            created_at=moment,
            expires_at=expires,
        )
    )
    db.flush()
    return token, expires


def resolve_session(
    db: Session,
    token: str,
    *,
    kind: SessionKind,
    lifetime: timedelta,
    now: datetime | None = None,
) -> Journalist | None:
    """The journalist a token belongs to, renewing it for ``lifetime``; None if unknown/expired.

    An expired session is deleted. Flushes; does not commit.
    """
    if not token or len(token) > 256:
        return None
    moment = _now(now)
    row = db.scalars(
        select(JournalistSession).where(
            JournalistSession.token_hash == _token_hash(token), JournalistSession.kind == kind
        )
    ).first()
    if row is None:
        return None
    if row.expires_at <= moment:
        db.delete(row)
        db.flush()
        return None
    row.expires_at = moment + lifetime
    db.flush()
    return row.journalist


def revoke_session(db: Session, token: str) -> None:
    """End one session (logout). Unknown tokens are ignored. Flushes; does not commit."""
    db.execute(delete(JournalistSession).where(JournalistSession.token_hash == _token_hash(token)))
    db.flush()


def revoke_sessions(db: Session, journalist: Journalist) -> None:
    """End every session and API token of a journalist. Flushes; does not commit."""
    db.execute(delete(JournalistSession).where(JournalistSession.journalist_id == journalist.id))
    db.flush()


def prune_sessions(db: Session, *, now: datetime | None = None) -> int:
    """Delete expired sessions; returns how many. Does not commit."""
    result = db.execute(
        delete(JournalistSession).where(JournalistSession.expires_at <= _now(now))
    )
    return int(getattr(result, "rowcount", 0) or 0)
