"""What a logged-in source carries between requests, sealed inside its session cookie.

The codename is derived once (at /create or /login) and then forgotten. What it derived, the
source id and the reply-key wrap key, travels in the cookie sealed with a key only the server
has: the cookie alone is an opaque token, and the server alone holds no source's secrets
(invariant 4). Between /generate and /create the new codename rides the same way.

Sessions slide: every authenticated request re-seals with a new expiry, so a source writing a
long message is not thrown out, while an abandoned device logs itself out. Sliding stops at
``LONGEST_SESSION_FACTOR`` lifetimes after the login: the cookie is the only state, so a copy
taken from the source's browser would otherwise stay valid for as long as it is used.
"""

import base64
import hashlib
import json
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from crypto.errors import SealError
from crypto.kdf import SourceSecrets
from crypto.sealing import seal, unseal
from crypto.types import Codename, SourceId

LOGIN_KEY = "login"
PENDING_KEY = "pending"
#: A freshly generated codename waits this long for the source to confirm it.
PENDING_SECONDS = 30 * 60
#: However active it is, a login ends this many session lifetimes after the codename was typed.
LONGEST_SESSION_FACTOR = 4
_PERSON = b"skrynka:cookie"


def derive_cookie_key(session_key: bytes) -> bytes:
    """The sealing key, kept apart from the cookie-signing key though both come from one secret."""
    return hashlib.blake2b(key=session_key, person=_PERSON, digest_size=32).digest()


@dataclass(frozen=True)
class LoggedIn:
    secrets: SourceSecrets
    expires_at: float

    @property
    def source_id(self) -> SourceId:
        return self.secrets.source_id


@dataclass(frozen=True)
class Expired:
    """The cookie held a login whose time is over (or one this server can no longer open)."""


@dataclass
class SourceSessionBox:
    """Seals and opens the source entries of a Flask session (any mutable mapping)."""

    cookie_key: bytes = field(repr=False)
    lifetime_seconds: int
    clock: Callable[[], float] = time.time

    def log_in(self, session: MutableMapping[str, Any], secrets: SourceSecrets) -> LoggedIn:
        # Only our own entries go: the source's language choice survives logging in.
        session.pop(PENDING_KEY, None)
        # A new login starts a new longest-session clock.
        session.pop(LOGIN_KEY, None)
        return self.refresh(session, secrets)

    def refresh(self, session: MutableMapping[str, Any], secrets: SourceSecrets) -> LoggedIn:
        """Re-seal the login with a new expiry, never later than the login's last moment."""
        now = self.clock()
        previous = self._open(session.get(LOGIN_KEY))
        ends = previous.get("end") if previous is not None else None
        if not isinstance(ends, int | float):
            ends = now + LONGEST_SESSION_FACTOR * self.lifetime_seconds
        expires_at = min(now + self.lifetime_seconds, ends)
        payload = {
            "sid": secrets.source_id,
            "wk": base64.b64encode(secrets.wrap_key).decode("ascii"),
            "exp": expires_at,
            "end": ends,
        }
        session[LOGIN_KEY] = self._seal(payload)
        return LoggedIn(secrets, expires_at)

    def current(self, session: MutableMapping[str, Any]) -> LoggedIn | Expired | None:
        """The login in ``session``: LoggedIn, Expired (it was there), or None (never)."""
        token = session.get(LOGIN_KEY)
        if token is None:
            return None
        payload = self._open(token)
        if payload is None or payload["exp"] < self.clock():
            return Expired()
        secrets = SourceSecrets(
            source_id=SourceId(payload["sid"]), wrap_key=base64.b64decode(payload["wk"])
        )
        return LoggedIn(secrets, float(payload["exp"]))

    def log_out(self, session: MutableMapping[str, Any]) -> None:
        """Forget everything, the language choice included: nothing of the visit remains."""
        session.clear()

    def hold_codename(self, session: MutableMapping[str, Any], codename: Codename) -> None:
        """Remember a just-generated codename until /create (replacing any login)."""
        session.pop(LOGIN_KEY, None)
        session[PENDING_KEY] = self._seal(
            {"codename": codename, "exp": self.clock() + PENDING_SECONDS}
        )

    def take_codename(self, session: MutableMapping[str, Any]) -> Codename | None:
        """The codename /generate showed, removed from the session; None if none or too old."""
        token = session.pop(PENDING_KEY, None)
        if token is None:
            return None
        payload = self._open(token)
        if payload is None or payload["exp"] < self.clock():
            return None
        return Codename(payload["codename"])

    def _seal(self, payload: dict[str, Any]) -> str:
        return seal(self.cookie_key, json.dumps(payload).encode("utf-8"))

    def _open(self, token: object) -> dict[str, Any] | None:
        if not isinstance(token, str):
            return None
        try:
            payload = json.loads(unseal(self.cookie_key, token))
        except (SealError, ValueError):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int | float):
            return None
        return payload
