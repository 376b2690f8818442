"""Faults of the machine at run time: gpg failing or missing, the database locked or gone.

Each fault is made real: a gpg on PATH that exits non-zero (or no gpg on PATH at all) for a
server that started with a working one, a SQLite file locked by another process past the
busy timeout, a PostgreSQL server stopped and started under a running app. Each time the
person gets a clear answer, nothing is stored half-way, the operator's log says what failed
without any request data, and the next request after the fault is fixed works, with no restart.
"""

import os
import sqlite3
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from werkzeug.test import TestResponse

from core.audit import verify_audit_log
from core.instance import Instance, open_instance
from core.models import AuditEntry, Reply, Submission
from core.outage import DATABASE_BUSY, DATABASE_UNREACHABLE, DISK_FULL, GPG, outage_of
from crypto._gpg import gpg_binary
from crypto.errors import GpgFailed
from journalist_app import create_app as create_staff_app
from server.setup import init_instance
from source_app import create_app as create_source_app
from tests.source_app.http_source import HttpSource
from tests.source_app.pages import SourceClient, csrf_token_in, multipart_body
from tests.support.api import issue_token
from tests.support.full_disk import small_disk
from tests.support.keys import KeyPair
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer
from tests.support.staff import make_source, make_staff_account, sign_in_client

APP = "source_app:create_app()"
SECRET_WORDS = "the colonel signed the order himself"


