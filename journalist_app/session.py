"""Server-side staff sessions: the cookie holds one random token and nothing else.

Flask's default session is a signed cookie that carries its data to the browser and back. Here
the browser only ever holds a random token: if its SHA-256 is in the ``journalist_sessions``
table the visitor is signed in (see ``core.staff_sessions``), otherwise the token only binds the
sign-in form's CSRF token to this browser. The CSRF secret Flask-WTF expects to find in the
session is derived from the token with a keyed hash, so there is no session data to store
anywhere. Signing in replaces the token (no session fixation); signing out replaces it again.
"""

import hashlib
import hmac
import secrets
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin

COOKIE_NAME = "skrynka_staff"
TOKEN_BYTES = 32
CSRF_FIELD = "csrf_token"


class TokenSession(dict[str, Any], SessionMixin):
    """The per-request session: a cookie token plus the CSRF secret derived from it."""

    def __init__(self, token: str, key: bytes, *, new: bool) -> None:
        super().__init__()
        self._key = key
        self.token = token
        self.new = new
        self.modified = new
        self.accessed = False
        self[CSRF_FIELD] = _csrf_secret(key, token)

    def replace_token(self, token: str) -> None:
        """Switch to another token (after sign-in or sign-out); the cookie is rewritten."""
        self.token = token
        self.modified = True
        self.new = False
        dict.__setitem__(self, CSRF_FIELD, _csrf_secret(self._key, token))

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().get(key, default)


def _csrf_secret(key: bytes, token: str) -> str:
    return hmac.new(key, b"csrf\x00" + token.encode("ascii"), hashlib.sha256).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _well_formed(token: str | None) -> bool:
    return bool(token) and 20 <= len(token or "") <= 64 and (token or "").isascii() and all(
        ch.isalnum() or ch in "-_" for ch in token or ""
    )


class TokenSessionInterface(SessionInterface):
    """Reads and writes only the token cookie; never serialises session data."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"skrynka-staff-session\x00" + key).digest()

    def open_session(self, app: Flask, request: Request) -> TokenSession:
        token = request.cookies.get(COOKIE_NAME)
        if _well_formed(token):
            assert token is not None
            return TokenSession(token, self._key, new=False)
        return TokenSession(new_token(), self._key, new=True)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, TokenSession)
        # A new token matters only if a page used it (a form's CSRF token): API calls and
        # static files never get a cookie.
        if not session.modified or (session.new and not session.accessed):
            return
        response.set_cookie(
            COOKIE_NAME,
            session.token,
            httponly=True,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app) or "Strict",
            path=self.get_cookie_path(app),
        )
        response.vary.add("Cookie")
