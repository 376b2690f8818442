"""Keeping a staff member out by guessing at their username, against gunicorn.

Wrong passphrases count against the client that sends them; the owner's own browser (a known
device after one sign-in) keeps its own count, so no flood of guesses keeps the owner out. Only
wrong one-time codes after the right passphrase, which an attacker cannot cheaply produce, hold
the account itself.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from core.instance import Instance
from journalist_app.device import COOKIE
from tests.support.staff import StaffAccount, csrf_from, fresh_code

JOURNALIST_APP = "journalist_app:create_app()"


def sign_in(http: requests.Session, url: str, username: str, passphrase: str,
            code: str) -> int:
    form = http.get(f"{url}/login", timeout=30)
    answer = http.post(
        f"{url}/login",
        data={"csrf_token": csrf_from(form.text), "username": username,
              "passphrase": passphrase, "code": code},
        allow_redirects=False,
        timeout=60,
    )
    return answer.status_code


def test_a_flood_of_wrong_passphrases_does_not_keep_the_owner_out(
    instance: Instance, staff_account: StaffAccount, make_gunicorn: Callable[..., str]
) -> None:
    url = make_gunicorn(JOURNALIST_APP, instance.settings.data_dir)
    owner = requests.Session()
    right = fresh_code(instance, staff_account)
    assert sign_in(owner, url, staff_account.username, staff_account.passphrase, right) == 302
    device = owner.cookies.get(COOKIE)
    assert device
    # Another day, the same browser: only the device cookie is left.
    browser = requests.Session()
    browser.cookies.set(COOKIE, device, path="/login")

    attacker = requests.Session()
    answers = [sign_in(attacker, url, staff_account.username, f"guess number {n} " * 2,
                       "000000") for n in range(20)]
    assert answers[:5] == [401] * 5
    assert set(answers[5:]) == {429}

    right = fresh_code(instance, staff_account)
    assert sign_in(browser, url, staff_account.username, staff_account.passphrase, right) == 302


def test_wrong_codes_after_the_right_passphrase_hold_the_account(
    instance: Instance, staff_account: StaffAccount, make_gunicorn: Callable[..., str]
) -> None:
    url = make_gunicorn(JOURNALIST_APP, instance.settings.data_dir)
    owner = requests.Session()
    right = fresh_code(instance, staff_account)
    assert sign_in(owner, url, staff_account.username, staff_account.passphrase, right) == 302
    device = owner.cookies.get(COOKIE)
    # Someone who has the passphrase but not the second factor.
    thief = requests.Session()
    for _ in range(instance.settings.login_attempt_limit):
        assert sign_in(thief, url, staff_account.username, staff_account.passphrase,
                       "000000") == 401
    browser = requests.Session()
    browser.cookies.set(COOKIE, device, path="/login")
    right = fresh_code(instance, staff_account)
    assert sign_in(browser, url, staff_account.username, staff_account.passphrase, right) == 429
