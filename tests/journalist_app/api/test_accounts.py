"""Token sign-in, sign-out and accounts: SecureDrop's rules, the same throttling as the web."""

import json
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from core.models import AuditEntry, Journalist, JournalistSession
from core.staff_accounts import delete_journalist, reset_passphrase, reset_two_factor
from core.two_factor import totp_code
from devtools.devdata import DEV_OTP_SECRET, DEV_PASSPHRASE
from tests.support.api import Seeded, issue_token

DATETIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def sign_in(client: FlaskClient, username: str = "journalist", code: str | None = None):  # type: ignore[no-untyped-def]
    body = json.dumps(
        {
            "username": username,
            "passphrase": DEV_PASSPHRASE,
            "one_time_code": code or totp_code(DEV_OTP_SECRET, datetime.now(UTC)),
        }
    )
    # The SDK sends the token request with no Content-Type at all.
    return client.post("/api/v1/token", data=body, headers={"Content-Type": ""})


def test_token_without_content_type_signs_in_and_is_stored_hashed(
    client: FlaskClient, seeded: Seeded
) -> None:
    response = sign_in(client)
    assert response.status_code == 200
    document = response.get_json()
    assert set(document) == {
        "token",
        "expiration",
        "journalist_uuid",
        "journalist_first_name",
        "journalist_last_name",
    }
    expires = datetime.strptime(document["expiration"], DATETIME).replace(tzinfo=UTC)
    assert timedelta(minutes=119) < expires - datetime.now(UTC) <= timedelta(minutes=120)
    with seeded.instance.sessions() as db:
        journalist = db.scalars(select(Journalist).where(Journalist.username == "journalist")).one()
        assert document["journalist_uuid"] == journalist.uuid
        stored = db.scalars(select(JournalistSession.token_hash)).all()
        assert document["token"] not in stored
        actions = [e.action for e in db.scalars(select(AuditEntry))]
    assert "sign_in" in actions
    user = client.get("/api/v1/user", headers={"Authorization": f"Token {document['token']}"})
    assert user.status_code == 200
    assert user.get_json()["username"] == "journalist"
    assert user.get_json()["is_admin"] is True


def test_a_code_is_accepted_once(client: FlaskClient, seeded: Seeded) -> None:
    code = totp_code(DEV_OTP_SECRET, datetime.now(UTC))
    assert sign_in(client, "dellsberg", code).status_code == 200
    again = sign_in(client, "dellsberg", code)
    assert again.status_code == 403
    assert again.get_json() == {"error": "Forbidden", "message": "Token authentication failed."}


def test_wrong_passphrase_unknown_user_and_bad_code_get_the_same_answer(
    client: FlaskClient, seeded: Seeded
) -> None:
    answers = []
    for body in (
        {"username": "journalist", "passphrase": "wrong " * 5, "one_time_code": "123456"},
        {"username": "nobody", "passphrase": DEV_PASSPHRASE, "one_time_code": "123456"},
        {"username": "journalist", "passphrase": DEV_PASSPHRASE, "one_time_code": "000000"},
    ):
        response = client.post("/api/v1/token", data=json.dumps(body))
        answers.append((response.status_code, response.get_json()))
    assert answers == [(403, {"error": "Forbidden", "message": "Token authentication failed."})] * 3
    with seeded.instance.sessions() as db:
        failures = [e for e in db.scalars(select(AuditEntry)) if e.action == "sign_in_failed"]
    assert len(failures) == 3


def test_more_than_five_attempts_in_a_minute_are_throttled_even_with_the_right_code(
    client: FlaskClient, seeded: Seeded
) -> None:
    wrong = {"username": "dellsberg", "passphrase": "x" * 30, "one_time_code": "123456"}
    for _ in range(5):
        assert client.post("/api/v1/token", data=json.dumps(wrong)).status_code == 403
    right = sign_in(client, "dellsberg")
    assert right.status_code == 403
    assert right.get_json()["message"] == "Token authentication failed."
    with seeded.instance.sessions() as db:
        details = [e.detail for e in db.scalars(select(AuditEntry)) if e.action == "sign_in_failed"]
    assert "api: throttled" in details


def test_missing_field_is_named(client: FlaskClient, seeded: Seeded) -> None:
    for missing in ("username", "passphrase", "one_time_code"):
        body = {"username": "journalist", "passphrase": "p", "one_time_code": "1"}
        del body[missing]
        response = client.post("/api/v1/token", data=json.dumps(body))
        assert response.status_code == 400
        assert response.get_json() == {
            "error": "Bad Request",
            "message": f"{missing} field is missing",
        }


