"""What a logged-in source carries between requests, sealed inside its session cookie.

The codename is derived once (at /create or /login) and then forgotten. What it derived, the
source id and the reply-key wrap key, travels in the cookie sealed with a key only the server
has: the cookie alone is an opaque token, and the server alone holds no source's secrets
(invariant 4). Between /generate and /create the new codename rides the same way.

Each login also gets a random id, sealed in the cookie beside the secrets; the server records
only the id's hash and the login's expiry (core.source_sessions), never which source it is. A
cookie whose id has no live row is logged out: logging out deletes the row, so a copy of the
cookie taken from the source's browser stops working at once instead of when it expires.

Sessions slide: every authenticated request re-seals with a new expiry (and moves the row's),
so a source writing a long message is not thrown out, while an abandoned device logs itself
out. Sliding stops at ``LONGEST_SESSION_FACTOR`` lifetimes after the login, so even a copy kept
busy while the source never logs out ends.
"""

import base64
import hashlib
import json
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from core.source_sessions import TOKEN_BYTES, SourceSessionRegistry
from crypto.errors import SealError
from crypto.kdf import SourceSecrets
from crypto.sealing import seal, unseal
from crypto.types import Codename, SourceId

LOGIN_KEY = "login"
PENDING_KEY = "pending"
#: The consent choice made in this login, sealed like the login itself (never in the database
#: in clear): the source's page shows it instead of the protective defaults.
CONSENT_KEY = "consent"
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
    registry: SourceSessionRegistry
    clock: Callable[[], float] = time.time

    def log_in(self, session: MutableMapping[str, Any], secrets: SourceSecrets) -> LoggedIn:
        # A login this browser had before is closed, not just forgotten.
        self._close_login(session)
        # Only our own entries go: the source's language choice survives logging in.
        session.pop(PENDING_KEY, None)
        session.pop(CONSENT_KEY, None)
        now = self.clock()
        # A new login starts a new longest-session clock.
        ends = now + LONGEST_SESSION_FACTOR * self.lifetime_seconds
        expires_at = min(now + self.lifetime_seconds, ends)
        token = self.registry.open_session(expires_at, now)
        return self._seal_login(session, secrets, token, expires_at, ends)

    def refresh(self, session: MutableMapping[str, Any], secrets: SourceSecrets) -> LoggedIn:
        """Re-seal the login with a new expiry, never later than the login's last moment."""
        previous = self._open(session.get(LOGIN_KEY))
        token = _token_of(previous)
        ends = previous.get("end") if previous is not None else None
        if token is None or not isinstance(ends, int | float):
            return self.log_in(session, secrets)
        expires_at = min(self.clock() + self.lifetime_seconds, ends)
        self.registry.extend_session(token, expires_at)
        return self._seal_login(session, secrets, token, expires_at, ends)

    def current(self, session: MutableMapping[str, Any]) -> LoggedIn | Expired | None:
        """The login in ``session``: LoggedIn, Expired (it was there), or None (never).

        A login is Expired when its sealed time is over, and also when the server no longer
        holds its id: logged out elsewhere (a copy of this cookie), pruned, or never issued.
        """
        token = session.get(LOGIN_KEY)
        if token is None:
            return None
        payload = self._open(token)
        now = self.clock()
        if payload is None or payload["exp"] < now:
            return Expired()
        login_id = _token_of(payload)
        if login_id is None or not self.registry.is_open(login_id, now):
            return Expired()
        secrets = SourceSecrets(
            source_id=SourceId(payload["sid"]), wrap_key=base64.b64decode(payload["wk"])
        )
        return LoggedIn(secrets, float(payload["exp"]))

    def log_out(self, session: MutableMapping[str, Any]) -> None:
        """Close the login on the server, then forget everything, the language choice included."""
        self._close_login(session)
        session.clear()

    def hold_codename(self, session: MutableMapping[str, Any], codename: Codename) -> None:
        """Remember a just-generated codename until /create (replacing any login)."""
        self._close_login(session)
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

    def remember_consent(
        self, session: MutableMapping[str, Any], choice: dict[str, list[str]]
    ) -> None:
        """Keep the consent choice just stored, for this login only."""
        # It cannot outlive the login: logging out or in again clears it, and it expires with
        # the longest a login can last.
        ends = self.clock() + LONGEST_SESSION_FACTOR * self.lifetime_seconds
        session[CONSENT_KEY] = self._seal({"choice": choice, "exp": ends})

    def remembered_consent(self, session: MutableMapping[str, Any]) -> dict[str, list[str]] | None:
        """The consent choice made in this login, or None when none is known."""
        payload = self._open(session.get(CONSENT_KEY))
        choice = payload.get("choice") if payload is not None else None
        if not isinstance(choice, dict):
            return None
        return {
            str(name): [str(value) for value in values]
            for name, values in choice.items()
            if isinstance(values, list)
        }

    def _close_login(self, session: MutableMapping[str, Any]) -> None:
        """Delete the server's record of the login in ``session`` (if any) and drop it."""
        token = _token_of(self._open(session.pop(LOGIN_KEY, None)))
        if token is not None:
            self.registry.close_session(token)

    def _seal_login(
        self,
        session: MutableMapping[str, Any],
        secrets: SourceSecrets,
        token: bytes,
        expires_at: float,
        ends: float,
    ) -> LoggedIn:
        payload = {
            "sid": secrets.source_id,
            "wk": base64.b64encode(secrets.wrap_key).decode("ascii"),
            "tok": base64.b64encode(token).decode("ascii"),
            "exp": expires_at,
            "end": ends,
        }
        session[LOGIN_KEY] = self._seal(payload)
        return LoggedIn(secrets, expires_at)

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


def _token_of(payload: dict[str, Any] | None) -> bytes | None:
    """The login id sealed in ``payload``; None for a payload without one (not a login)."""
    encoded = payload.get("tok") if payload is not None else None
    if not isinstance(encoded, str):
        return None
    try:
        token = base64.b64decode(encoded, validate=True)
    except ValueError:
        return None
    return token if len(token) == TOKEN_BYTES else None
