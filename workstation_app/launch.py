"""The launch secret: only the browser that opened the printed URL may use the desk.

`skrynka-workstation desk` prints `http://127.0.0.1:PORT/launch/<secret>`. The first request
for that URL trades the secret for the desk's session cookie (signed with a key made for this
launch, HttpOnly, SameSite=Strict) and is redirected to a clean URL, so the secret does not stay
in the address bar or the history as something that still works. The secret works once: a
second request with it, from anyone, gets the refusal page, as does any request without the
cookie. A restart of the desk makes a new secret and a new key, so no earlier cookie works.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field

from flask import Blueprint, Flask, current_app, redirect, render_template, request, session
from werkzeug.wrappers.response import Response

SESSION_KEY = "desk"
EXTENSION_KEY = "skrynka.desk.launch"
# Endpoints reachable without the cookie: the launch itself and the stylesheet of the refusal.
OPEN_ENDPOINTS = frozenset({"launch.trade", "static"})


@dataclass
class LaunchGate:
    """One launch: its secret (kept only as a hash), whether it was used, the session it made."""

    secret_sha256: bytes
    session_id: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    used: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls) -> tuple[LaunchGate, str]:
        """A new gate and the secret to print (nothing else keeps the secret)."""
        secret = secrets.token_urlsafe(32)
        return cls(hashlib.sha256(secret.encode()).digest()), secret

    def trade(self, offered: str) -> bool:
        """True exactly once: for the first request that brings the right secret."""
        digest = hashlib.sha256(offered.encode()).digest()
        with self._lock:
            if self.used or not hmac.compare_digest(digest, self.secret_sha256):
                return False
            self.used = True
            return True

    def admits(self, value: object) -> bool:
        return isinstance(value, str) and hmac.compare_digest(value, self.session_id)


bp = Blueprint("launch", __name__)


@bp.get("/launch/<secret>")
def trade(secret: str) -> Response | tuple[str, int]:
    gate: LaunchGate = current_app.extensions[EXTENSION_KEY]
    if not gate.trade(secret):
        return render_template("refused.html", reason="used"), 403
    session.clear()
    session[SESSION_KEY] = gate.session_id
    return redirect("/", code=303)


def require_launch_cookie() -> tuple[str, int] | None:
    """Refuse, plainly, any request that does not carry this launch's cookie."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    gate: LaunchGate = current_app.extensions[EXTENSION_KEY]
    if not gate.admits(session.get(SESSION_KEY)):
        return render_template("refused.html", reason="cookie"), 403
    return None


def init_launch(app: Flask, gate: LaunchGate) -> None:
    app.extensions[EXTENSION_KEY] = gate
    app.register_blueprint(bp)
    app.before_request(require_launch_cookie)
