"""The staff side of trusted time: which items are not yet stamped, and stamping a hash the
evidence workstation wrote (a real `openssl ts` authority on loopback)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.instance import Instance
from core.models import AuditEntry
from core.timestamping import run_timestamping
from core.tsa import tsa_client_from
from journalist_app import create_app
from tests.support.staff import (
    StaffAccount,
    csrf_from,
    make_source,
    make_staff_account,
    sign_in_client,
)
from tests.support.tsa import TimestampAuthority, openssl_verify

HEAD_LINE = b"skrynka-custody-head v1 seq=12 hash=" + b"ab" * 32 + b"\n"


@pytest.fixture
def stamping_client(stamping_instance: Instance) -> FlaskClient:
    app: Flask = create_app(instance=stamping_instance)
    app.config["TESTING"] = True
    client = app.test_client()
    account: StaffAccount = make_staff_account(stamping_instance, "dana")
    assert sign_in_client(client, stamping_instance, account).status_code == 302
    return client


def stamp_once(instance: Instance) -> None:
    client = tsa_client_from(instance.settings)
    assert client is not None
    run_timestamping(instance, client, sleep=lambda _s: None, delays=())


def test_the_source_page_and_inbox_show_what_is_not_yet_timestamped(
    stamping_client: FlaskClient, stamping_instance: Instance,
) -> None:
    source = make_source(stamping_instance, "before the tree")
    page = stamping_client.get(f"/source/{source.uuid}").get_data(as_text=True)
    assert "not yet timestamped" in page
    assert "1 submission not yet timestamped" in stamping_client.get("/").get_data(as_text=True)
    stamp_once(stamping_instance)
    page = stamping_client.get(f"/source/{source.uuid}").get_data(as_text=True)
    assert "not yet timestamped" not in page
    assert ">timestamped<" in page
    assert 'id="unstamped"' not in stamping_client.get("/").get_data(as_text=True)


def test_staff_get_a_token_for_a_workstation_stamp_request(
    stamping_client: FlaskClient, stamping_instance: Instance, tsa: TimestampAuthority,
    tmp_path: Path,
) -> None:
    page = stamping_client.get("/timestamps").get_data(as_text=True)
    assert "Timestamp a hash" in page
    response = stamping_client.post("/timestamps/stamp", data={
        "csrf_token": csrf_from(page),
        "request": (io.BytesIO(HEAD_LINE), "custody-head.stamp-request"),
    }, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/timestamp-reply"
    assert "attachment" in response.headers["Content-Disposition"]
    (tmp_path / "head.tsr").write_bytes(response.get_data())
    (tmp_path / "head.txt").write_bytes(HEAD_LINE)
    checked = openssl_verify(tmp_path / "head.tsr", tmp_path / "head.txt", tsa.ca.root_pem)
    assert checked.returncode == 0, checked.stderr
    with stamping_instance.sessions() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "timestamp_hash")).one()
        assert "custody-head stamped by" in (entry.detail or "")


@pytest.mark.parametrize("upload", [
    b"hello, this is a whole document\n",
    HEAD_LINE.rstrip(b"\n"),
    HEAD_LINE + b"and more\n",
    b"skrynka-renewal v1 sha512=" + b"0" * 64 + b"\n",
    b"x" * 5000,
])
def test_anything_but_a_stamp_request_is_refused_and_nothing_is_recorded(
    stamping_client: FlaskClient, stamping_instance: Instance, tsa: TimestampAuthority,
    upload: bytes,
) -> None:
    page = stamping_client.get("/timestamps").get_data(as_text=True)
    response = stamping_client.post("/timestamps/stamp", data={
        "csrf_token": csrf_from(page), "request": (io.BytesIO(upload), "file.txt"),
    }, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "not a stamp request from the evidence workstation" in response.get_data(as_text=True)
    assert tsa.requests == 0
    with stamping_instance.sessions() as db:
        assert db.scalars(select(AuditEntry).where(AuditEntry.action == "timestamp_hash")
                          ).all() == []


def test_an_authority_that_is_down_gives_a_clear_page(
    stamping_client: FlaskClient, tsa: TimestampAuthority,
) -> None:
    tsa.down = True
    page = stamping_client.get("/timestamps").get_data(as_text=True)
    response = stamping_client.post("/timestamps/stamp", data={
        "csrf_token": csrf_from(page), "request": (io.BytesIO(HEAD_LINE), "h.stamp-request"),
    }, content_type="multipart/form-data")
    assert response.status_code == 502
    assert "No authority gave a token" in response.get_data(as_text=True)


def test_the_waiting_counts_are_told_in_russian_with_the_right_plural(
    stamping_client: FlaskClient, stamping_instance: Instance,
) -> None:
    make_source(stamping_instance, "counted")
    page = stamping_client.get("/timestamps?l=ru").get_data(as_text=True)
    assert "1 материал ждёт следующего дерева." in page
    assert "Деревьев, которые ещё ждут токена: 0 из 0." in page
    make_source(stamping_instance, "counted too")
    page = stamping_client.get("/timestamps?l=be").get_data(as_text=True)
    assert "2 матэрыялы чакаюць наступнага дрэва." in page


@pytest.mark.parametrize(("code", "waiting", "stamped"), [
    ("be", "яшчэ без адзнакі часу", "з адзнакай часу"),
    ("ru", "ещё без метки времени", "с меткой времени"),
])
def test_the_stamp_labels_speak_the_chosen_language(
    stamping_client: FlaskClient, stamping_instance: Instance, code: str, waiting: str,
    stamped: str,
) -> None:
    source = make_source(stamping_instance, "before the tree")
    page = stamping_client.get(f"/source/{source.uuid}?l={code}").get_data(as_text=True)
    assert f'<span class="stamp unstamped">{waiting}</span>' in page
    assert "timestamped" not in page.replace("unstamped", "")
    stamp_once(stamping_instance)
    page = stamping_client.get(f"/source/{source.uuid}").get_data(as_text=True)
    assert f'<span class="stamp stamped">{stamped}</span>' in page
    assert ">timestamped<" not in page
