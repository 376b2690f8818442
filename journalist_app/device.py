"""The device cookie: how the sign-in throttle tells a staff member's own browser from others.

After a successful sign-in the browser gets a cookie naming the account and a random device id,
authenticated with a key derived from the instance's session key (so nobody can mint one).
When a sign-in for that same account comes with a valid cookie, its wrong passphrases are
counted in the device's own bucket (core.client_throttle); every other attempt counts in the
shared bucket of unknown clients. Guessing from elsewhere therefore never throttles the owner's
own browser. The cookie holds no secret of the account: a copy of it buys a separate bucket of
five wrong passphrases a minute for that account, nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Request
from werkzeug.wrappers import Response

from core.models import Journalist

COOKIE = "skrynka_device"
#: A device stays known this long after its last successful sign-in.
LIFETIME_SECONDS = 180 * 24 * 3600
_LABEL = b"skrynka device cookie v1"


def device_key(session_key: bytes) -> bytes:
    """The MAC key for device cookies, kept apart from every other use of the session key."""
    return hmac.new(session_key, _LABEL, hashlib.sha256).digest()


def client_of(request: Request, key: bytes, journalist: Journalist | None) -> str:
    """The throttle's name for who is signing in: a known device of ``journalist``, or not."""
    value = request.cookies.get(COOKIE, "")
    account, _, rest = value.partition(".")
    device, _, mac = rest.partition(".")
    if journalist is not None and account == journalist.uuid and device and mac:
        expected = _mac(key, account, device)
        if hmac.compare_digest(expected, mac):
            return f"device:{device}"
    # Behind the onion service this is the local tor's address: one bucket for all unknowns.
    return f"unknown:{request.remote_addr or ''}"


def remember_device(response: Response, key: bytes, journalist: Journalist) -> None:
    """Give the browser that just signed in as ``journalist`` a device cookie."""
    device = secrets.token_hex(16)
    response.set_cookie(
        COOKIE,
        f"{journalist.uuid}.{device}.{_mac(key, journalist.uuid, device)}",
        max_age=LIFETIME_SECONDS,
        httponly=True,
        samesite="Strict",
        path="/login",
    )


def _mac(key: bytes, account: str, device: str) -> str:
    return hmac.new(key, f"{account}.{device}".encode(), hashlib.sha256).hexdigest()
