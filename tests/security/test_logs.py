"""Attacks on the logs: an error must not copy what a request carried into the server's log."""

import logging
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import text

from core.instance import Instance
from core.staff_accounts import find_journalist
from core.staff_sessions import open_session
from tests.support.staff import StaffAccount

MARKER = "0d1f5e2a-7b8c-4d9e-a1b2-c3d4e5f6a7b8"


def api_token(instance: Instance, account: StaffAccount) -> str:
    with instance.sessions() as db:
        journalist = find_journalist(db, account.username)
        assert journalist is not None
        token, _ = open_session(db, journalist, kind="api", lifetime=timedelta(hours=1))
        db.commit()
    return token


def test_an_api_failure_logs_where_but_not_the_request_data_in_its_message(
    staff_web: Flask,
    instance: Instance,
    staff_account: StaffAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = api_token(instance, staff_account)
    # PostgreSQL refuses to drop a table others refer to unless told to drop those links too.
    cascade = " CASCADE" if instance.engine.dialect.name == "postgresql" else ""
    with instance.engine.begin() as connection:
        connection.execute(text(f"DROP TABLE sources{cascade}"))
    caplog.set_level(logging.DEBUG)
    response = staff_web.test_client().get(
        f"/api/v1/sources/{MARKER}", headers={"Authorization": f"Token {token}"}
    )
    assert response.status_code == 500
    logged = "\n".join(caplog.text.splitlines()) + "\n".join(
        logging.Formatter().format(record) for record in caplog.records
    )
    # The database error quotes the query's parameters, here the path the client asked for.
    assert MARKER not in logged
    # The kind of failure is named: SQLite calls a missing table an OperationalError,
    # PostgreSQL a ProgrammingError (UndefinedTable).
    assert "OperationalError" in logged or "ProgrammingError" in logged
