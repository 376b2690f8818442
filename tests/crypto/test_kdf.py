import hashlib
import re
import time

import nacl.pwhash.argon2id as argon2id
import pytest

from crypto.codename import generate_codename, normalize_codename
from crypto.kdf import PRODUCTION, TESTING, KdfParams, derive_source_secrets
from crypto.types import Codename

CODENAME = normalize_codename("abacus zoom yo-yo felt-tip drop-down t-shirt zoology")
SALT = bytes(range(16))


def test_known_answer() -> None:
    secrets = derive_source_secrets(CODENAME, SALT, TESTING)
    # Recorded once; a change here would lock every existing source out of its replies.
    assert secrets.source_id == "d7094001f70e242029cbcaf27824c25792ec69868d23c0964d1520a7c558471e"
    assert secrets.wrap_key.hex() == (
        "55416b10628af70c2fdcb34a560d707628beea20491e26dd5becbf76b4b9e045"
    )


def test_outputs_are_independent_splits_of_one_argon2id_call() -> None:
    master = argon2id.kdf(
        32, CODENAME.encode(), SALT, opslimit=TESTING.opslimit, memlimit=TESTING.memlimit
    )
    secrets = derive_source_secrets(CODENAME, SALT, TESTING)
    assert re.fullmatch(r"[0-9a-f]{64}", secrets.source_id)
    assert secrets.source_id == (
        hashlib.blake2b(key=master, person=b"skrynka:srcid:v1", digest_size=32).hexdigest()
    )
    assert secrets.wrap_key == (
        hashlib.blake2b(key=master, person=b"skrynka:wrapk:v1", digest_size=32).digest()
    )
    assert secrets.wrap_key.hex() != secrets.source_id


def test_same_codename_and_salt_derive_the_same_secrets() -> None:
    codename = generate_codename()
    assert derive_source_secrets(codename, SALT, TESTING) == derive_source_secrets(
        codename, SALT, TESTING
    )


def test_other_codename_salt_or_params_derive_other_secrets() -> None:
    base = derive_source_secrets(CODENAME, SALT, TESTING)
    other_codename = derive_source_secrets(generate_codename(), SALT, TESTING)
    other_salt = derive_source_secrets(CODENAME, bytes(16), TESTING)
    other_params = derive_source_secrets(
        CODENAME, SALT, KdfParams(TESTING.opslimit + 1, TESTING.memlimit)
    )
    ids = {s.source_id for s in (base, other_codename, other_salt, other_params)}
    keys = {s.wrap_key for s in (base, other_codename, other_salt, other_params)}
    assert len(ids) == 4
    assert len(keys) == 4


def test_repr_hides_the_wrap_key() -> None:
    secrets = derive_source_secrets(CODENAME, SALT, TESTING)
    assert secrets.wrap_key.hex() not in repr(secrets)
    assert str(secrets.wrap_key) not in repr(secrets)
    assert "wrap_key" not in repr(secrets)


@pytest.mark.parametrize("salt", [b"", bytes(15), bytes(17)])
def test_salt_must_be_16_bytes(salt: bytes) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        derive_source_secrets(CODENAME, salt, TESTING)


def test_params_below_argon2id_minimum_are_refused() -> None:
    with pytest.raises(ValueError, match="opslimit"):
        KdfParams(opslimit=0, memlimit=TESTING.memlimit)
    with pytest.raises(ValueError, match="memlimit"):
        KdfParams(opslimit=2, memlimit=1024)


def test_testing_params_are_argon2id_minimum() -> None:
    assert KdfParams(argon2id.OPSLIMIT_MIN, argon2id.MEMLIMIT_MIN) == TESTING


def test_production_params_cost_real_work() -> None:
    # Guessing codenames offline must be expensive: well above the interactive preset.
    assert PRODUCTION.memlimit >= argon2id.MEMLIMIT_INTERACTIVE
    assert PRODUCTION.opslimit >= argon2id.OPSLIMIT_INTERACTIVE
    started = time.perf_counter()
    derive_source_secrets(Codename(CODENAME), SALT, PRODUCTION)
    assert time.perf_counter() - started > 0.05
