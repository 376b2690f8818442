"""Opening an instance: everything is checked, and an unsafe server refuses to start."""

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from core.db import make_engine
from core.errors import InstanceError
from core.instance import Instance, check_instance, open_instance
from core.settings import Settings, load_settings
from tests.support.keys import (
    KeyPair,
    export_secret_armored,
    import_into,
    make_unusual_key_pair,
)


@pytest.fixture(scope="session")
def expired_keypair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_unusual_key_pair(tmp_path_factory.mktemp("expired") / "gnupg", expired=True)


@pytest.fixture(scope="session")
def weak_keypair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_unusual_key_pair(
        tmp_path_factory.mktemp("weak") / "gnupg", algorithm="rsa2048", subkey="rsa2048"
    )


@pytest.fixture
def settings(instance: Instance) -> Settings:
    instance.close()
    return instance.settings


def switch_submission_key(settings: Settings, pair: KeyPair) -> Settings:
    """Swap the instance's key behind Skrynka's back, as a careless operator might."""
    import_into(settings.gnupg_home, pair.public_armored)
    document = json.loads(settings.instance_file.read_text())
    document["submission_key_fingerprint"] = pair.fingerprint
    settings.instance_file.write_text(json.dumps(document))
    return load_settings({}, data_dir=settings.data_dir)


def test_a_fresh_instance_opens_with_everything_an_app_needs(instance: Instance) -> None:
    assert instance.settings.dev_mode
    assert instance.submission_fingerprint == instance.settings.submission_key_fingerprint
    assert len(instance.session_key) == 32
    assert len(instance.codename_salt) == 16
    assert len(instance.signer.public_key) == 32
    with instance.sessions() as db:
        assert db.connection().exec_driver_sql("select 1").scalar() == 1
    # Secrets never reach a log line through repr().
    assert repr(instance.session_key) not in repr(instance)
    assert repr(instance.codename_salt) not in repr(instance)


def test_a_secret_key_in_the_keyring_stops_the_server(
    settings: Settings, submission_keypair: KeyPair
) -> None:
    import_into(settings.gnupg_home, export_secret_armored(submission_keypair))
    with pytest.raises(InstanceError, match="holds a SECRET key") as caught:
        open_instance(settings)
    assert "could decrypt" in str(caught.value)


def test_an_expired_submission_key_stops_the_server(
    settings: Settings, expired_keypair: KeyPair
) -> None:
    settings = switch_submission_key(settings, expired_keypair)
    with pytest.raises(InstanceError, match="has expired"):
        open_instance(settings)


def test_a_weak_submission_key_stops_the_server(settings: Settings, weak_keypair: KeyPair) -> None:
    settings = switch_submission_key(settings, weak_keypair)
    with pytest.raises(InstanceError, match="too weak"):
        open_instance(settings)


def test_every_problem_is_named_in_one_error(settings: Settings) -> None:
    os.chmod(settings.secrets_dir, 0o755)  # noqa: S103 (the mistake under test)
    settings.codename_salt_path.unlink()
    settings.session_key_path.write_bytes(b"short")
    with pytest.raises(InstanceError) as caught:
        open_instance(settings)
    message = str(caught.value)
    assert len(caught.value.problems) == 3, message
    assert "chmod 700" in message
    assert "codename.salt is missing" in message
    assert "exactly 32 bytes, not 5" in message


def test_a_database_behind_the_code_asks_for_a_migration(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("update alembic_version set version_num = 'old'"))
    finally:
        engine.dispose()
    assert any("skrynka migrate" in p for p in check_instance(settings))


def test_a_directory_that_is_not_an_instance_says_how_to_create_one(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    assert check_instance(settings) == [
        f"{tmp_path} is not a Skrynka data directory (no instance.json); "
        "create one with `skrynka init`."
    ]


def test_a_ram_dir_on_disk_is_refused(settings: Settings, tmp_path: Path) -> None:
    on_disk = load_settings({}, data_dir=settings.data_dir, ram_dir=settings.data_dir)
    problems = check_instance(on_disk)
    if os.path.realpath(settings.data_dir).startswith("/dev/shm"):
        pytest.fail("the test data dir must not be in RAM for this test")
    assert any("not in RAM" in p for p in problems), problems


def test_opening_removes_uploads_abandoned_by_a_crash(settings: Settings) -> None:
    # A worker that died holding its lock (the kernel released it) ...
    dead_worker = settings.tmp_dir / "w-0123"
    dead_worker.mkdir()
    (dead_worker / ".lock").touch()
    (dead_worker / "abcd.part").write_bytes(b"half an upload")
    # ... and one that died between creating its dir and locking it, long ago.
    dead_early = settings.tmp_dir / "w-4567"
    dead_early.mkdir()
    (dead_early / "efgh.part").write_bytes(b"")
    os.utime(dead_early, (0, 0))
    opened = open_instance(settings)
    try:
        assert opened.cleaned_temp_files == 2
        assert list(settings.tmp_dir.iterdir()) == []
    finally:
        opened.close()