class SwitchableGpg:
    """A directory that is the whole PATH of a server: its `gpg` runs the real one, fails, or
    is not there at all."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir()
        self.broken_flag = directory / "broken"
        self.install()

    def install(self) -> None:
        script = self.directory / "gpg"
        script.write_text(
            "#!/bin/sh\n"
            f'if [ -e "{self.broken_flag}" ]; then\n'
            '  echo "gpg: fatal: cannot lock the keyring" >&2; exit 2\n'
            "fi\n"
            'exec /usr/bin/gpg "$@"\n'
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR)

    def fail(self) -> None:
        self.broken_flag.touch()

    def remove(self) -> None:
        (self.directory / "gpg").unlink()

    def repair(self) -> None:
        self.broken_flag.unlink(missing_ok=True)
        if not (self.directory / "gpg").exists():
            self.install()


@pytest.fixture
def gpg_switch(tmp_path: Path) -> SwitchableGpg:
    return SwitchableGpg(tmp_path / "bin")


def stored_kinds(instance: Instance) -> list[str]:
    with instance.sessions() as db:
        return list(db.scalars(select(Submission.kind).order_by(Submission.id)))


def upload_leftovers(instance: Instance) -> list[Path]:
    settings = instance.settings
    found = [p for p in settings.tmp_dir.rglob("*") if p.is_file() and p.name != ".lock"]
    return found + list(settings.store_dir.rglob(".pending-*"))


def server_log(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("gunicorn-*.log"))


@pytest.mark.parametrize("fault", ["failing", "missing"])
def test_gpg_failing_at_run_time_gives_the_source_a_calm_page_and_recovers(
    instance: Instance,
    make_gunicorn: Callable[..., str],
    gpg_switch: SwitchableGpg,
    tmp_path: Path,
    fault: str,
) -> None:
    url = make_gunicorn(
        APP, instance.settings.data_dir, env={"PATH": str(gpg_switch.directory)}, workers=1
    )
    source = HttpSource(url)
    source.create()
    gpg_switch.fail() if fault == "failing" else gpg_switch.remove()

    answer = source.submit(SECRET_WORDS, ("order.pdf", os.urandom(300 * 1024)))
    assert answer.status_code == 503
    assert "Please try again later" in answer.text
    assert "Nothing you sent was kept" in answer.text
    assert stored_kinds(instance) == []
    assert upload_leftovers(instance) == []
    log = server_log(tmp_path)
    assert "Request refused (gpg)" in log
    assert ("not found" if fault == "missing" else "gpg failed") in log
    assert SECRET_WORDS not in log
    assert "order.pdf" not in log

    gpg_switch.repair()
    answer = source.submit(SECRET_WORDS, ("order.pdf", os.urandom(300 * 1024)))
    assert "We received your submission" in answer.text
    assert stored_kinds(instance) == ["message", "file"]


@pytest.fixture
def staff_app(instance: Instance) -> Flask:
    app = create_staff_app(instance=instance)
    app.config["TESTING"] = True
    return app


def test_a_reply_while_gpg_is_missing_tells_staff_and_stores_nothing(
    instance: Instance,
    staff_app: Flask,
    gpg_switch: SwitchableGpg,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = make_source(instance)
    staff = staff_app.test_client()
    assert sign_in_client(staff, instance, make_staff_account(instance, "dana")).status_code == 302
    page = f"/source/{source.uuid}"
    monkeypatch.setenv("PATH", str(gpg_switch.directory))
    gpg_switch.remove()

    answer = reply(staff, page, "We will call you on Tuesday.")
    assert answer.status_code == 503
    text = answer.get_data(as_text=True)
    assert "cannot encrypt right now" in text
    assert "Nothing of this request was saved" in text
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Reply)) == 0
        assert db.scalar(select(func.count()).where(AuditEntry.action == "reply")) == 0
        assert verify_audit_log(db, instance.signer.public_key).ok
    assert "Request refused (gpg)" in caplog.text
    assert "Tuesday" not in caplog.text

    gpg_switch.repair()
    assert reply(staff, page, "We will call you on Tuesday.").status_code == 302
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Reply)) == 1


def reply(staff: FlaskClient, page: str, message: str) -> object:
    token = csrf_token_in(staff.get(page).get_data(as_text=True))
    return staff.post(f"{page}/reply", data={"csrf_token": token, "message": message})


def post_message(source: SourceClient, token: str, message: str) -> TestResponse:
    """The /lookup form as a browser sends it, with a token the page gave earlier."""
    body, content_type = multipart_body(
        [
            ("csrf_token", token.encode(), None),
            ("homepage", b"", None),
            ("msg", message.encode(), None),
            ("fh", b"", ""),
        ]
    )
    return source.client.post("/submit", data=body, content_type=content_type)


# SQLite's busy lock; PostgreSQL's own fault (a restart) is tested below.
@pytest.mark.only_on("sqlite")
def test_a_database_locked_past_the_timeout_gives_a_calm_page_and_recovers(
    instance: Instance, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_source_app(instance=instance)
    app.config["TESTING"] = True
    with app.test_client() as client:
        source = SourceClient(client)
        source.create()
        token = csrf_token_in(source.lookup().text)
        # Another process holds the write lock longer than the app waits for it.
        locker = sqlite3.connect(instance.settings.data_dir / "db.sqlite", timeout=1)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            answer = post_message(source, token, SECRET_WORDS)
        finally:
            locker.rollback()
            locker.close()
        assert answer.status_code == 503
        assert "Please try again later" in answer.text
        assert "Request refused (database-busy)" in caplog.text
        assert SECRET_WORDS not in caplog.text
        assert stored_kinds(instance) == []
        assert upload_leftovers(instance) == []
        assert post_message(source, token, SECRET_WORDS).status_code == 303
    assert stored_kinds(instance) == ["message"]


@pytest.fixture
def postgres_instance(
    tmp_path: Path, submission_keypair: KeyPair, postgres_server: PostgresServer
) -> Iterator[Instance]:
    url = postgres_server.create_database(f"skrynka_outage_{uuid.uuid4().hex[:12]}")
    settings = init_instance(
        tmp_path / "pg-data",
        submission_keypair.public_armored,
        dev_mode=True,
        instance_settings={"kdf": "testing", "database_url": url},
        env={},
    )
    opened = open_instance(settings)
    yield opened
    opened.close()


def test_postgresql_restarted_under_a_running_app_answers_calmly_and_reconnects(
    postgres_instance: Instance,
    postgres_server: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_source_app(instance=postgres_instance)
    app.config["TESTING"] = True
    with app.test_client() as client:
        source = SourceClient(client)
        source.create()
        token = csrf_token_in(source.lookup().text)
        assert post_message(source, token, "before").status_code == 303

        postgres_server.pause()
        try:
            answer = post_message(source, token, SECRET_WORDS)
            lookup = source.lookup()
        finally:
            postgres_server.resume()
        assert answer.status_code == 503
        assert "Please try again later" in answer.text
        assert lookup.status_code == 503
        assert "Request refused (database-unreachable)" in caplog.text
        assert SECRET_WORDS not in caplog.text

        assert post_message(source, token, "between").status_code == 303
        # Restarted while the app kept its pooled connections: they are all dead now, and the
        # next request works at once (each connection is checked before use).
        postgres_server.pause()
        postgres_server.resume()
        assert post_message(source, token, "after").status_code == 303
    assert stored_kinds(postgres_instance) == ["message", "message", "message"]


def test_real_faults_are_told_apart(tmp_path: Path) -> None:
    # The errors the drivers and the OS really raise, not look-alikes.
    database = tmp_path / "db.sqlite"
    holder = sqlite3.connect(database)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{database}", connect_args={"timeout": 0.1})
    with pytest.raises(OperationalError) as locked, engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
    holder.rollback()
    holder.close()
    busy = outage_of(locked.value)
    assert busy is not None
    assert busy.kind == DATABASE_BUSY

    nowhere = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    with pytest.raises(OperationalError) as refused, nowhere.connect():
        pass
    gone = outage_of(refused.value)
    assert gone is not None
    assert gone.kind == DATABASE_UNREACHABLE

    saved, os.environ["PATH"] = os.environ["PATH"], str(tmp_path)
    try:
        with pytest.raises(GpgFailed) as missing:
            gpg_binary()
    finally:
        os.environ["PATH"] = saved
    no_gpg = outage_of(missing.value)
    assert no_gpg is not None
    assert no_gpg.kind == GPG

    mount = tmp_path / "mnt"
    with small_disk(mount, 64 * 1024) as disk:
        disk.fill()
        with pytest.raises(OSError) as written:
            (mount / "more").write_bytes(os.urandom(256 * 1024))
    full = outage_of(written.value)
    assert full is not None
    assert full.kind == DISK_FULL
    assert outage_of(ValueError("a bug in a view")) is None


def test_the_api_answers_503_with_advice_while_postgresql_is_down(
    postgres_instance: Instance,
    postgres_server: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_source(postgres_instance)
    make_staff_account(postgres_instance, "journalist")
    token = issue_token(postgres_instance)
    app = create_staff_app(instance=postgres_instance)
    app.config["TESTING"] = True
    api = app.test_client()
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    assert api.get("/api/v1/sources", headers=headers).status_code == 200

    postgres_server.pause()
    try:
        answer = api.get("/api/v1/sources", headers=headers)
    finally:
        postgres_server.resume()
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert "The database cannot be reached" in answer.get_json()["message"]
    assert "API request refused (database-unreachable)" in caplog.text
    assert api.get("/api/v1/sources", headers=headers).status_code == 200
