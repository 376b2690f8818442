"""A staff account's second factor: one-time codes from TOTP apps and HOTP hardware tokens.

Sign-in (`core.sign_in`) and the enrolment pages check codes here. TOTP follows RFC 6238
(authenticator apps), HOTP RFC 4226 (hardware tokens). Codes are computed and compared by pyotp,
through subclasses that lower its 112-bit secret minimum to 80 bits: the 80-bit secret of
SecureDrop's development data (and of some hardware tokens) must keep working. What pyotp does
not do is kept here: the ±1 step window that reports *which* step matched, replay protection (a
code, and every code of an earlier step, works once) and the HOTP look-ahead for a token pressed
without signing in.

A wrong, stale or replayed code makes `consume_code` return False (sign-in then fails without
saying which factor was wrong) and `verify_two_factor` raise `InvalidOtpCode`; a malformed
secret raises `InvalidOtpSecret`. Nothing is recorded for a code that did not match.
"""

import base64
import binascii
import re
import secrets
from datetime import datetime
from typing import ClassVar

import pyotp
from sqlalchemy import update
from sqlalchemy.orm import Session

from core.errors import InvalidOtpCode, InvalidOtpSecret
from core.models import Journalist
from core.models.base import utc_moment

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


def clean_code(code: str) -> str | None:
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


def consume_code(db: Session, journalist: Journalist, code: str | None, now: datetime) -> bool:
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
    if not consume_code(db, journalist, clean_code(code), utc_moment(now)):
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
