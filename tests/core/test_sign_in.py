"""Staff sign-in: all three factors, failures that read the same, throttling without lock-outs."""

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from core.client_throttle import ClientThrottle
from core.errors import (
    LoginFailed,
    LoginThrottled,
)
from core.instance import Instance
from core.models import Journalist
from core.sign_in import authenticate_journalist
from core.two_factor import totp_code
from tests.support.accounts import T0, make_account, sign_in_at


def test_sign_in_with_all_three_factors(db: Session, instance: Instance) -> None:
    journalist, passphrase = make_account(db, instance)
    signed_in = sign_in_at(db, instance, "dana", passphrase, totp_code(journalist.otp_secret, T0))
    assert signed_in.id == journalist.id
    assert signed_in.last_login == T0


@pytest.mark.parametrize("wrong", ["passphrase", "code", "username"])
def test_every_failure_reads_the_same(db: Session, instance: Instance, wrong: str) -> None:
    journalist, passphrase = make_account(db, instance)
    code = totp_code(journalist.otp_secret, T0)
    username = "nobody" if wrong == "username" else "dana"
    if wrong == "passphrase":
        passphrase = passphrase + "x"
    if wrong == "code":
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(LoginFailed) as caught:
        sign_in_at(db, instance, username, passphrase, code)
    assert str(caught.value) == str(LoginFailed())
    for factor in ("passphrase is wrong", "code is wrong", "unknown user", "no such"):
        assert factor not in str(caught.value).lower()


def test_wrong_passphrases_never_lock_the_owner_out(db: Session, instance: Instance) -> None:
    journalist, passphrase = make_account(db, instance)
    for i in range(20):
        with pytest.raises(LoginFailed):
            sign_in_at(db, instance, "dana", "wrong " * 4, "000000", now=T0 + timedelta(seconds=i))
    good = totp_code(journalist.otp_secret, T0 + timedelta(seconds=21))
    assert sign_in_at(db, instance, "dana", passphrase, good, now=T0 + timedelta(seconds=21))


def test_five_wrong_codes_after_the_right_passphrase_hold_the_account_for_the_window(
    db: Session, instance: Instance
) -> None:
    journalist, passphrase = make_account(db, instance)
    for i in range(5):
        with pytest.raises(LoginFailed):
            sign_in_at(db, instance, "dana", passphrase, "000000", now=T0 + timedelta(seconds=i))
    good = totp_code(journalist.otp_secret, T0 + timedelta(seconds=10))
    with pytest.raises(LoginThrottled) as caught:
        sign_in_at(db, instance, "dana", passphrase, good, now=T0 + timedelta(seconds=10))
    assert 50 <= caught.value.retry_after_seconds <= 61
    later = T0 + timedelta(seconds=61)
    sign_in_at(db, instance, "dana", passphrase, totp_code(journalist.otp_secret, later), now=later)


def test_wrong_passphrases_are_throttled_per_client(db: Session, instance: Instance) -> None:
    journalist, passphrase = make_account(db, instance)
    clock = [0.0]
    throttle = ClientThrottle(5, 60, clock=lambda: clock[0])

    def attempt(client: str, secret: str, code: str = "000000") -> Journalist:
        return authenticate_journalist(db, instance.settings, username="dana", passphrase=secret,
                                       code=code, now=T0, client=client, throttle=throttle)

    for _ in range(5):
        with pytest.raises(LoginFailed):
            attempt("unknown:127.0.0.1", "wrong " * 4)
    with pytest.raises(LoginThrottled) as caught:
        attempt("unknown:127.0.0.1", passphrase, totp_code(journalist.otp_secret, T0))
    assert caught.value.retry_after_seconds == 61
    # The owner's known device has a count of its own.
    assert attempt("device:owner", passphrase, totp_code(journalist.otp_secret, T0))
    clock[0] = 61.0
    with pytest.raises(LoginFailed):
        attempt("unknown:127.0.0.1", "wrong " * 4)
