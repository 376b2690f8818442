"""Staff sign-in: three factors, one failure message, replay and throttling, DB sessions."""

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from core.instance import Instance
from core.models import AuditEntry, JournalistSession
from core.two_factor import totp_code
from journalist_app.session import COOKIE_NAME
from tests.support.staff import StaffAccount, csrf_from, fresh_code, sign_in_client

FAILED = "Sign-in failed. Check your username and passphrase"


def post_login(client: FlaskClient, **fields: str) -> tuple[int, str]:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, **fields})
    return response.status_code, response.get_data(as_text=True)


def audit_rows(instance: Instance) -> list[tuple[str, str, str | None]]:
    with instance.sessions() as db:
        return [
            (e.actor, e.action, e.detail)
            for e in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]


def test_pages_need_a_signed_in_user(client: FlaskClient) -> None:
    for path in ("/", "/admin/users", "/account", "/source/whatever"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_sign_in_sets_only_a_random_token_cookie(
    client: FlaskClient, instance: Instance, staff_account: StaffAccount
) -> None:
    before = client.get_cookie(COOKIE_NAME)
    assert before is None
    client.get("/login")
    anonymous = client.get_cookie(COOKIE_NAME)
    assert anonymous is not None
    response = sign_in_client(client, instance, staff_account)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None
    # A fresh token at sign-in; the cookie is only that token (no signed data, no user id).
    assert cookie.value != anonymous.value
    assert "." not in cookie.value
    assert len(cookie.value) == 43
    assert cookie.http_only
    assert cookie.same_site == "Strict"
    with instance.sessions() as db:
        rows = db.scalars(select(JournalistSession)).all()
    assert len(rows) == 1
    assert rows[0].kind == "web"
    assert cookie.value not in rows[0].token_hash
    page = client.get("/")
    assert page.status_code == 200
    assert "Inbox" in page.get_data(as_text=True)
    assert audit_rows(instance)[-1] == (staff_account.uuid, "sign_in", "web")


@pytest.mark.parametrize("wrong", ["passphrase", "code", "username"])
def test_a_wrong_factor_gets_the_same_answer(
    client: FlaskClient, instance: Instance, staff_account: StaffAccount, wrong: str
) -> None:
    fields = {
        "username": staff_account.username,
        "passphrase": staff_account.passphrase,
        "code": fresh_code(instance, staff_account),
    }
    fields[wrong] = {"username": "nobody", "passphrase": "wrong words here at all",
                     "code": "000000"}[wrong]
    if wrong == "code" and fields["code"] == fresh_code(instance, staff_account):
        fields["code"] = "999999"
    status, body = post_login(client, **fields)
    assert status == 401
    assert FAILED in body
    actor, action, _ = audit_rows(instance)[-1]
    assert action == "sign_in_failed"
    # A typed username that is no account (perhaps a mistyped passphrase) is never logged.
    assert actor == ("unknown" if wrong == "username" else staff_account.uuid)
    assert client.get("/").status_code == 302


def test_a_replayed_code_is_refused(
    client: FlaskClient, instance: Instance, staff_account: StaffAccount, staff_app: object
) -> None:
    code = fresh_code(instance, staff_account)
    fields = {"username": staff_account.username, "passphrase": staff_account.passphrase,
              "code": code}
    assert post_login(client, **fields)[0] == 302
    other = staff_app.test_client()  # type: ignore[attr-defined]
    status, body = post_login(other, **fields)
    assert status == 401
    assert FAILED in body


def test_the_sixth_attempt_in_a_minute_is_throttled(
    client: FlaskClient, instance: Instance, staff_account: StaffAccount
) -> None:
    for _ in range(5):
        status, _ = post_login(client, username=staff_account.username,
                               passphrase="not the passphrase at all", code="123456")
        assert status == 401
    status, body = post_login(
        client, username=staff_account.username, passphrase=staff_account.passphrase,
        code=fresh_code(instance, staff_account),
    )
    assert status == 429
    assert "Too many sign-in attempts" in body
    assert audit_rows(instance)[-1][1:] == ("sign_in_failed", "web: throttled")


def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, instance: Instance, staff_account: StaffAccount
) -> None:
    client.get("/login")
    response = client.post("/login", data={
        "username": staff_account.username, "passphrase": staff_account.passphrase,
        "code": fresh_code(instance, staff_account),
    })
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    # A token from another browser does not fit this one's cookie.
    stranger = client.application.test_client()
    foreign = csrf_from(stranger.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": foreign, "username": "x",
                                           "passphrase": "y", "code": "1"})
    assert response.status_code == 400


def test_a_stale_session_sends_the_user_back_to_sign_in(
    staff_client: FlaskClient, instance: Instance
) -> None:
    with instance.sessions() as db:
        db.execute(update(JournalistSession).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.commit()
    response = staff_client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?notice=session-ended"
    assert "Your session has ended" in staff_client.get(
        response.headers["Location"]).get_data(as_text=True)
    with instance.sessions() as db:
        assert db.scalars(select(JournalistSession)).all() == []


def test_sessions_are_renewed_on_use(staff_client: FlaskClient, instance: Instance) -> None:
    with instance.sessions() as db:
        db.execute(update(JournalistSession).values(
            expires_at=datetime.now(UTC) + timedelta(minutes=5)))
        db.commit()
    assert staff_client.get("/").status_code == 200
    with instance.sessions() as db:
        expiry = db.scalars(select(JournalistSession.expires_at)).one()
    assert expiry > datetime.now(UTC) + timedelta(minutes=119)


def test_sign_out_ends_the_session_for_the_old_cookie_too(
    staff_client: FlaskClient, instance: Instance
) -> None:
    old = staff_client.get_cookie(COOKIE_NAME)
    assert old is not None
    token = csrf_from(staff_client.get("/").get_data(as_text=True))
    response = staff_client.post("/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/login?notice=signed-out"
    assert staff_client.get("/").status_code == 302
    replay = staff_client.application.test_client()
    replay.set_cookie(COOKIE_NAME, old.value)
    assert replay.get("/").status_code == 302
    with instance.sessions() as db:
        assert db.scalars(select(JournalistSession)).all() == []


def test_every_response_carries_the_hardening_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in response.headers["Cache-Control"]


def test_the_80_bit_development_secret_signs_in_through_the_web(
    client: FlaskClient, instance: Instance
) -> None:
    from core.staff_accounts import create_journalist

    with instance.sessions() as db:
        _journalist, passphrase = create_journalist(
            db, username="journalist", otp_secret="JHCOGO7VCER3EJ4L", kdf=instance.settings.kdf
        )
        db.commit()
    status, _ = post_login(client, username="journalist", passphrase=passphrase,
                           code=totp_code("JHCOGO7VCER3EJ4L", datetime.now(UTC)))
    assert status == 302
