"""Staff sign-in: username, passphrase and a one-time code, throttled without lock-outs.

`authenticate_journalist` checks all three factors. A wrong passphrase (or an unknown username)
counts against the *client* (`core.client_throttle`), never the account, so whoever reaches the
sign-in page cannot keep an account's owner out. A wrong one-time code after the right
passphrase, which an attacker cannot cheaply produce, is recorded in `login_attempts`; after
`login_attempt_limit` of them inside the window the account is held (`LoginThrottled`, saying
how long to wait). Any wrong factor raises `LoginFailed` without saying which, and an unknown
username costs the same hash verification as a known one. The caller then opens a session
(`core.staff_sessions`).
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.client_throttle import ClientThrottle
from core.errors import LoginFailed, LoginThrottled
from core.models import Journalist, LoginAttempt
from core.models.base import utc_moment
from core.settings import Settings
from core.staff_accounts import PASSPHRASE_MAX_CHARS, find_journalist
from core.two_factor import clean_code, consume_code
from crypto.passphrase import hash_passphrase, verify_passphrase


def _throttle_state(
    db: Session, journalist: Journalist, settings: Settings, now: datetime
) -> int | None:
    """Seconds to wait if the account is throttled now, else None. Prunes old attempts."""
    window = timedelta(seconds=settings.login_attempt_window_seconds)
    since = now - window
    db.execute(
        delete(LoginAttempt).where(
            LoginAttempt.journalist_id == journalist.id, LoginAttempt.attempted_at <= since
        )
    )
    count, oldest = db.execute(
        select(func.count(LoginAttempt.id), func.min(LoginAttempt.attempted_at)).where(
            LoginAttempt.journalist_id == journalist.id, LoginAttempt.attempted_at > since
        )
    ).one()
    if count < settings.login_attempt_limit:
        return None
    oldest_at: datetime = oldest
    if oldest_at.tzinfo is None:
        oldest_at = oldest_at.replace(tzinfo=UTC)
    return max(1, int((oldest_at + window - now).total_seconds()) + 1)


def authenticate_journalist(
    db: Session,
    settings: Settings,
    *,
    username: str,
    passphrase: str,
    code: str,
    now: datetime | None = None,
    client: str = "",
    throttle: ClientThrottle | None = None,
) -> Journalist:
    """Check all three factors and return the journalist, or raise.

    Raises :class:`LoginThrottled` when ``client`` already had ``throttle``'s limit of wrong
    passphrases inside its window, or the account ``login_attempt_limit`` wrong codes after
    the right passphrase (a throttled attempt is not counted, so the window does pass), and
    :class:`LoginFailed` for anything wrong, without saying what. COMMITS: a failed attempt
    must stay recorded even though the caller's request fails.
    """
    moment = utc_moment(now)
    if throttle is not None and (client_wait := throttle.wait_for(client)) is not None:
        raise LoginThrottled(client_wait)
    journalist = find_journalist(db, username)
    if journalist is None:
        # Pay for a hash verification anyway, so response time does not reveal usernames.
        hash_passphrase(passphrase[:PASSPHRASE_MAX_CHARS], settings.kdf)
        if throttle is not None:
            throttle.record_failure(client)
        raise LoginFailed()
    wait = _throttle_state(db, journalist, settings, moment)
    if wait is not None:
        db.commit()
        raise LoginThrottled(wait)
    passphrase_ok = len(passphrase) <= PASSPHRASE_MAX_CHARS and verify_passphrase(
        journalist.passphrase_hash, passphrase
    )
    if not passphrase_ok:
        if throttle is not None:
            throttle.record_failure(client)
        db.commit()
        raise LoginFailed()
    # A code is consumed only together with a correct passphrase: otherwise anyone knowing a
    # username could burn a user's codes.
    if not consume_code(db, journalist, clean_code(code), moment):
        db.add(LoginAttempt(journalist_id=journalist.id, attempted_at=moment))
        db.commit()
        raise LoginFailed()
    journalist.last_login = moment
    db.commit()
    return journalist
