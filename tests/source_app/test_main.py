"""The source's pages through the Flask test client: codename, login, submit, logout."""

import hashlib
import io
import os
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from core.instance import Instance
from core.models import InstanceConfig, Journalist, Reply, Source, Submission
from core.replies import encrypt_reply, store_reply
from core.sources import derive_secrets
from core.staff_accounts import create_journalist
from crypto.types import Codename
from source_app.context import EXTENSION_KEY
from tests.source_app.pages import SourceClient, codename_in, csrf_token_in
from tests.support.ciphertext import gpg_decrypt, gunzip_with_name, read_receipt
from tests.support.keys import KeyPair


def rows(instance: Instance) -> list[Submission]:
    with instance.sessions() as db:
        found = list(db.scalars(select(Submission).order_by(Submission.id)))
        db.expunge_all()
        return found


def temp_files(instance: Instance) -> list[Path]:
    return [p for p in instance.settings.tmp_dir.rglob("*") if p.is_file() and p.name != ".lock"]


def set_config(instance: Instance, **values: object) -> None:
    with instance.sessions() as db:
        db.execute(update(InstanceConfig).values(**values))
        db.commit()


def test_generate_shows_a_codename_and_a_form_to_create(client: FlaskClient) -> None:
    token = csrf_token_in(client.get("/").text)
    page = client.post("/generate", data={"csrf_token": token})
    assert page.status_code == 200
    assert len(codename_in(page.text).split(" ")) == 7
    assert 'action="/create"' in page.text
    assert 'method="post"' in page.text


def test_the_codename_never_rides_in_the_cookie_in_clear(client: FlaskClient) -> None:
    token = csrf_token_in(client.get("/").text)
    page = client.post("/generate", data={"csrf_token": token})
    codename = codename_in(page.text)
    cookie = client.get_cookie("skrynka_source")
    assert cookie is not None
    for word in codename.split(" "):
        assert word not in cookie.value
    import base64

    raw = base64.urlsafe_b64decode(cookie.value.split(".")[0] + "==")
    for word in codename.split(" "):
        assert word.encode() not in raw


def test_create_logs_in_and_lands_on_lookup(source: SourceClient, instance: Instance) -> None:
    page = source.lookup()
    assert page.status_code == 200
    assert 'action="/submit"' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert 'name="msg"' in page.text
    assert 'name="fh"' in page.text
    with instance.sessions() as db:
        assert len(db.scalars(select(Source)).all()) == 1


def test_create_without_a_generated_codename_starts_over(
    client: FlaskClient, instance: Instance
) -> None:
    token = csrf_token_in(client.get("/").text)
    response = client.post("/create", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/")
    with instance.sessions() as db:
        assert db.scalars(select(Source)).all() == []


def test_lookup_without_login_sends_to_login(client: FlaskClient) -> None:
    response = client.get("/lookup")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/login")


def test_submit_a_message_and_a_file(
    source: SourceClient, instance: Instance, submission_keypair: KeyPair
) -> None:
    content = os.urandom(700_000)  # above Werkzeug's 500 KiB spooling threshold
    response = source.submit("Паведамленне: they came at 5 am.", (content, "доказ.mp4"))
    assert response.status_code == 303
    page = source.lookup()
    assert "We received your submission" in page.text
    stored = rows(instance)
    assert [r.kind for r in stored] == ["message", "file"]
    with instance.sessions() as db:
        fsid = db.scalars(select(Source.filesystem_id)).one()
    store = instance.settings.store_dir / fsid
    assert gpg_decrypt(submission_keypair.secret_home, store / stored[0].filename) == (
        "Паведамленне: they came at 5 am.".encode()
    )
    name, document = gunzip_with_name(
        gpg_decrypt(submission_keypair.secret_home, store / stored[1].filename)
    )
    assert document == content
    assert name is not None
    assert name.endswith(".mp4")
    receipt = read_receipt(submission_keypair.secret_home, store / str(stored[1].receipt_filename))
    assert receipt["original_name"] == "доказ.mp4"
    assert receipt["sha256"] == hashlib.sha256(content).hexdigest()
    assert temp_files(instance) == []


def test_logout_then_login_shows_the_acknowledgement(source: SourceClient) -> None:
    source.submit("hello there", (b"file content", "notes.txt"))
    assert "You are logged out" in source.logout().text
    assert source.client.get("/lookup").status_code == 303
    response = source.login(source.codename.upper())
    assert response.status_code == 303
    page = source.lookup()
    assert "received 1 message" in page.text
    assert "received 1 file" in page.text


def test_logout_clears_the_session(source: SourceClient) -> None:
    source.logout()
    cookie = source.client.get_cookie("skrynka_source")
    assert cookie is None or "login" not in cookie.value


@pytest.mark.parametrize(
    "typed",
    ["", "abacus abacus", "x" * 300, "correct horse battery staple is not here"],
)
def test_bad_codenames_at_login_get_a_clear_error(client: FlaskClient, typed: str) -> None:
    token = csrf_token_in(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "codename": typed})
    assert response.status_code == 400
    assert "That is not a codename: check the number of words" in response.text
    assert client.get("/lookup").status_code == 303


