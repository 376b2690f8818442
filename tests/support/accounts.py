"""Staff accounts for core tests: create one in a session, sign it in at a fixed time."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from core.instance import Instance
from core.models import Journalist
from core.sign_in import authenticate_journalist
from core.staff_accounts import create_journalist

T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def make_account(
    db: Session, instance: Instance, username: str = "dana", **kw: object
) -> tuple[Journalist, str]:
    journalist, passphrase = create_journalist(
        db,
        username=username,
        kdf=instance.settings.kdf,
        **kw,  # type: ignore[arg-type]
    )
    db.commit()
    return journalist, passphrase


def sign_in_at(
    db: Session, instance: Instance, username: str, passphrase: str, code: str, now: datetime = T0
) -> Journalist:
    return authenticate_journalist(
        db, instance.settings, username=username, passphrase=passphrase, code=code, now=now
    )
