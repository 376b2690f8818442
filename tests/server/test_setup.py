"""Creating an instance: the layout, private secrets, and nothing left behind on bad input."""

import json
import stat
from pathlib import Path

import pytest

from core.db import make_engine, make_session_factory
from core.instance import check_instance
from core.models import InstanceConfig
from server.errors import SetupError
from server.setup import init_instance
from tests.support.keys import KeyPair, export_secret_armored, make_unusual_key_pair
from tests.support.postgres import PostgresServer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_the_documented_layout(tmp_path: Path, submission_keypair: KeyPair) -> None:
    settings = init_instance(
        tmp_path / "data", submission_keypair.public_armored, organization_name="Вясна", env={}
    )
    data = tmp_path / "data"
    assert mode(data) == 0o700
    for name in ("secrets", "gnupg", "store", "tmp", "onion"):
        assert mode(data / name) == 0o700, name
    for name, size in (("session.key", 32), ("codename.salt", 16), ("signing.key", 32)):
        secret = data / "secrets" / name
        assert mode(secret) == 0o600
        assert secret.stat().st_size == size
    document = json.loads((data / "instance.json").read_text())
    assert document["submission_key_fingerprint"] == submission_keypair.fingerprint
    assert document["dev_mode"] is False
    assert settings.submission_key_fingerprint == submission_keypair.fingerprint
    assert check_instance(settings) == []
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as db:
        config = db.get(InstanceConfig, 1)
        assert config is not None
        assert config.organization_name == "Вясна"
    engine.dispose()


def test_two_instances_get_different_secrets(tmp_path: Path, submission_keypair: KeyPair) -> None:
    first = init_instance(tmp_path / "a", submission_keypair.public_armored, env={})
    second = init_instance(tmp_path / "b", submission_keypair.public_armored, env={})
    assert first.instance_id != second.instance_id
    for name in ("session.key", "codename.salt", "signing.key"):
        assert (first.secrets_dir / name).read_bytes() != (second.secrets_dir / name).read_bytes()


def test_dev_instances_record_their_mode_and_settings(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    settings = init_instance(
        tmp_path / "data",
        submission_keypair.public_armored,
        dev_mode=True,
        instance_settings={"kdf": "testing"},
        env={},
    )
    assert settings.dev_mode
    assert settings.kdf_name == "testing"


def test_a_secret_key_is_refused_and_nothing_is_left(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    with pytest.raises(SetupError, match="SECRET key"):
        init_instance(tmp_path / "data", export_secret_armored(submission_keypair), env={})
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(("kind", "message"), [("expired", "expired"), ("weak", "")])
def test_unusable_keys_are_refused_and_an_existing_empty_dir_stays_empty(
    tmp_path: Path, kind: str, message: str
) -> None:
    if kind == "expired":
        pair = make_unusual_key_pair(tmp_path / "key", expired=True)
    else:
        pair = make_unusual_key_pair(tmp_path / "key", algorithm="rsa2048", subkey="rsa2048")
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(SetupError, match=f"submission key was refused.*{message}"):
        init_instance(data, pair.public_armored, env={})
    assert list(data.iterdir()) == []


def test_garbage_instead_of_a_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="refused"):
        init_instance(tmp_path / "data", "hello", env={})
    assert not (tmp_path / "data").exists()


def test_an_existing_instance_is_never_overwritten(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    settings = init_instance(tmp_path / "data", submission_keypair.public_armored, env={})
    before = settings.session_key_path.read_bytes()
    with pytest.raises(SetupError, match="not empty"):
        init_instance(tmp_path / "data", submission_keypair.public_armored, env={})
    assert settings.session_key_path.read_bytes() == before
    assert check_instance(settings) == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "bad\nname"])
def test_bad_organisation_names_are_refused(
    tmp_path: Path, submission_keypair: KeyPair, name: str
) -> None:
    with pytest.raises(SetupError, match="organisation name"):
        init_instance(
            tmp_path / "data", submission_keypair.public_armored, organization_name=name, env={}
        )
    assert not (tmp_path / "data").exists()


def test_bad_settings_are_refused_before_anything_is_created(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    with pytest.raises(SetupError, match="allowed only on dev-mode instances"):
        init_instance(
            tmp_path / "data",
            submission_keypair.public_armored,
            instance_settings={"kdf": "testing"},
            env={},
        )
    assert not (tmp_path / "data").exists()


def test_init_can_use_postgresql(
    tmp_path: Path, submission_keypair: KeyPair, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database("skrynka_setup")
    settings = init_instance(
        tmp_path / "data",
        submission_keypair.public_armored,
        env={"SKRYNKA_DATABASE_URL": url},
    )
    assert settings.database_url == url
    assert not (tmp_path / "data" / "db.sqlite").exists()


def test_init_keeps_the_postgresql_url_in_a_private_file(
    tmp_path: Path,
    submission_keypair: KeyPair,
    postgres_server: PostgresServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from core.settings import load_settings
    from crypto.signing import Signer, generate_signing_seed
    from server.cli import main

    url = postgres_server.create_database("skrynka_url_file")
    key_file = tmp_path / "submission.asc"
    key_file.write_text(submission_keypair.public_armored)
    workstation = Signer(generate_signing_seed())
    workstation_key = tmp_path / "workstation.pub"
    workstation_key.write_text(workstation.public_key.hex() + "\n")
    data_dir = tmp_path / "data"
    code = main(
        [
            "init", "--data-dir", str(data_dir), "--submission-key", str(key_file),
            "--database-url", url, "--workstation-key", str(workstation_key),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert mode(data_dir / "database.url") == 0o600
    assert url not in (data_dir / "instance.json").read_text()
    settings = load_settings(env={}, data_dir=data_dir)
    assert settings.database_url == url
    assert not (data_dir / "db.sqlite").exists()
    assert (data_dir / "workstation-key.pub").read_bytes() == workstation.public_key
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            assert db.get(InstanceConfig, 1) is not None
    finally:
        engine.dispose()
    capsys.readouterr()
    assert main(["workstation-key", "show", "--data-dir", str(data_dir)]) == 0
    assert workstation.fingerprint in capsys.readouterr().out
    assert main(["retention", "status", "--data-dir", str(data_dir)]) == 0
    assert "Unacknowledged: 0 submission(s)" in capsys.readouterr().out
    assert main(["retention", "run", "--data-dir", str(data_dir)]) == 0
    assert "Deleted 0 acknowledged" in capsys.readouterr().out


def test_init_refuses_a_bad_workstation_key_and_creates_nothing(
    tmp_path: Path, submission_keypair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main

    key_file = tmp_path / "submission.asc"
    key_file.write_text(submission_keypair.public_armored)
    bad = tmp_path / "workstation.pub"
    bad.write_text("not a key\n")
    code = main(
        [
            "init", "--data-dir", str(tmp_path / "data"), "--submission-key", str(key_file),
            "--workstation-key", str(bad),
        ]
    )
    assert code != 0
    assert "skrynka-workstation public-key" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
