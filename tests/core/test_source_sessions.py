"""Open source logins: only a hash and a minute-rounded end are kept, and closing is final."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import make_engine, make_session_factory
from core.models import Base, SourceSession
from core.source_sessions import (
    TOKEN_BYTES,
    SourceSessionRegistry,
    hash_token,
    round_expiry,
)

NOW = 1_800_000_000.0


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[SourceSessionRegistry]:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(engine)
    yield SourceSessionRegistry(make_session_factory(engine))
    engine.dispose()


def stored_ends(registry: SourceSessionRegistry) -> list[datetime]:
    with registry.sessions() as db:
        return list(db.scalars(select(SourceSession.expires_at).order_by("expires_at")))


def test_the_expiry_is_rounded_up_to_the_minute() -> None:
    assert round_expiry(NOW) == datetime.fromtimestamp(NOW, UTC)  # already a whole minute
    assert round_expiry(NOW + 1) == datetime.fromtimestamp(NOW + 60, UTC)
    assert round_expiry(NOW + 59.9) == datetime.fromtimestamp(NOW + 60, UTC)


def test_an_opened_login_is_open_until_its_end(registry: SourceSessionRegistry) -> None:
    token = registry.open_session(NOW + 7200, NOW)
    assert len(token) == TOKEN_BYTES
    assert registry.is_open(token, NOW + 7200)
    assert not registry.is_open(token, NOW + 7201)
    with registry.sessions() as db:
        (row,) = db.scalars(select(SourceSession)).all()
    assert row.token_hash == hash_token(token)
    assert token.hex() not in row.token_hash


def test_an_unknown_or_closed_login_is_not_open(registry: SourceSessionRegistry) -> None:
    token = registry.open_session(NOW + 7200, NOW)
    assert not registry.is_open(bytes(TOKEN_BYTES), NOW)
    registry.close_session(token)
    assert not registry.is_open(token, NOW)
    # Extending a closed login does not bring it back.
    registry.extend_session(token, NOW + 9000)
    assert not registry.is_open(token, NOW)
    assert stored_ends(registry) == []


def test_extending_moves_the_end_forward_only(registry: SourceSessionRegistry) -> None:
    token = registry.open_session(NOW + 7200, NOW)
    registry.extend_session(token, NOW + 9000)
    assert stored_ends(registry) == [round_expiry(NOW + 9000)]
    registry.extend_session(token, NOW + 100)
    assert stored_ends(registry) == [round_expiry(NOW + 9000)]


def test_opening_a_login_prunes_ended_ones(registry: SourceSessionRegistry) -> None:
    ended = registry.open_session(NOW + 60, NOW)
    lasting = registry.open_session(NOW + 7200, NOW)
    registry.open_session(NOW + 600 + 7200, NOW + 600)
    assert not registry.is_open(ended, NOW + 600)
    assert registry.is_open(lasting, NOW + 600)
    assert stored_ends(registry) == [round_expiry(NOW + 7200), round_expiry(NOW + 7800)]
