"""The sealed session: the cookie alone reveals nothing, the server alone holds nothing."""

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import make_engine, make_session_factory
from core.models import Base, SourceSession
from core.source_sessions import SourceSessionRegistry
from crypto.kdf import SourceSecrets
from crypto.types import Codename, SourceId
from source_app.session import Expired, LoggedIn, SourceSessionBox, derive_cookie_key

SECRETS = SourceSecrets(source_id=SourceId("ab" * 32), wrap_key=os.urandom(32))


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[SourceSessionRegistry]:
    """The open logins every box in a test shares, as the workers of one server do."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(engine)
    yield SourceSessionRegistry(make_session_factory(engine))
    engine.dispose()


def box(registry: SourceSessionRegistry, key: bytes, now: float = 1000.0) -> SourceSessionBox:
    return SourceSessionBox(
        cookie_key=derive_cookie_key(key),
        lifetime_seconds=7200,
        registry=registry,
        clock=lambda: now,
    )


def open_logins(registry: SourceSessionRegistry) -> int:
    with registry.sessions() as db:
        return db.scalar(select(func.count()).select_from(SourceSession)) or 0


def test_a_login_round_trips_and_is_opaque(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(registry, key).log_in(session, SECRETS)
    token = str(session["login"])
    assert SECRETS.source_id not in token
    assert SECRETS.wrap_key.hex() not in token
    state = box(registry, key).current(session)
    assert isinstance(state, LoggedIn)
    assert state.secrets == SECRETS


def test_another_servers_key_opens_nothing(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {}
    box(registry, os.urandom(32)).log_in(session, SECRETS)
    assert isinstance(box(registry, os.urandom(32)).current(session), Expired)


def test_a_session_expires_after_its_lifetime(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(registry, key, now=1000.0).log_in(session, SECRETS)
    assert isinstance(box(registry, key, now=1000.0 + 7199).current(session), LoggedIn)
    assert isinstance(box(registry, key, now=1000.0 + 7201).current(session), Expired)


def test_a_tampered_token_is_treated_as_logged_out(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(registry, key).log_in(session, SECRETS)
    token = str(session["login"])
    session["login"] = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert isinstance(box(registry, key).current(session), Expired)
    session["login"] = json.dumps({"sid": SECRETS.source_id, "exp": 10**12})
    assert isinstance(box(registry, key).current(session), Expired)


def test_no_session_means_never_logged_in(registry: SourceSessionRegistry) -> None:
    assert box(registry, os.urandom(32)).current({}) is None


def test_a_held_codename_is_taken_once_and_expires(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    codename = Codename("a b c d e f g")
    box(registry, key).hold_codename(session, codename)
    assert "a b c" not in str(session["pending"])
    assert box(registry, key).take_codename(session) == codename
    assert box(registry, key).take_codename(session) is None
    box(registry, key, now=0).hold_codename(session, codename)
    assert box(registry, key, now=31 * 60).take_codename(session) is None


def test_logout_clears_everything(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {"other": 1}
    key = os.urandom(32)
    box(registry, key).log_in(session, SECRETS)
    box(registry, key).log_out(session)
    assert session == {}
    assert open_logins(registry) == 0


def test_logout_closes_the_login_for_every_copy_of_the_session(
    registry: SourceSessionRegistry,
) -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(registry, key).log_in(session, SECRETS)
    copy = dict(session)
    box(registry, key).log_out(session)
    assert isinstance(box(registry, key).current(copy), Expired)


def test_a_login_is_recorded_only_as_a_hash_of_its_id(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {}
    box(registry, os.urandom(32)).log_in(session, SECRETS)
    with registry.sessions() as db:
        (row,) = db.scalars(select(SourceSession)).all()
    assert len(row.token_hash) == 64
    assert row.token_hash not in str(session["login"])
    assert SECRETS.source_id not in row.token_hash


def test_a_login_with_no_record_on_the_server_is_logged_out(
    registry: SourceSessionRegistry,
) -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(registry, key).log_in(session, SECRETS)
    with registry.sessions.begin() as db:
        db.query(SourceSession).delete()
    assert isinstance(box(registry, key).current(session), Expired)


def test_a_forged_login_id_sealed_under_the_right_key_opens_nothing(
    registry: SourceSessionRegistry,
) -> None:
    """Even someone holding the cookie key cannot make up a login the server did not open."""
    session: dict[str, object] = {}
    key = os.urandom(32)
    forger = box(registry, key)
    forged = os.urandom(32)
    session["login"] = forger._seal(
        {
            "sid": SECRETS.source_id,
            "wk": base64.b64encode(SECRETS.wrap_key).decode("ascii"),
            "tok": base64.b64encode(forged).decode("ascii"),
            "exp": 5000.0,
            "end": 5000.0,
        }
    )
    assert isinstance(box(registry, key).current(session), Expired)
    session["login"] = forger._seal({"sid": SECRETS.source_id, "exp": 5000.0, "end": 5000.0})
    assert isinstance(box(registry, key).current(session), Expired)
    assert open_logins(registry) == 0


def test_sliding_moves_the_record_of_the_login_forward(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(registry, key, now=1000.0).log_in(session, SECRETS)
    later = box(registry, key, now=1000.0 + 7000)
    state = later.current(session)
    assert isinstance(state, LoggedIn)
    later.refresh(session, state.secrets)
    # Past the first expiry, the slid login is still open on the server too.
    assert isinstance(box(registry, key, now=1000.0 + 7300).current(session), LoggedIn)
    assert isinstance(box(registry, key, now=1000.0 + 7000 + 7300).current(session), Expired)


def test_logging_in_again_closes_the_previous_login(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(registry, key).log_in(session, SECRETS)
    before = dict(session)
    box(registry, key).log_in(session, SECRETS)
    assert isinstance(box(registry, key).current(before), Expired)
    assert isinstance(box(registry, key).current(session), LoggedIn)
    assert open_logins(registry) == 1


def test_getting_a_new_codename_closes_the_login(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {}
    key = os.urandom(32)
    box(registry, key).log_in(session, SECRETS)
    before = dict(session)
    box(registry, key).hold_codename(session, Codename("a b c d e f g"))
    assert isinstance(box(registry, key).current(before), Expired)
    assert open_logins(registry) == 0


def test_logging_in_keeps_the_language_choice(registry: SourceSessionRegistry) -> None:
    session: dict[str, object] = {"language": "be"}
    key = os.urandom(32)
    box(registry, key).hold_codename(session, Codename("a b c d e f g"))
    box(registry, key).log_in(session, SECRETS)
    assert session["language"] == "be"
    assert "pending" not in session
