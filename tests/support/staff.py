"""Helpers for tests of the staff interface: accounts, one-time codes, sources with content.

The end-to-end story test uses these too: ``make_staff_account`` on the data dir,
``sign_in_browser`` against a journalist app served by ``make_gunicorn``.
"""

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from sqlalchemy import select

from core.instance import Instance
from core.models import Journalist, Source
from core.sources import create_source
from core.staff_accounts import create_journalist
from core.submissions import store_submission
from core.two_factor import TOTP_STEP_SECONDS, TOTP_WINDOW_STEPS, totp_code
from crypto.codename import generate_codename
from crypto.types import Codename


@dataclass(frozen=True)
class StaffAccount:
    username: str
    passphrase: str
    otp_secret: str
    uuid: str
    is_admin: bool


def make_staff_account(
    instance: Instance, username: str = "dana", *, is_admin: bool = False
) -> StaffAccount:
    """A staff account with a generated passphrase and TOTP secret (cheap test KDF)."""
    with instance.sessions() as db:
        journalist, passphrase = create_journalist(
            db, username=username, is_admin=is_admin, kdf=instance.settings.kdf
        )
        db.commit()
        return StaffAccount(
            username, passphrase, journalist.otp_secret, journalist.uuid, is_admin
        )


# How long a code handed out by ``fresh_code`` must stay acceptable: filling the form, a loaded
# machine and the passphrase check all come between choosing the code and the server's check.
CODE_LIFETIME_NEEDED = timedelta(seconds=20)


def fresh_code(instance: Instance, account: StaffAccount) -> str:
    """A TOTP code the server has not accepted yet and will still accept for a while.

    The server accepts one step either side of its clock, so the code of step ``s`` is good
    until step ``s + 2`` begins. Prefer the earliest unused step (later sign-ins in the same
    test then need not wait), but never one that would expire within ``CODE_LIFETIME_NEEDED``;
    when every usable step is taken, wait for the clock to open the next one.
    """
    while True:
        with instance.sessions() as db:
            last = db.scalar(
                select(Journalist.last_otp_step).where(Journalist.uuid == account.uuid)
            )
        now = datetime.now(UTC)
        step = int(now.timestamp()) // TOTP_STEP_SECONDS
        for candidate in range(step - TOTP_WINDOW_STEPS, step + TOTP_WINDOW_STEPS + 1):
            if last is not None and candidate <= last:
                continue
            start = datetime.fromtimestamp(candidate * TOTP_STEP_SECONDS, UTC)
            expires = start + timedelta(seconds=(TOTP_WINDOW_STEPS + 1) * TOTP_STEP_SECONDS)
            if expires - now >= CODE_LIFETIME_NEEDED:
                return totp_code(account.otp_secret, start + timedelta(seconds=1))
        next_step = datetime.fromtimestamp((step + 1) * TOTP_STEP_SECONDS, UTC)
        time.sleep((next_step - now).total_seconds() + 0.05)


def sign_in_client(client: Any, instance: Instance, account: StaffAccount) -> Any:
    """Sign a Flask test client in through the form; returns the final response."""
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/login",
        data={
            "csrf_token": token,
            "username": account.username,
            "passphrase": account.passphrase,
            "code": fresh_code(instance, account),
        },
    )


def sign_in_browser(page: Any, base_url: str, instance: Instance, account: StaffAccount) -> None:
    """Sign a Playwright page in through the form (works with JavaScript on or off)."""
    page.goto(f"{base_url}/login")
    page.fill("#username", account.username)
    page.fill("#passphrase", account.passphrase)
    page.fill("#code", fresh_code(instance, account))
    page.click("#sign-in")
    page.wait_for_url(f"{base_url}/")


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


@dataclass(frozen=True)
class SeededSource:
    uuid: str
    codename: Codename
    designation: str


def make_source(
    instance: Instance,
    message: str | None = "Hello from a source",
    files: tuple[tuple[str, bytes], ...] = (),
) -> SeededSource:
    """A real source (codename, reply key) with a real encrypted submission."""
    codename = generate_codename()
    login = create_source(instance, codename)
    store_submission(
        instance,
        login.source_id,
        None if message is None else message.encode("utf-8"),
        [(name, BytesIO(data)) for name, data in files],
    )
    with instance.sessions() as db:
        source = db.get(Source, login.id)
        assert source is not None
        return SeededSource(source.uuid, codename, source.journalist_designation)


JOURNALIST_APP_FACTORY = "journalist_app:create_app()"


def start_staff_server(make_gunicorn: Any, instance: Instance) -> str:
    """Serve the journalist app for ``instance``'s data dir under real gunicorn; base URL.

    ``make_gunicorn`` is the core fixture of the same name. Sign in with ``sign_in_browser``.
    """
    url: str = make_gunicorn(JOURNALIST_APP_FACTORY, instance.settings.data_dir)
    return url
