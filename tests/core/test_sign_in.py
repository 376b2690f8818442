"""Staff sign-in: all three factors, failures that read the same, per-account throttling."""

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from core.errors import (
    LoginFailed,
    LoginThrottled,
)
from core.instance import Instance
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


def test_more_than_five_attempts_a_minute_are_throttled_until_the_window_passes(
    db: Session, instance: Instance
) -> None:
    journalist, passphrase = make_account(db, instance)
    for i in range(5):
        with pytest.raises(LoginFailed):
            sign_in_at(db, instance, "dana", "wrong " * 4, "000000", now=T0 + timedelta(seconds=i))
    good = totp_code(journalist.otp_secret, T0 + timedelta(seconds=10))
    with pytest.raises(LoginThrottled) as caught:
        sign_in_at(db, instance, "dana", passphrase, good, now=T0 + timedelta(seconds=10))
    assert 50 <= caught.value.retry_after_seconds <= 61
    later = T0 + timedelta(seconds=61)
    sign_in_at(db, instance, "dana", passphrase, totp_code(journalist.otp_secret, later), now=later)
