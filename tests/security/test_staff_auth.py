"""Attacks on staff sign-in: planted tokens, replayed codes, throttling dodged by spelling."""

import json

from flask import Flask
from flask.testing import FlaskClient

from core.instance import Instance
from journalist_app.session import COOKIE_NAME
from tests.support.staff import StaffAccount, csrf_from, fresh_code

PLANTED = "planted-token-chosen-by-the-attacker-0123456789"


def test_a_planted_session_token_is_replaced_at_sign_in(
    staff_web: Flask, instance: Instance, staff_account: StaffAccount
) -> None:
    victim = staff_web.test_client()
    victim.set_cookie(COOKIE_NAME, PLANTED)
    form = victim.get("/login")
    signed_in = victim.post(
        "/login",
        data={
            "csrf_token": csrf_from(form.text),
            "username": staff_account.username,
            "passphrase": staff_account.passphrase,
            "code": fresh_code(instance, staff_account),
        },
    )
    assert signed_in.status_code == 302
    cookie = victim.get_cookie(COOKIE_NAME)
    assert cookie is not None
    assert cookie.value != PLANTED
    attacker = staff_web.test_client()
    attacker.set_cookie(COOKIE_NAME, PLANTED)
    assert attacker.get("/").status_code == 302


def test_a_code_used_on_the_web_is_refused_by_the_api(
    staff_web: Flask, instance: Instance, staff_account: StaffAccount
) -> None:
    client = staff_web.test_client()
    code = fresh_code(instance, staff_account)
    form = client.get("/login")
    web = client.post(
        "/login",
        data={
            "csrf_token": csrf_from(form.text),
            "username": staff_account.username,
            "passphrase": staff_account.passphrase,
            "code": code,
        },
    )
    assert web.status_code == 302
    api = staff_web.test_client().post(
        "/api/v1/token",
        data=json.dumps(
            {
                "username": staff_account.username,
                "passphrase": staff_account.passphrase,
                "one_time_code": code,
            }
        ),
        content_type="application/json",
    )
    assert api.status_code == 403
    assert "token" not in api.get_json()


def sign_in(client: FlaskClient, username: str, passphrase: str, code: str) -> int:
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "csrf_token": csrf_from(form.text),
            "username": username,
            "passphrase": passphrase,
            "code": code,
        },
    )
    return answer.status_code


def test_spelling_the_username_differently_does_not_escape_throttling(
    staff_web: Flask, instance: Instance, staff_account: StaffAccount
) -> None:
    client = staff_web.test_client()
    name = staff_account.username
    for _ in range(instance.settings.login_attempt_limit):
        assert sign_in(client, name, "wrong passphrase " * 2, "000000") == 401
    # Wrong passphrases count against the client, whatever name it types: another spelling
    # is throttled too, even with every factor right, so it cannot be used to keep guessing.
    for variant in (name.upper(), f" {name}", f"{name} ", f"{name}\u200b", name):
        right_code = fresh_code(instance, staff_account)
        assert sign_in(client, variant, staff_account.passphrase, right_code) == 429, variant
