"""Staff accounts: generated passphrases, TOTP/HOTP sign-in, replay and throttling, sessions."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.client_throttle import ClientThrottle
from core.errors import (
    InvalidOtpSecret,
    InvalidUsername,
    LoginFailed,
    LoginThrottled,
    UsernameTaken,
)
from core.instance import Instance
from core.journalists import (
    authenticate_journalist,
    create_journalist,
    delete_journalist,
    hotp_code,
    normalize_otp_secret,
    open_session,
    reset_passphrase,
    reset_two_factor,
    resolve_session,
    revoke_session,
    revoke_sessions,
    totp_code,
)
from core.models import Journalist, JournalistSession, Reply
from core.replies import store_reply
from crypto.wordlist import load_eff_wordlist
from tests.journalist_app.staff import make_source

T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def db(instance: Instance) -> Session:
    with instance.sessions() as session:
        yield session


def make(
    db: Session, instance: Instance, username: str = "dana", **kw: object
) -> tuple[Journalist, str]:
    journalist, passphrase = create_journalist(
        db,
        username=username,
        kdf=instance.settings.kdf,
        **kw,  # type: ignore[arg-type]
    )
    db.commit()
    return journalist, passphrase


def sign_in(
    db: Session, instance: Instance, username: str, passphrase: str, code: str, now: datetime = T0
) -> Journalist:
    return authenticate_journalist(
        db, instance.settings, username=username, passphrase=passphrase, code=code, now=now
    )


def test_new_account_gets_a_generated_seven_word_passphrase_and_160_bit_secret(
    db: Session, instance: Instance
) -> None:
    journalist, passphrase = make(db, instance)
    words = passphrase.split(" ")
    assert len(words) == 7
    assert set(words) <= set(load_eff_wordlist().words)
    assert journalist.passphrase_hash.startswith("$argon2id$")
    assert passphrase not in journalist.passphrase_hash
    assert len(normalize_otp_secret(journalist.otp_secret)) == 32  # 160 bits of base32


def test_sign_in_with_all_three_factors(db: Session, instance: Instance) -> None:
    journalist, passphrase = make(db, instance)
    signed_in = sign_in(db, instance, "dana", passphrase, totp_code(journalist.otp_secret, T0))
    assert signed_in.id == journalist.id
    assert signed_in.last_login == T0


@pytest.mark.parametrize("wrong", ["passphrase", "code", "username"])
def test_every_failure_reads_the_same(db: Session, instance: Instance, wrong: str) -> None:
    journalist, passphrase = make(db, instance)
    code = totp_code(journalist.otp_secret, T0)
    username = "nobody" if wrong == "username" else "dana"
    if wrong == "passphrase":
        passphrase = passphrase + "x"
    if wrong == "code":
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(LoginFailed) as caught:
        sign_in(db, instance, username, passphrase, code)
    assert str(caught.value) == str(LoginFailed())
    for factor in ("passphrase is wrong", "code is wrong", "unknown user", "no such"):
        assert factor not in str(caught.value).lower()


def test_a_used_code_is_refused_the_second_time(db: Session, instance: Instance) -> None:
    journalist, passphrase = make(db, instance)
    code = totp_code(journalist.otp_secret, T0)
    sign_in(db, instance, "dana", passphrase, code)
    with pytest.raises(LoginFailed):
        sign_in(db, instance, "dana", passphrase, code, now=T0 + timedelta(seconds=5))
    # Nor is the previous step's code, although it is still inside the ±1 window.
    older = totp_code(journalist.otp_secret, T0 - timedelta(seconds=30))
    with pytest.raises(LoginFailed):
        sign_in(db, instance, "dana", passphrase, older, now=T0 + timedelta(seconds=5))
    newer = totp_code(journalist.otp_secret, T0 + timedelta(seconds=30))
    sign_in(db, instance, "dana", passphrase, newer, now=T0 + timedelta(seconds=31))


def test_totp_accepts_one_step_of_clock_drift_and_no_more(db: Session, instance: Instance) -> None:
    journalist, passphrase = make(db, instance)
    sign_in(
        db,
        instance,
        "dana",
        passphrase,
        totp_code(journalist.otp_secret, T0 + timedelta(seconds=30)),
    )
    with pytest.raises(LoginFailed):
        sign_in(
            db,
            instance,
            "dana",
            passphrase,
            totp_code(journalist.otp_secret, T0 + timedelta(seconds=90)),
        )


def test_the_80_bit_development_secret_works(db: Session, instance: Instance) -> None:
    _journalist, passphrase = make(db, instance, otp_secret="JHCOGO7VCER3EJ4L")
    sign_in(db, instance, "dana", passphrase, totp_code("JHCOGO7VCER3EJ4L", T0))


def test_hotp_token_with_look_ahead_and_no_replay(db: Session, instance: Instance) -> None:
    secret_hex = b"12345678901234567890".hex()  # RFC 4226 test secret
    journalist, passphrase = make(db, instance, otp_secret=secret_hex, hotp=True)
    # RFC 4226 appendix D: counter 5 -> 254676; the token was pressed 5 times unused.
    assert hotp_code(journalist.otp_secret, 5) == "254676"
    sign_in(db, instance, "dana", passphrase, "254676")
    assert journalist.hotp_counter == 6
    with pytest.raises(LoginFailed):
        sign_in(db, instance, "dana", passphrase, "254676", now=T0 + timedelta(seconds=1))
    with pytest.raises(LoginFailed):  # beyond the 20-code window
        sign_in(
            db,
            instance,
            "dana",
            passphrase,
            hotp_code(journalist.otp_secret, 40),
            now=T0 + timedelta(seconds=2),
        )


def test_wrong_passphrases_never_lock_the_owner_out(db: Session, instance: Instance) -> None:
    journalist, passphrase = make(db, instance)
    for i in range(20):
        with pytest.raises(LoginFailed):
            sign_in(db, instance, "dana", "wrong " * 4, "000000", now=T0 + timedelta(seconds=i))
    good = totp_code(journalist.otp_secret, T0 + timedelta(seconds=21))
    assert sign_in(db, instance, "dana", passphrase, good, now=T0 + timedelta(seconds=21))


def test_five_wrong_codes_after_the_right_passphrase_hold_the_account_for_the_window(
    db: Session, instance: Instance
) -> None:
    journalist, passphrase = make(db, instance)
    for i in range(5):
        with pytest.raises(LoginFailed):
            sign_in(db, instance, "dana", passphrase, "000000", now=T0 + timedelta(seconds=i))
    good = totp_code(journalist.otp_secret, T0 + timedelta(seconds=10))
    with pytest.raises(LoginThrottled) as caught:
        sign_in(db, instance, "dana", passphrase, good, now=T0 + timedelta(seconds=10))
    assert 50 <= caught.value.retry_after_seconds <= 61
    later = T0 + timedelta(seconds=61)
    sign_in(db, instance, "dana", passphrase, totp_code(journalist.otp_secret, later), now=later)


def test_wrong_passphrases_are_throttled_per_client(db: Session, instance: Instance) -> None:
    journalist, passphrase = make(db, instance)
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
    # The owner's known device has a bucket of its own.
    assert attempt("device:owner", passphrase, totp_code(journalist.otp_secret, T0))
    clock[0] = 61.0
    with pytest.raises(LoginFailed):
        attempt("unknown:127.0.0.1", "wrong " * 4)


def test_usernames_are_checked_and_unique(db: Session, instance: Instance) -> None:
    make(db, instance)
    with pytest.raises(UsernameTaken):
        make(db, instance, "dana")
    for bad in ("", "ab", "has space", "../x", "x" * 65, "émile"):
        with pytest.raises(InvalidUsername):
            make(db, instance, bad)
    with pytest.raises(InvalidOtpSecret):
        make(db, instance, "olga", otp_secret="not base32!")
    assert db.scalar(select(Journalist.username).where(Journalist.username == "olga")) is None


def test_sessions_store_only_a_hash_expire_and_renew(db: Session, instance: Instance) -> None:
    journalist, _ = make(db, instance)
    token, expires = open_session(db, journalist, kind="web", lifetime=2 * HOUR, now=T0)
    db.commit()
    assert expires == T0 + 2 * HOUR
    stored = db.scalars(select(JournalistSession.token_hash)).all()
    assert token not in stored
    assert len(stored) == 1
    assert resolve_session(db, token, kind="api", lifetime=2 * HOUR, now=T0) is None
    found = resolve_session(db, token, kind="web", lifetime=2 * HOUR, now=T0 + HOUR)
    assert found is not None
    assert found.id == journalist.id
    # Renewed on use: still valid 2.5 h after sign-in, gone 2 h after the last use.
    assert (
        resolve_session(db, token, kind="web", lifetime=2 * HOUR, now=T0 + 2.5 * HOUR) is not None
    )
    assert resolve_session(db, token, kind="web", lifetime=2 * HOUR, now=T0 + 4.6 * HOUR) is None
    assert db.scalars(select(JournalistSession)).all() == []


def test_sessions_end_on_logout_passphrase_change_2fa_reset_and_deletion(
    db: Session, instance: Instance
) -> None:
    journalist, _ = make(db, instance)

    def live() -> str:
        token, _ = open_session(db, journalist, kind="web", lifetime=HOUR)
        _api, _ = open_session(db, journalist, kind="api", lifetime=HOUR)
        assert resolve_session(db, token, kind="web", lifetime=HOUR) is not None
        return token

    token = live()
    revoke_session(db, token)
    assert resolve_session(db, token, kind="web", lifetime=HOUR) is None
    token = live()
    revoke_sessions(db, journalist)
    assert resolve_session(db, token, kind="web", lifetime=HOUR) is None
    token = live()
    new_passphrase = reset_passphrase(db, journalist, kdf=instance.settings.kdf)
    assert len(new_passphrase.split()) == 7
    assert db.scalars(select(JournalistSession)).all() == []
    token = live()
    old_secret = journalist.otp_secret
    assert reset_two_factor(db, journalist) != old_secret
    assert db.scalars(select(JournalistSession)).all() == []
    token = live()
    delete_journalist(db, journalist)
    db.commit()
    assert resolve_session(db, token, kind="web", lifetime=HOUR) is None


def test_deleting_an_account_keeps_its_replies(db: Session, instance: Instance) -> None:
    journalist, _ = make(db, instance)
    seeded = make_source(instance)
    from core.inbox import find_source

    source = find_source(db, seeded.uuid)
    assert source is not None
    reply = store_reply(db, instance, source=source, journalist=journalist, ciphertext=b"x" * 10)
    db.commit()
    delete_journalist(db, journalist)
    db.commit()
    db.expire_all()
    kept = db.get(Reply, reply.id)
    assert kept is not None
    assert kept.journalist_id is None


def test_codes_match_pyotp_and_the_rfc_6238_vector() -> None:
    import pyotp

    from core.journalists import generate_otp_secret

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