def test_token_body_that_is_not_json_is_a_json_400(client: FlaskClient, seeded: Seeded) -> None:
    for body in (b"", b"not json", b"[1, 2]", b"\xff\xfe", b'{"username": 5}'):
        response = client.post("/api/v1/token", data=body)
        assert response.status_code == 400, body
        assert response.get_json()["error"] == "Bad Request"


def test_logout_revokes_the_token(client: FlaskClient, seeded: Seeded) -> None:
    headers = {"Authorization": f"Token {issue_token(seeded.instance)}"}
    response = client.post("/api/v1/logout", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"message": "Your token has been revoked."}
    after = client.get("/api/v1/user", headers=headers)
    assert after.status_code == 403
    assert after.get_json() == {"error": "Forbidden", "message": "API token is invalid or expired."}


def test_account_changes_revoke_tokens(client: FlaskClient, seeded: Seeded) -> None:
    changes = {
        "passphrase": lambda db, j: reset_passphrase(db, j, kdf=seeded.instance.settings.kdf),
        "two-factor": lambda db, j: reset_two_factor(db, j),
        "deletion": lambda db, j: delete_journalist(db, j),
    }
    for change in changes.values():
        token = issue_token(seeded.instance, "dellsberg")
        headers = {"Authorization": f"Token {token}"}
        assert client.get("/api/v1/user", headers=headers).status_code == 200
        with seeded.instance.sessions() as db:
            journalist = db.scalars(
                select(Journalist).where(Journalist.username == "dellsberg")
            ).one()
            change(db, journalist)
            db.commit()
        assert client.get("/api/v1/user", headers=headers).status_code == 403


def test_token_use_renews_it_and_an_expired_token_is_refused(
    client: FlaskClient, seeded: Seeded
) -> None:
    token = issue_token(seeded.instance)
    headers = {"Authorization": f"Token {token}"}
    with seeded.instance.sessions() as db:
        row = db.scalars(select(JournalistSession)).one()
        row.expires_at = datetime.now(UTC) + timedelta(minutes=1)
        db.commit()
    assert client.get("/api/v1/user", headers=headers).status_code == 200
    with seeded.instance.sessions() as db:
        row = db.scalars(select(JournalistSession)).one()
        assert row.expires_at - datetime.now(UTC) > timedelta(minutes=119)
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.commit()
    assert client.get("/api/v1/user", headers=headers).status_code == 403


def test_authorization_header_must_be_exactly_token_and_value(
    client: FlaskClient, seeded: Seeded
) -> None:
    token = issue_token(seeded.instance)
    for header in (
        None,
        f"Bearer {token}",
        token,
        f"Token {token} extra",
        "Token",
        f"token {token}",
    ):
        headers = {} if header is None else {"Authorization": header}
        response = client.get("/api/v1/sources", headers=headers)
        assert response.status_code == 403, header
        assert response.get_json()["error"] == "Forbidden"
    assert (
        client.get("/api/v1/sources", headers={"Authorization": f"Token {token}"}).status_code
        == 200
    )


def test_web_session_token_is_not_an_api_token(client: FlaskClient, seeded: Seeded) -> None:
    from core.staff_sessions import open_session

    with seeded.instance.sessions() as db:
        journalist = db.scalars(select(Journalist).where(Journalist.username == "journalist")).one()
        web_token, _ = open_session(db, journalist, kind="web", lifetime=timedelta(hours=2))
        db.commit()
    response = client.get("/api/v1/user", headers={"Authorization": f"Token {web_token}"})
    assert response.status_code == 403


def test_users_lists_every_account(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    response = client.get("/api/v1/users", headers=auth)
    assert response.status_code == 200
    users = response.get_json()["users"]
    assert sorted(u["username"] for u in users) == ["dellsberg", "journalist"]
    assert all(set(u) == {"username", "uuid", "first_name", "last_name"} for u in users)
    ellsberg = next(u for u in users if u["username"] == "dellsberg")
    assert (ellsberg["first_name"], ellsberg["last_name"]) == ("Daniel", "Ellsberg")


def test_current_user_has_last_login_after_a_sign_in(client: FlaskClient, seeded: Seeded) -> None:
    token = sign_in(client).get_json()["token"]
    user = client.get("/api/v1/user", headers={"Authorization": f"Token {token}"}).get_json()
    assert set(user) == {"username", "uuid", "first_name", "last_name", "is_admin", "last_login"}
    assert datetime.strptime(user["last_login"], DATETIME)
