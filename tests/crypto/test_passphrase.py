import pytest

from crypto.kdf import TESTING
from crypto.passphrase import generate_passphrase, hash_passphrase, verify_passphrase
from crypto.wordlist import load_eff_wordlist


def test_passphrase_is_seven_eff_words() -> None:
    words = generate_passphrase().split(" ")
    assert len(words) == 7
    assert set(words) <= load_eff_wordlist().members
    assert generate_passphrase() != generate_passphrase()


def test_round_trip() -> None:
    stored = hash_passphrase("correct horse", TESTING)
    assert stored.startswith("$argon2id$")
    assert verify_passphrase(stored, "correct horse")


def test_wrong_passphrase_is_false() -> None:
    assert not verify_passphrase(hash_passphrase("correct horse", TESTING), "correct hors")


def test_tampered_hash_is_false() -> None:
    stored = hash_passphrase("correct horse", TESTING)
    tampered = stored[:-2] + ("A" if stored[-2] != "A" else "B") + stored[-1]
    assert not verify_passphrase(tampered, "correct horse")


def test_known_answer() -> None:
    # The Argon2 reference implementation's output for "password" with salt "somesalt".
    reference = (
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
    )
    assert verify_passphrase(reference, "password")
    assert not verify_passphrase(reference, "Password")
    assert hash_passphrase("password", TESTING).startswith("$argon2id$v=19$m=8,t=1,p=1$")


@pytest.mark.parametrize(
    ("stored", "passphrase"),
    [
        ("", "x"),
        ("plaintext", "plaintext"),
        ("$argon2id$garbage", "x"),
        ("$argon2id$" + "A" * 1000, "x"),
        (None, "x"),
        ("$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA", "x" * 5000),
        ("$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA", "\udcff"),
    ],
)
def test_bad_input_is_false_not_an_exception(stored: object, passphrase: str) -> None:
    assert verify_passphrase(stored, passphrase) is False  # type: ignore[arg-type]


def test_overlong_passphrase_cannot_be_hashed() -> None:
    with pytest.raises(ValueError, match="at most 1024"):
        hash_passphrase("x" * 1025, TESTING)
