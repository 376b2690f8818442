"""Second factors: TOTP with one step of drift, HOTP with look-ahead, no code works twice."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from core.errors import (
    InvalidOtpSecret,
    LoginFailed,
)
from core.instance import Instance
from core.two_factor import hotp_code, normalize_otp_secret, totp_code
from tests.support.accounts import T0, make_account, sign_in_at


def test_a_used_code_is_refused_the_second_time(db: Session, instance: Instance) -> None:
    journalist, passphrase = make_account(db, instance)
    code = totp_code(journalist.otp_secret, T0)
    sign_in_at(db, instance, "dana", passphrase, code)
    with pytest.raises(LoginFailed):
        sign_in_at(db, instance, "dana", passphrase, code, now=T0 + timedelta(seconds=5))
    # Nor is the previous step's code, although it is still inside the ±1 window.
    older = totp_code(journalist.otp_secret, T0 - timedelta(seconds=30))
    with pytest.raises(LoginFailed):
        sign_in_at(db, instance, "dana", passphrase, older, now=T0 + timedelta(seconds=5))
    newer = totp_code(journalist.otp_secret, T0 + timedelta(seconds=30))
    sign_in_at(db, instance, "dana", passphrase, newer, now=T0 + timedelta(seconds=31))


def test_totp_accepts_one_step_of_clock_drift_and_no_more(db: Session, instance: Instance) -> None:
    journalist, passphrase = make_account(db, instance)
    sign_in_at(
        db,
        instance,
        "dana",
        passphrase,
        totp_code(journalist.otp_secret, T0 + timedelta(seconds=30)),
    )
    with pytest.raises(LoginFailed):
        sign_in_at(
            db,
            instance,
            "dana",
            passphrase,
            totp_code(journalist.otp_secret, T0 + timedelta(seconds=90)),
        )


def test_the_80_bit_development_secret_works(db: Session, instance: Instance) -> None:
    _journalist, passphrase = make_account(db, instance, otp_secret="JHCOGO7VCER3EJ4L")
    sign_in_at(db, instance, "dana", passphrase, totp_code("JHCOGO7VCER3EJ4L", T0))


def test_hotp_token_with_look_ahead_and_no_replay(db: Session, instance: Instance) -> None:
    secret_hex = b"12345678901234567890".hex()  # RFC 4226 test secret
    journalist, passphrase = make_account(db, instance, otp_secret=secret_hex, hotp=True)
    # RFC 4226 appendix D: counter 5 -> 254676; the token was pressed 5 times unused.
    assert hotp_code(journalist.otp_secret, 5) == "254676"
    sign_in_at(db, instance, "dana", passphrase, "254676")
    assert journalist.hotp_counter == 6
    with pytest.raises(LoginFailed):
        sign_in_at(db, instance, "dana", passphrase, "254676", now=T0 + timedelta(seconds=1))
    with pytest.raises(LoginFailed):  # beyond the 20-code window
        sign_in_at(
            db,
            instance,
            "dana",
            passphrase,
            hotp_code(journalist.otp_secret, 40),
            now=T0 + timedelta(seconds=2),
        )


def test_codes_match_pyotp_and_the_rfc_6238_vector() -> None:
    import pyotp

    from core.two_factor import generate_otp_secret

    secret = generate_otp_secret()
    for moment in (T0, T0 + timedelta(seconds=29), T0 + timedelta(days=400)):
        assert totp_code(secret, moment) == pyotp.TOTP(secret).at(moment)
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits), so 287082 with 6 digits.
    rfc_secret = normalize_otp_secret(b"12345678901234567890".hex(), allow_hex=True)
    assert totp_code(rfc_secret, datetime.fromtimestamp(59, UTC)) == "287082"


def test_rfc_4226_and_6238_vectors() -> None:
    rfc_secret = normalize_otp_secret(b"12345678901234567890".hex(), allow_hex=True)
    # RFC 4226 appendix D, counters 0..9.
    expected = ["755224", "287082", "359152", "969429", "338314"]
    expected += ["254676", "287922", "162583", "399871", "520489"]
    assert [hotp_code(rfc_secret, counter) for counter in range(10)] == expected
    # RFC 6238 appendix B (SHA-1), the last six of each eight-digit value.
    for seconds, code in (
        (59, "287082"),
        (1111111109, "081804"),
        (1111111111, "050471"),
        (1234567890, "005924"),
        (2000000000, "279037"),
        (20000000000, "353130"),
    ):
        assert totp_code(rfc_secret, datetime.fromtimestamp(seconds, UTC)) == code


def test_pyotp_computes_the_codes_even_for_the_80_bit_secret_it_refuses_by_default() -> None:
    import pyotp

    dev_secret = "JHCOGO7VCER3EJ4L"  # 80 bits
    with pytest.raises(ValueError, match="112 bits"):
        pyotp.TOTP(dev_secret).at(T0)

    # With its documented override, pyotp gives exactly the codes sign-in accepts.
    class Lowered(pyotp.TOTP):
        min_secret_length_bits = 80

    for step in range(-2, 3):
        moment = T0 + timedelta(seconds=30 * step)
        assert totp_code(dev_secret, moment) == Lowered(dev_secret).at(moment)
    # Secrets below 80 bits never reach pyotp: they are refused when an account is created.
    with pytest.raises(InvalidOtpSecret):
        normalize_otp_secret("JHCOGO7VCER3EJ")