def test_an_unknown_codename_says_one_wrong_word_makes_another(source: SourceClient) -> None:
    other = SourceClient(source.client)
    source.logout()
    token = csrf_token_in(source.client.get("/").text)
    page = source.client.post("/generate", data={"csrf_token": token})
    unknown = codename_in(page.text)
    response = other.login(unknown)
    assert response.status_code == 400
    assert "one wrong word gives a different codename" in response.text


def test_an_expired_session_shows_the_logged_out_page(app: Flask, source: SourceClient) -> None:
    box = app.extensions[EXTENSION_KEY].sessions
    box.clock = lambda: time.time() + 121 * 60
    page = source.client.get("/lookup")
    assert page.status_code == 401
    assert "You were logged out" in page.text
    box.clock = time.time
    assert source.client.get("/lookup").status_code == 303


def test_an_expired_session_stores_nothing(
    app: Flask, source: SourceClient, instance: Instance
) -> None:
    token = csrf_token_in(source.lookup().text)
    app.extensions[EXTENSION_KEY].sessions.clock = lambda: time.time() + 121 * 60
    response = source.client.post(
        "/submit",
        data={"csrf_token": token, "msg": "late", "fh": (io.BytesIO(b"x" * 1000), "a.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 401
    assert "You were logged out" in response.text
    assert rows(instance) == []


def test_activity_keeps_the_session_alive(app: Flask, source: SourceClient) -> None:
    box = app.extensions[EXTENSION_KEY].sessions
    start = time.time()
    box.clock = lambda: start + 100 * 60
    assert source.client.get("/lookup").status_code == 200
    box.clock = lambda: start + 200 * 60
    assert source.client.get("/lookup").status_code == 200


@pytest.mark.parametrize("path", ["/generate", "/create", "/login", "/logout"])
def test_forms_without_a_csrf_token_are_refused(client: FlaskClient, path: str) -> None:
    response = client.post(path, data={"codename": "x"})
    assert response.status_code == 400
    assert "This form has expired" in response.text


def test_submit_without_a_csrf_token_stores_nothing(
    source: SourceClient, instance: Instance
) -> None:
    response = source.client.post(
        "/submit",
        data={"msg": "hello", "fh": (io.BytesIO(b"x" * 600_000), "a.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert rows(instance) == []
    assert temp_files(instance) == []


def test_a_stale_csrf_token_is_refused(
    app: Flask, source: SourceClient, instance: Instance
) -> None:
    token = csrf_token_in(source.lookup().text)
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    time.sleep(2.1)
    response = source.client.post(
        "/submit", data={"csrf_token": token, "msg": "hello"}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert rows(instance) == []


@pytest.mark.parametrize(
    ("message", "file", "expected"),
    [
        ("", None, "You must write a message or choose a file"),
        ("   ", (b"", ""), "You must write a message or choose a file"),
        ("hello", (b"", "empty.txt"), "The file you chose is empty"),
    ],
)
def test_empty_submissions_are_refused(
    source: SourceClient,
    instance: Instance,
    message: str,
    file: tuple[bytes, str] | None,
    expected: str,
) -> None:
    response = source.submit(message, file)
    # The page comes back at once with the refusal; nothing typed is lost.
    assert response.status_code == 400
    assert expected in response.text
    assert rows(instance) == []
    assert temp_files(instance) == []


def test_a_message_that_is_not_utf8_is_refused(source: SourceClient, instance: Instance) -> None:
    response = source.submit(b"caf\xe9 \xff")
    assert response.status_code == 400
    assert "could not be read as text" in response.text
    assert rows(instance) == []


def test_a_short_first_message_is_refused(source: SourceClient, instance: Instance) -> None:
    set_config(instance, initial_message_min_len=30)
    response = source.submit("too short")
    assert "at least 30 characters" in response.text
    assert ">too short</textarea>" in response.text
    assert rows(instance) == []


def test_sending_the_codename_is_refused_with_a_warning(
    source: SourceClient, instance: Instance
) -> None:
    response = source.submit(f"Here is my codename so you can find me: {source.codename}")
    assert "Your message contains your codename" in response.text
    assert rows(instance) == []


def test_the_honeypot_looks_successful_but_keeps_nothing(
    source: SourceClient, instance: Instance
) -> None:
    response = source.submit(
        "buy now", (b"spam" * 1000, "spam.txt"), homepage="http://spam.example"
    )
    assert response.status_code == 303
    assert "We received your submission" in source.lookup().text
    assert rows(instance) == []
    assert temp_files(instance) == []


def test_files_are_refused_when_uploads_are_off(source: SourceClient, instance: Instance) -> None:
    set_config(instance, allow_document_uploads=False)
    page = source.lookup().text
    assert 'name="fh"' not in page
    response = source.submit("hello", (b"data", "a.txt"))
    assert "accepts messages only" in response.text
    assert "<li>a.txt</li>" in response.text
    assert rows(instance) == []


def test_an_upload_over_the_limit_gets_a_friendly_page(
    source: SourceClient, instance: Instance
) -> None:
    set_config(instance, max_upload_bytes=100_000)
    response = source.submit("hello", (os.urandom(150_000), "big.bin"))
    assert response.status_code == 413
    assert "Your upload is too large" in response.text
    assert rows(instance) == []
    assert temp_files(instance) == []


def test_malformed_multipart_is_refused(source: SourceClient, instance: Instance) -> None:
    token = csrf_token_in(source.lookup().text)
    body = (
        b'--XYZ\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--XYZ\r\nContent-Disposition: form-data; name="fh"; filename="a.bin"\r\n\r\n'
        + os.urandom(200_000)  # and then the body ends without a closing boundary
    )
    response = source.client.post(
        "/submit", data=body, content_type="multipart/form-data; boundary=XYZ"
    )
    assert response.status_code == 400
    assert "could not be read" in response.text
    garbage = source.client.post(
        "/submit", data=b"\x00garbage" * 100, content_type="multipart/form-data; boundary=XYZ"
    )
    assert garbage.status_code == 400
    not_multipart = source.client.post("/submit", data={"msg": "hi", "csrf_token": token})
    assert not_multipart.status_code == 400
    assert rows(instance) == []
    assert temp_files(instance) == []


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("../../../etc/passwd", "passwd"),
        ("a\u202egpj.exe", "agpj.exe"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_file_name_tricks_are_cleaned(
    source: SourceClient,
    instance: Instance,
    submission_keypair: KeyPair,
    original: str,
    expected: str,
) -> None:
    source.submit("", (b"content", original))
    [row] = rows(instance)
    with instance.sessions() as db:
        fsid = db.scalars(select(Source.filesystem_id)).one()
    receipt = read_receipt(
        submission_keypair.secret_home,
        instance.settings.store_dir / fsid / str(row.receipt_filename),
    )
    assert receipt["original_name"] == expected


def test_a_nul_byte_in_a_file_name_is_removed(
    source: SourceClient, instance: Instance, submission_keypair: KeyPair
) -> None:
    token = csrf_token_in(source.lookup().text)
    body = (
        b'--XYZ\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--XYZ\r\nContent-Disposition: form-data; name="fh"; '
        + b'filename="evil\x00.sh"\r\n\r\ncontent\r\n--XYZ--\r\n'
    )
    response = source.client.post(
        "/submit", data=body, content_type="multipart/form-data; boundary=XYZ"
    )
    assert response.status_code == 303
    [row] = rows(instance)
    with instance.sessions() as db:
        fsid = db.scalars(select(Source.filesystem_id)).one()
    receipt = read_receipt(
        submission_keypair.secret_home,
        instance.settings.store_dir / fsid / str(row.receipt_filename),
    )
    assert receipt["original_name"] == "evil.sh"


# Deleting replies: the source's view changes, the staff copy stays.


def reply_to(instance: Instance, codename: str, text: str) -> str:
    """Staff send ``text`` to the source with ``codename``; returns the reply's uuid."""
    secrets = derive_secrets(instance, Codename(codename))
    with instance.sessions() as db:
        journalist = db.scalars(select(Journalist)).first()
        if journalist is None:
            journalist, _ = create_journalist(db, username="dana", kdf=instance.settings.kdf)
        source = db.scalars(select(Source).where(Source.filesystem_id == secrets.source_id)).one()
        ciphertext = encrypt_reply(instance, source, text)
        reply = store_reply(
            db, instance, source=source, journalist=journalist, ciphertext=ciphertext
        )
        db.commit()
        return reply.uuid


def reply_rows(instance: Instance) -> dict[str, bool]:
    """Every reply the server keeps: uuid -> deleted_by_source."""
    with instance.sessions() as db:
        return {r.uuid: r.deleted_by_source for r in db.scalars(select(Reply))}


def delete_reply(source: SourceClient, reply_uuid: str) -> TestResponse:
    token = csrf_token_in(source.lookup().text)
    return source.client.post("/delete", data={"csrf_token": token, "reply_uuid": reply_uuid})


def test_lookup_offers_to_delete_each_reply_and_all_of_them(
    source: SourceClient, instance: Instance
) -> None:
    first = reply_to(instance, source.codename, "First answer")
    second = reply_to(instance, source.codename, "Second answer")
    page = source.lookup().text
    assert page.count('action="/delete"') == 2
    assert f'name="reply_uuid" value="{first}"' in page
    assert f'name="reply_uuid" value="{second}"' in page
    assert 'href="/delete-all"' in page


def test_a_deleted_reply_disappears_for_the_source_but_staff_keep_it(
    source: SourceClient, instance: Instance
) -> None:
    gone = reply_to(instance, source.codename, "Please delete me")
    kept = reply_to(instance, source.codename, "Keep me")
    response = delete_reply(source, gone)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/lookup#replies")
    page = source.lookup().text
    assert "The reply was deleted from your page." in page
    assert "Please delete me" not in page
    assert "Keep me" in page
    assert reply_rows(instance) == {gone: True, kept: False}
    with instance.sessions() as db:
        stored = db.scalars(select(Reply).where(Reply.uuid == gone)).one()
        fid = db.scalars(select(Source.filesystem_id)).one()
    assert instance.store.path_of(fid, stored.filename).is_file()
    # Logging in again does not bring it back.
    source.logout()
    source.login(source.codename)
    assert "Please delete me" not in source.lookup().text


def test_another_sources_reply_cannot_be_deleted(
    client: FlaskClient, app: Flask, instance: Instance
) -> None:
    other = SourceClient(app.test_client())
    other.create()
    theirs = reply_to(instance, other.codename, "For the other source")
    mine = SourceClient(client)
    mine.create()
    response = delete_reply(mine, theirs)
    assert response.status_code == 303
    page = mine.lookup().text
    assert "That reply is not on your page, so nothing was deleted." in page
    assert reply_rows(instance) == {theirs: False}
    assert "For the other source" in other.lookup().text


@pytest.mark.parametrize("reply_uuid", ["", "not-a-uuid", "x" * 10_000, "' OR 1=1 --"])
def test_a_bad_reply_id_deletes_nothing(
    source: SourceClient, instance: Instance, reply_uuid: str
) -> None:
    kept = reply_to(instance, source.codename, "Still here")
    response = delete_reply(source, reply_uuid)
    assert response.status_code == 303
    page = source.lookup().text
    assert "That reply is not on your page, so nothing was deleted." in page
    assert "Still here" in page
    assert reply_rows(instance) == {kept: False}


@pytest.mark.parametrize("path", ["/delete", "/delete-all"])
def test_deleting_needs_a_csrf_token(source: SourceClient, instance: Instance, path: str) -> None:
    reply = reply_to(instance, source.codename, "Protected")
    response = source.client.post(path, data={"reply_uuid": reply, "confirm": "yes"})
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert reply_rows(instance) == {reply: False}


def test_delete_all_asks_first_and_works_without_javascript(
    source: SourceClient, instance: Instance
) -> None:
    replies = [reply_to(instance, source.codename, f"Answer {n}") for n in range(3)]
    confirm = source.client.get("/delete-all")
    assert confirm.status_code == 200
    assert "3 replies will disappear from your page" in confirm.text
    assert "<script" not in confirm.text
    assert 'name="confirm" value="yes"' in confirm.text
    assert reply_rows(instance) == dict.fromkeys(replies, False)
    # A POST without the confirmation (say, from an old page) only asks again.
    token = csrf_token_in(confirm.text)
    asked = source.client.post("/delete-all", data={"csrf_token": token})
    assert asked.status_code == 200
    assert "Delete all replies?" in asked.text
    assert reply_rows(instance) == dict.fromkeys(replies, False)
    done = source.client.post("/delete-all", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 303
    page = source.lookup().text
    assert "3 replies were deleted from your page." in page
    assert "Answer 0" not in page
    assert "There are no replies yet" in page
    assert reply_rows(instance) == dict.fromkeys(replies, True)
    # Staff still have every one.
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Reply)) == 3


def test_delete_all_leaves_other_sources_alone(
    client: FlaskClient, app: Flask, instance: Instance
) -> None:
    other = SourceClient(app.test_client())
    other.create()
    theirs = reply_to(instance, other.codename, "Theirs")
    mine = SourceClient(client)
    mine.create()
    own = reply_to(instance, mine.codename, "Mine")
    token = csrf_token_in(mine.client.get("/delete-all").text)
    mine.client.post("/delete-all", data={"csrf_token": token, "confirm": "yes"})
    assert reply_rows(instance) == {own: True, theirs: False}


def test_delete_all_with_nothing_to_delete_says_so(source: SourceClient) -> None:
    confirm = source.client.get("/delete-all")
    assert "There are no replies on your page to delete." in confirm.text
    assert 'name="confirm"' not in confirm.text
    token = csrf_token_in(source.lookup().text)
    source.client.post("/delete-all", data={"csrf_token": token, "confirm": "yes"})
    assert "There were no replies to delete." in source.lookup().text


@pytest.mark.parametrize("path", ["/delete", "/delete-all"])
def test_deleting_after_the_session_expired_shows_the_logged_out_page(
    app: Flask, source: SourceClient, instance: Instance, path: str
) -> None:
    reply = reply_to(instance, source.codename, "Not yet")
    token = csrf_token_in(source.lookup().text)
    app.extensions[EXTENSION_KEY].sessions.clock = lambda: time.time() + 121 * 60
    response = source.client.post(
        path, data={"csrf_token": token, "reply_uuid": reply, "confirm": "yes"}
    )
    assert response.status_code == 401
    assert "You were logged out" in response.text
    assert reply_rows(instance) == {reply: False}


@pytest.mark.parametrize("path", ["/delete", "/delete-all"])
def test_deleting_after_logging_out_changes_nothing(
    source: SourceClient, instance: Instance, path: str
) -> None:
    reply = reply_to(instance, source.codename, "Not yet")
    old_token = csrf_token_in(source.lookup().text)
    source.logout()
    stale = source.client.post(
        path, data={"csrf_token": old_token, "reply_uuid": reply, "confirm": "yes"}
    )
    assert stale.status_code == 400  # the old page's form died with the session
    fresh_token = csrf_token_in(source.client.get("/login").text)
    fresh = source.client.post(
        path, data={"csrf_token": fresh_token, "reply_uuid": reply, "confirm": "yes"}
    )
    assert fresh.status_code == 303
    assert fresh.headers["Location"].endswith("/login")
    assert reply_rows(instance) == {reply: False}
