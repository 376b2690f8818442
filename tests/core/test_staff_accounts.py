"""Staff accounts: generated passphrases and secrets, checked names, deletion."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import (
    InvalidName,
    InvalidOtpSecret,
    InvalidPassphrase,
    InvalidUsername,
    UsernameTaken,
)
from core.instance import Instance
from core.models import Journalist, Reply
from core.replies import store_reply
from core.staff_accounts import (
    NAME_MAX_CHARS,
    PASSPHRASE_MAX_CHARS,
    PASSPHRASE_MIN_CHARS,
    delete_journalist,
)
from core.two_factor import normalize_otp_secret
from crypto.wordlist import load_eff_wordlist
from tests.support.accounts import make_account
from tests.support.staff import make_source


def test_new_account_gets_a_generated_seven_word_passphrase_and_160_bit_secret(
    db: Session, instance: Instance
) -> None:
    journalist, passphrase = make_account(db, instance)
    words = passphrase.split(" ")
    assert len(words) == 7
    assert set(words) <= set(load_eff_wordlist().words)
    assert journalist.passphrase_hash.startswith("$argon2id$")
    assert passphrase not in journalist.passphrase_hash
    assert len(normalize_otp_secret(journalist.otp_secret)) == 32  # 160 bits of base32


def test_usernames_are_checked_and_unique(db: Session, instance: Instance) -> None:
    make_account(db, instance)
    with pytest.raises(UsernameTaken):
        make_account(db, instance, "dana")
    for bad in ("", "ab", "has space", "../x", "x" * 65, "émile"):
        with pytest.raises(InvalidUsername):
            make_account(db, instance, bad)
    with pytest.raises(InvalidOtpSecret):
        make_account(db, instance, "olga", otp_secret="not base32!")
    assert db.scalar(select(Journalist.username).where(Journalist.username == "olga")) is None


@pytest.mark.parametrize("length", [PASSPHRASE_MIN_CHARS - 1, PASSPHRASE_MAX_CHARS + 1])
def test_a_given_passphrase_of_the_wrong_length_is_a_passphrase_error(
    db: Session, instance: Instance, length: int
) -> None:
    with pytest.raises(InvalidPassphrase, match="A passphrase must be") as refused:
        make_account(db, instance, "petra", passphrase="p" * length)
    assert not isinstance(refused.value, InvalidUsername)
    assert db.scalar(select(Journalist.username).where(Journalist.username == "petra")) is None
    make_account(db, instance, "petra", passphrase="p" * PASSPHRASE_MIN_CHARS)


def test_a_name_too_long_or_with_control_characters_is_a_name_error(
    db: Session, instance: Instance
) -> None:
    for bad in ("n" * (NAME_MAX_CHARS + 1), "tab\there"):
        with pytest.raises(InvalidName, match="first name") as refused:
            make_account(db, instance, "nina", first_name=bad)
        assert not isinstance(refused.value, InvalidUsername)
    assert db.scalar(select(Journalist.username).where(Journalist.username == "nina")) is None


def test_deleting_an_account_keeps_its_replies(db: Session, instance: Instance) -> None:
    journalist, _ = make_account(db, instance)
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
