"""Attacks on the source's session cookie: what it carries, and how long a copy of it works."""

import base64
import json
import os
import zlib

from flask import Flask
from flask.testing import FlaskClient

from crypto.kdf import SourceSecrets
from crypto.types import SourceId
from source_app.session import (
    LONGEST_SESSION_FACTOR,
    Expired,
    LoggedIn,
    SourceSessionBox,
    derive_cookie_key,
)
from tests.source_app.pages import SourceClient, codename_in, csrf_token_in

COOKIE = "skrynka_source"
LIFETIME = 7200
SECRETS = SourceSecrets(source_id=SourceId("cd" * 32), wrap_key=os.urandom(32))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def readable_part(cookie: str) -> str:
    """What anyone holding the cookie can read: Flask signs its session but does not encrypt."""
    compressed = cookie.startswith(".")
    body = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode("utf-8")


def codename_words(codename: str) -> list[str]:
    return codename.split()


def test_a_copied_cookie_kept_busy_still_ends_after_the_longest_session() -> None:
    clock = Clock()
    box = SourceSessionBox(
        cookie_key=derive_cookie_key(os.urandom(32)), lifetime_seconds=LIFETIME, clock=clock
    )
    session: dict[str, object] = {}
    box.log_in(session, SECRETS)
    longest = LONGEST_SESSION_FACTOR * LIFETIME
    # Whoever holds a copy uses it just before each expiry, re-sealing it every time.
    while clock.now + LIFETIME - 60 < 1_000_000.0 + longest:
        clock.now += LIFETIME - 60
        state = box.current(session)
        assert isinstance(state, LoggedIn)
        box.refresh(session, state.secrets)
    clock.now = 1_000_000.0 + longest + 1
    assert isinstance(box.current(session), Expired)


def test_a_new_login_starts_a_new_longest_session() -> None:
    clock = Clock()
    box = SourceSessionBox(
        cookie_key=derive_cookie_key(os.urandom(32)), lifetime_seconds=LIFETIME, clock=clock
    )
    session: dict[str, object] = {}
    box.log_in(session, SECRETS)
    clock.now += LONGEST_SESSION_FACTOR * LIFETIME - 10
    box.log_in(session, SECRETS)
    clock.now += LIFETIME - 10
    assert isinstance(box.current(session), LoggedIn)


def test_a_copied_cookie_still_works_after_logout_until_it_expires(
    source_web: Flask, source: SourceClient
) -> None:
    """Known and documented (docs/threat-model.md): logout clears the browser, not copies."""
    copy = cookie_of(source.client)
    source.logout()
    assert source.lookup().status_code == 303
    thief = source_web.test_client()
    thief.set_cookie(COOKIE, copy)
    assert thief.get("/lookup").status_code == 200


def test_the_codename_is_in_no_header_cookie_or_later_page(source_web: Flask) -> None:
    client = source_web.test_client()
    start = client.get("/")
    shown = client.post("/generate", data={"csrf_token": csrf_token_in(start.text)})
    codename = codename_in(shown.text)
    assert shown.headers["Cache-Control"].startswith("no-store")
    headers = "\n".join(f"{name}: {value}" for name, value in shown.headers.items())
    readable = readable_part(cookie_of(client))
    for word in codename_words(codename):
        assert word not in headers.replace(COOKIE, "")
        assert f'"{word}' not in readable
        assert f" {word}" not in readable
    created = client.post("/create", data={"csrf_token": csrf_token_in(shown.text)})
    assert created.status_code == 303
    assert codename.replace(" ", "") not in created.headers["Location"].replace("/", "")
    page = client.get("/lookup")
    assert page.status_code == 200
    assert codename not in page.text
    assert codename not in readable_part(cookie_of(client))


def test_a_login_sealed_for_one_source_cannot_be_spliced_into_another(
    source_web: Flask, source: SourceClient
) -> None:
    other = SourceClient(source_web.test_client())
    other.create()
    mine = json.loads(readable_part(cookie_of(source.client)))["login"]
    theirs = json.loads(readable_part(cookie_of(other.client)))["login"]
    # Half of one sealed token and half of the other opens as nothing at all.
    spliced = mine[: len(mine) // 2] + theirs[len(theirs) // 2 :]
    box = source_web.extensions["skrynka.source"].sessions
    assert isinstance(box.current({"login": spliced}), Expired)
