from pathlib import Path

import pytest

from crypto._gpg import generate_key
from crypto.errors import (
    InvalidSubmissionKey,
    SecretKeyPresent,
    SubmissionKeyExpired,
    SubmissionKeyMissing,
    SubmissionKeyRevoked,
    WeakSubmissionKey,
)
from crypto.submission_key import (
    check_submission_key,
    export_public_key,
    export_secret_key,
    generate_key_pair,
    import_submission_key,
    parse_fingerprint,
)
from crypto.types import Fingerprint
from tests.support.gpg_homes import HomeFactory, KeyHome, run_gpg_cli

ED25519_SIGN = {"Key-Type": "eddsa", "Key-Curve": "ed25519", "Name-Real": "Test key"}
CV25519_ENCRYPT = {"Subkey-Type": "ecdh", "Subkey-Curve": "cv25519", "Subkey-Usage": "encrypt"}


def _public_key(home: Path, params: dict[str, str], faked_time: str | None = None) -> str:
    fingerprint = generate_key(home, params, faked_time=faked_time)
    return export_public_key(home, fingerprint)


def _public_fingerprints(home: Path) -> list[str]:
    listing = run_gpg_cli(home, "--with-colons", "--list-keys").stdout.decode()
    return [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")]


@pytest.fixture(scope="session")
def rsa2048_public(session_home_factory: HomeFactory) -> str:
    params = {
        "Key-Type": "rsa",
        "Key-Length": "2048",
        "Subkey-Type": "rsa",
        "Subkey-Length": "2048",
        "Name-Real": "Weak key",
    }
    return _public_key(session_home_factory(), params)


def test_import_returns_fingerprint_and_key_is_usable(
    gpg_home_factory: HomeFactory, workstation: KeyHome
) -> None:
    server = gpg_home_factory() / "gnupg"
    public = export_public_key(workstation.home, workstation.fingerprint)
    assert import_submission_key(server, public) == workstation.fingerprint
    check_submission_key(server, workstation.fingerprint)
    assert (server.stat().st_mode & 0o777) == 0o700
    assert "PUBLIC KEY BLOCK" in export_public_key(server, workstation.fingerprint)


def test_generated_pair_is_ed25519_with_cv25519_encryption_subkey(workstation: KeyHome) -> None:
    listing = run_gpg_cli(workstation.home, "--with-colons", "--list-keys").stdout.decode()
    records = [line.split(":") for line in listing.splitlines()]
    pub = next(r for r in records if r[0] == "pub")
    sub = next(r for r in records if r[0] == "sub")
    assert (pub[3], pub[16], "s" in pub[11]) == ("22", "ed25519", True)
    assert (sub[3], sub[16], sub[11]) == ("18", "cv25519", "e")


def test_secret_key_is_refused(gpg_home_factory: HomeFactory, workstation: KeyHome) -> None:
    server = gpg_home_factory()
    secret = export_secret_key(workstation.home, workstation.fingerprint)
    with pytest.raises(SecretKeyPresent, match="SECRET key"):
        import_submission_key(server, secret)
    assert _public_fingerprints(server) == []
    assert not (server / "private-keys-v1.d").exists() or not any(
        (server / "private-keys-v1.d").iterdir()
    )


def test_secret_key_without_armor_header_is_refused(
    gpg_home_factory: HomeFactory, workstation: KeyHome
) -> None:
    binary_secret = run_gpg_cli(
        workstation.home, "--export-secret-keys", workstation.fingerprint
    ).stdout
    assert binary_secret
    with pytest.raises(SecretKeyPresent):
        import_submission_key(gpg_home_factory(), binary_secret)


def test_expired_key_is_refused(gpg_home_factory: HomeFactory) -> None:
    expired = _public_key(
        gpg_home_factory(),
        {**ED25519_SIGN, **CV25519_ENCRYPT, "Expire-Date": "1y"},
        faked_time="20130514T000000",
    )
    server = gpg_home_factory()
    with pytest.raises(SubmissionKeyExpired, match="expired"):
        import_submission_key(server, expired)
    assert _public_fingerprints(server) == []


def test_rsa_2048_is_weak(gpg_home_factory: HomeFactory, rsa2048_public: str) -> None:
    server = gpg_home_factory()
    with pytest.raises(WeakSubmissionKey, match="RSA-2048"):
        import_submission_key(server, rsa2048_public)
    assert _public_fingerprints(server) == []


def test_key_without_encryption_subkey_is_refused(gpg_home_factory: HomeFactory) -> None:
    sign_only = _public_key(gpg_home_factory(), {**ED25519_SIGN, "Key-Usage": "sign"})
    with pytest.raises(InvalidSubmissionKey, match="no encryption subkey"):
        import_submission_key(gpg_home_factory(), sign_only)


def test_revoked_key_is_refused(gpg_home_factory: HomeFactory) -> None:
    home = gpg_home_factory()
    fingerprint = generate_key(home, {**ED25519_SIGN, **CV25519_ENCRYPT})
    certificate = (home / "openpgp-revocs.d" / f"{fingerprint}.rev").read_text()
    run_gpg_cli(home, "--import", stdin=certificate.replace(":-----", "-----").encode())
    with pytest.raises(SubmissionKeyRevoked, match="revoked"):
        import_submission_key(gpg_home_factory(), export_public_key(home, fingerprint))


def test_two_keys_at_once_are_refused(
    gpg_home_factory: HomeFactory, workstation: KeyHome, other_workstation: KeyHome
) -> None:
    both = export_public_key(workstation.home, workstation.fingerprint) + export_public_key(
        other_workstation.home, other_workstation.fingerprint
    )
    with pytest.raises(InvalidSubmissionKey, match="exactly one"):
        import_submission_key(gpg_home_factory(), both)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "hello",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----",
        b"\x00" * 100,
        "x" * (2 * 1024 * 1024),
    ],
)
def test_junk_is_refused(gpg_home_factory: HomeFactory, data: str | bytes) -> None:
    server = gpg_home_factory()
    with pytest.raises(InvalidSubmissionKey):
        import_submission_key(server, data)
    assert _public_fingerprints(server) == []


