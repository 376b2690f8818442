"""Attacks on the source's session cookie: what it carries, and how long a copy of it works."""

import base64
import json
import os
import zlib

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select

from core.db import make_engine, upgrade_database
from core.instance import Instance
from core.models import Source, SourceSession
from core.source_sessions import SourceSessionRegistry
from crypto.kdf import SourceSecrets
from crypto.sealing import seal
from crypto.types import SourceId
from source_app.session import (
    LONGEST_SESSION_FACTOR,
    Expired,
    LoggedIn,
    SourceSessionBox,
    derive_cookie_key,
)
from tests.source_app.pages import SourceClient, codename_in, csrf_token_in
from tests.support.postgres import PostgresServer

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


def box_of(app: Flask) -> SourceSessionBox:
    box: SourceSessionBox = app.extensions["skrynka.source"].sessions
    return box


def thief_with(app: Flask, cookie: str) -> FlaskClient:
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief


def test_a_copied_cookie_kept_busy_still_ends_after_the_longest_session(
    instance: Instance,
) -> None:
    clock = Clock()
    box = SourceSessionBox(
        cookie_key=derive_cookie_key(os.urandom(32)),
        lifetime_seconds=LIFETIME,
        registry=SourceSessionRegistry(instance.sessions),
        clock=clock,
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


def test_a_new_login_starts_a_new_longest_session(instance: Instance) -> None:
    clock = Clock()
    box = SourceSessionBox(
        cookie_key=derive_cookie_key(os.urandom(32)),
        lifetime_seconds=LIFETIME,
        registry=SourceSessionRegistry(instance.sessions),
        clock=clock,
    )
    session: dict[str, object] = {}
    box.log_in(session, SECRETS)
    clock.now += LONGEST_SESSION_FACTOR * LIFETIME - 10
    box.log_in(session, SECRETS)
    clock.now += LIFETIME - 10
    assert isinstance(box.current(session), LoggedIn)


def test_a_copied_cookie_stops_working_right_after_logout(
    source_web: Flask, source: SourceClient
) -> None:
    copy = cookie_of(source.client)
    assert thief_with(source_web, copy).get("/lookup").status_code == 200
    source.logout()
    assert source.lookup().status_code == 303
    assert thief_with(source_web, copy).get("/lookup").status_code == 401
    # The front page no longer sends the copy on to the source's page either.
    assert thief_with(source_web, copy).get("/").status_code == 200


def test_a_copied_cookie_stops_working_after_expiry_and_its_row_is_pruned(
    source_web: Flask, source: SourceClient, instance: Instance
) -> None:
    copy = cookie_of(source.client)
    box = box_of(source_web)
    clock = Clock()
    clock.now = box.clock() + box.lifetime_seconds + 1
    box.clock = clock
    assert thief_with(source_web, copy).get("/lookup").status_code == 401
    # The next login anywhere removes the ended login's row.
    SourceClient(source_web.test_client()).create()
    with instance.sessions() as db:
        rows = db.scalars(select(SourceSession)).all()
    assert len(rows) == 1
    assert rows[0].expires_at.timestamp() >= clock.now


def test_a_forged_session_id_never_works(
    source_web: Flask, source: SourceClient, instance: Instance
) -> None:
    """Even with the server's cookie key, a login id the server never issued opens nothing."""
    with instance.sessions() as db:
        fsid = db.scalars(select(Source.filesystem_id)).one()
    cookie_key = derive_cookie_key(instance.session_key)
    for forged_id in (os.urandom(32), b"\0" * 32, b""):
        forger = source_web.test_client()
        with forger.session_transaction() as session:
            session["login"] = seal(
                cookie_key,
                json.dumps(
                    {
                        "sid": fsid,
                        "wk": base64.b64encode(os.urandom(32)).decode("ascii"),
                        "tok": base64.b64encode(forged_id).decode("ascii"),
                        "exp": box_of(source_web).clock() + 600,
                        "end": box_of(source_web).clock() + 600,
                    }
                ).encode("utf-8"),
            )
        assert forger.get("/lookup").status_code == 401


def test_the_session_table_holds_no_source_id(
    source_web: Flask, source: SourceClient, instance: Instance
) -> None:
    schema = inspect(instance.engine)
    columns = {column["name"] for column in schema.get_columns("source_sessions")}
    assert columns == {"token_hash", "expires_at"}
    assert schema.get_foreign_keys("source_sessions") == []
    with instance.sessions() as db:
        stored = db.scalars(select(Source)).one()
        (row,) = db.scalars(select(SourceSession)).all()
    for value in (stored.filesystem_id, stored.journalist_designation, stored.uuid):
        assert value not in row.token_hash
    # The expiry keeps the minute, not the second the source was last seen.
    assert row.expires_at.second == 0
    assert row.expires_at.microsecond == 0
    assert row.token_hash not in cookie_of(source.client)


def test_the_migrated_session_table_links_to_no_source_on_postgresql(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database("skrynka_source_sessions")
    upgrade_database(url)
    engine = make_engine(url)
    schema = inspect(engine)
    assert {column["name"] for column in schema.get_columns("source_sessions")} == {
        "token_hash",
        "expires_at",
    }
    assert schema.get_foreign_keys("source_sessions") == []
    engine.dispose()


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
    assert isinstance(box_of(source_web).current({"login": spliced}), Expired)
