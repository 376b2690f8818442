"""The sealed session: the cookie alone reveals nothing, the server alone holds nothing."""

import json
import os

from crypto.kdf import SourceSecrets
from crypto.types import Codename, SourceId
from source_app.session import Expired, LoggedIn, SourceSessionBox, derive_cookie_key

SECRETS = SourceSecrets(source_id=SourceId("ab" * 32), wrap_key=os.urandom(32))


def box(key: bytes, now: float = 1000.0) -> SourceSessionBox:
    return SourceSessionBox(
        cookie_key=derive_cookie_key(key), lifetime_seconds=7200, clock=lambda: now
    )


def test_a_login_round_trips_and_is_opaque() -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(key).log_in(session, SECRETS)
    token = str(session["login"])
    assert SECRETS.source_id not in token
    assert SECRETS.wrap_key.hex() not in token
    state = box(key).current(session)
    assert isinstance(state, LoggedIn)
    assert state.secrets == SECRETS


def test_another_servers_key_opens_nothing() -> None:
    session: dict[str, object] = {}
    box(os.urandom(32)).log_in(session, SECRETS)
    assert isinstance(box(os.urandom(32)).current(session), Expired)


def test_a_session_expires_after_its_lifetime() -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(key, now=1000.0).log_in(session, SECRETS)
    assert isinstance(box(key, now=1000.0 + 7199).current(session), LoggedIn)
    assert isinstance(box(key, now=1000.0 + 7201).current(session), Expired)


def test_a_tampered_token_is_treated_as_logged_out() -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(key).log_in(session, SECRETS)
    token = str(session["login"])
    session["login"] = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert isinstance(box(key).current(session), Expired)
    session["login"] = json.dumps({"sid": SECRETS.source_id, "exp": 10**12})
    assert isinstance(box(key).current(session), Expired)


def test_no_session_means_never_logged_in() -> None:
    assert box(os.urandom(32)).current({}) is None


def test_a_held_codename_is_taken_once_and_expires() -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    codename = Codename("a b c d e f g")
    box(key).hold_codename(session, codename)
    assert "a b c" not in str(session["pending"])
    assert box(key).take_codename(session) == codename
    assert box(key).take_codename(session) is None
    box(key, now=0).hold_codename(session, codename)
    assert box(key, now=31 * 60).take_codename(session) is None


def test_logout_clears_everything() -> None:
    session: dict[str, object] = {"other": 1}
    key = os.urandom(32)
    box(key).log_in(session, SECRETS)
    box(key).log_out(session)
    assert session == {}


def test_logging_in_keeps_the_language_choice() -> None:
    session: dict[str, object] = {"language": "be"}
    key = os.urandom(32)
    box(key).hold_codename(session, Codename("a b c d e f g"))
    box(key).log_in(session, SECRETS)
    assert session["language"] == "be"
    assert "pending" not in session