def test_check_refuses_a_home_holding_any_secret_key(
    gpg_home_factory: HomeFactory, workstation: KeyHome, other_workstation: KeyHome
) -> None:
    server = gpg_home_factory()
    import_submission_key(server, export_public_key(workstation.home, workstation.fingerprint))
    # A secret key for an unrelated key is still a secret key on the server.
    run_gpg_cli(
        server,
        "--import",
        stdin=export_secret_key(other_workstation.home, other_workstation.fingerprint),
    )
    with pytest.raises(SecretKeyPresent, match="could decrypt"):
        check_submission_key(server, workstation.fingerprint)


def test_check_refuses_the_workstation_home(workstation: KeyHome) -> None:
    with pytest.raises(SecretKeyPresent):
        check_submission_key(workstation.home, workstation.fingerprint)


def test_import_into_a_home_with_a_secret_key_changes_nothing(
    gpg_home_factory: HomeFactory, other_workstation: KeyHome, workstation: KeyHome
) -> None:
    server = gpg_home_factory()
    run_gpg_cli(
        server,
        "--import",
        stdin=export_secret_key(other_workstation.home, other_workstation.fingerprint),
    )
    with pytest.raises(SecretKeyPresent):
        import_submission_key(server, export_public_key(workstation.home, workstation.fingerprint))
    assert workstation.fingerprint not in _public_fingerprints(server)


def test_check_reports_a_missing_key(gpg_home_factory: HomeFactory, server: KeyHome) -> None:
    with pytest.raises(SubmissionKeyMissing):
        check_submission_key(server.home, Fingerprint("A" * 40))
    with pytest.raises(SubmissionKeyMissing, match="does not exist"):
        check_submission_key(gpg_home_factory() / "absent", server.fingerprint)


def test_check_reports_a_key_that_expired_after_import(gpg_home_factory: HomeFactory) -> None:
    # Imported while valid (faked clock), checked today: the server must notice at start.
    home = gpg_home_factory()
    fingerprint = generate_key(
        home, {**ED25519_SIGN, **CV25519_ENCRYPT, "Expire-Date": "1y"}, faked_time="20130514T000000"
    )
    server = gpg_home_factory()
    run_gpg_cli(server, "--import", stdin=export_public_key(home, fingerprint).encode())
    with pytest.raises(SubmissionKeyExpired):
        check_submission_key(server, fingerprint)


def test_parse_fingerprint() -> None:
    assert parse_fingerprint("abcd " * 10) == "ABCD" * 10
    with pytest.raises(InvalidSubmissionKey, match="40 hexadecimal"):
        parse_fingerprint("ABCD")


def test_generate_key_pair_refuses_multiline_names(gpg_home_factory: HomeFactory) -> None:
    with pytest.raises(ValueError, match="printable"):
        generate_key_pair(gpg_home_factory(), "Demo\nKey-Type: rsa")
