"""Staff sessions: only a token hash is stored, they expire, renew, end and are pruned."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.instance import Instance
from core.models import JournalistSession
from core.staff_accounts import (
    delete_journalist,
    reset_passphrase,
    reset_two_factor,
)
from core.staff_sessions import (
    open_session,
    prune_sessions,
    resolve_session,
    revoke_session,
    revoke_sessions,
)
from tests.support.accounts import HOUR, T0, make_account


def test_sessions_store_only_a_hash_expire_and_renew(db: Session, instance: Instance) -> None:
    journalist, _ = make_account(db, instance)
    token, expires = open_session(db, journalist, kind="web", lifetime=2 * HOUR, now=T0)
    db.commit()
    assert expires == T0 + 2 * HOUR
    stored = db.scalars(select(JournalistSession.token_hash)).all()
    assert token not in stored
    assert len(stored) == 1
    assert resolve_session(db, token, kind="api", lifetime=2 * HOUR, now=T0) is None
    found = resolve_session(db, token, kind="web", lifetime=2 * HOUR, now=T0 + HOUR)
    assert found is not None
    assert found.id == journalist.id
    # Renewed on use: still valid 2.5 h after sign-in, gone 2 h after the last use.
    assert (
        resolve_session(db, token, kind="web", lifetime=2 * HOUR, now=T0 + 2.5 * HOUR) is not None
    )
    assert resolve_session(db, token, kind="web", lifetime=2 * HOUR, now=T0 + 4.6 * HOUR) is None
    assert db.scalars(select(JournalistSession)).all() == []


def test_sessions_end_on_logout_passphrase_change_2fa_reset_and_deletion(
    db: Session, instance: Instance
) -> None:
    journalist, _ = make_account(db, instance)

    def live() -> str:
        token, _ = open_session(db, journalist, kind="web", lifetime=HOUR)
        _api, _ = open_session(db, journalist, kind="api", lifetime=HOUR)
        assert resolve_session(db, token, kind="web", lifetime=HOUR) is not None
        return token

    token = live()
    revoke_session(db, token)
    assert resolve_session(db, token, kind="web", lifetime=HOUR) is None
    token = live()
    revoke_sessions(db, journalist)
    assert resolve_session(db, token, kind="web", lifetime=HOUR) is None
    token = live()
    new_passphrase = reset_passphrase(db, journalist, kdf=instance.settings.kdf)
    assert len(new_passphrase.split()) == 7
    assert db.scalars(select(JournalistSession)).all() == []
    token = live()
    old_secret = journalist.otp_secret
    assert reset_two_factor(db, journalist) != old_secret
    assert db.scalars(select(JournalistSession)).all() == []
    token = live()
    delete_journalist(db, journalist)
    db.commit()
    assert resolve_session(db, token, kind="web", lifetime=HOUR) is None


def test_signing_in_prunes_every_expired_session_even_of_other_accounts(
    db: Session, instance: Instance
) -> None:
    # A browser closed without signing out never comes back to resolve its session; the row
    # must still go once it has expired, not stay in the table for ever.
    left, _ = make_account(db, instance, "left")
    staying, _ = make_account(db, instance, "staying")
    abandoned, _ = open_session(db, left, kind="web", lifetime=HOUR, now=T0)
    alive, _ = open_session(db, staying, kind="api", lifetime=3 * HOUR, now=T0)
    db.commit()
    assert len(db.scalars(select(JournalistSession)).all()) == 2

    fresh, _ = open_session(db, staying, kind="web", lifetime=HOUR, now=T0 + 2 * HOUR)
    db.commit()

    owners = sorted(
        (row.journalist_id, row.kind) for row in db.scalars(select(JournalistSession)).all()
    )
    assert owners == [(staying.id, "api"), (staying.id, "web")]
    assert resolve_session(db, abandoned, kind="web", lifetime=HOUR, now=T0) is None
    assert resolve_session(db, alive, kind="api", lifetime=HOUR, now=T0 + 2 * HOUR) is not None
    assert resolve_session(db, fresh, kind="web", lifetime=HOUR, now=T0 + 2 * HOUR) is not None


def test_prune_sessions_deletes_only_expired_ones_and_counts_them(
    db: Session, instance: Instance
) -> None:
    journalist, _ = make_account(db, instance)
    for hours in (1, 2, 5):
        open_session(db, journalist, kind="web", lifetime=hours * HOUR, now=T0)
    db.commit()
    assert prune_sessions(db, now=T0 + 3 * HOUR) == 2
    db.commit()
    (remaining,) = db.scalars(select(JournalistSession)).all()
    assert remaining.expires_at == T0 + 5 * HOUR
