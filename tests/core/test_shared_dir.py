"""Several app servers: the settings that put the store in a shared directory and name the
Onionbalance front, and the marker that proves every machine is a copy of one instance."""

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import update

from core.errors import InstanceError, SettingsError
from core.instance import check_instance, open_instance
from core.models import InstanceConfig
from core.settings import Settings, load_settings
from core.shared_dir import MARKER_NAME
from core.timestamping import run_lock
from journalist_app.logo import save_logo
from server.setup import init_instance
from source_app import create_app as create_source_app
from tests.source_app.test_branding import PNG
from tests.support.keys import KeyPair
from tests.support.shared_dir import init_first_machine, update_instance_settings

FRONT = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
POSTGRES_URL = "postgresql+psycopg://skrynka@127.0.0.1:1/skrynka"


def settings_with(tmp_path: Path, **settings: str) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    document = {"format": "skrynka-instance", "version": 1, "instance_id": "abc"}
    document["settings"] = settings  # type: ignore[assignment]
    (data_dir / "instance.json").write_text(json.dumps(document))
    return load_settings({}, data_dir=data_dir)


def test_the_store_and_its_temp_files_move_to_the_shared_dir(tmp_path: Path) -> None:
    alone = settings_with(tmp_path)
    assert alone.store_dir == tmp_path / "data" / "store"
    assert alone.tmp_dir == tmp_path / "data" / "tmp"
    shared = settings_with(tmp_path, shared_dir=str(tmp_path / "shared"))
    assert shared.store_dir == tmp_path / "shared" / "store"
    assert shared.tmp_dir == tmp_path / "shared" / "tmp"
    # Everything else stays per machine.
    assert shared.secrets_dir == tmp_path / "data" / "secrets"
    assert shared.onion_dir == tmp_path / "data" / "onion"


def test_a_front_with_a_shared_dir_and_postgresql_is_accepted(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path,
        onionbalance_front=FRONT,
        shared_dir=str(tmp_path / "shared"),
        database_url=POSTGRES_URL,
    )
    assert settings.onionbalance_front == FRONT


def test_every_problem_of_an_onionbalance_instance_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_with(tmp_path, onionbalance_front="front.onion")
    problems = caught.value.problems
    assert len(problems) == 3, problems
    assert "SKRYNKA_ONIONBALANCE_FRONT must be the front's v3 onion address" in problems[0]
    assert "SKRYNKA_SHARED_DIR is not" in problems[1]
    assert "the database is SQLite" in problems[2]


def test_a_relative_shared_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SKRYNKA_SHARED_DIR must be an absolute path"):
        settings_with(tmp_path, shared_dir="shared")


def first_machine(root: Path, keypair: KeyPair) -> Settings:
    """`skrynka init`, then the store moved into the shared directory as the docs say."""
    data_dir = init_first_machine(root / "app-1", root / "shared", keypair)
    update_instance_settings(data_dir, shared_dir=str(root / "shared"))
    return load_settings({}, data_dir=data_dir)


def copy_of(settings: Settings, name: str) -> Settings:
    target = settings.data_dir.parent / name
    shutil.copytree(settings.data_dir, target, ignore=shutil.ignore_patterns("onion", "S.*"))
    return load_settings({}, data_dir=target)


def test_the_first_machine_claims_the_shared_dir_and_copies_are_welcome(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    first = first_machine(tmp_path, submission_keypair)
    assert check_instance(first) == []
    open_instance(first).close()
    marker = json.loads((tmp_path / "shared" / MARKER_NAME).read_text())
    assert marker["instance_id"] == first.instance_id
    assert marker["submission_key_fingerprint"] == first.submission_key_fingerprint
    secrets = b"".join(p.read_bytes() for p in sorted((first.secrets_dir).iterdir()))
    assert secrets.hex() not in json.dumps(marker)
    second = copy_of(first, "app-2")
    assert check_instance(second) == []
    open_instance(second).close()


def test_a_machine_with_other_secrets_is_refused_and_told_what_to_copy(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    first = first_machine(tmp_path, submission_keypair)
    open_instance(first).close()
    second = copy_of(first, "app-2")
    second.codename_salt_path.write_bytes(bytes(16))
    problems = check_instance(second)
    assert problems == [
        f"This machine's secrets ({second.secrets_dir}) differ from those of the other app "
        f"servers sharing {tmp_path / 'shared'}: copy secrets/ from the first machine, or "
        "sources will not be recognised here."
    ]
    with pytest.raises(InstanceError):
        open_instance(second)


def test_a_machine_of_another_instance_is_refused(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    first = first_machine(tmp_path, submission_keypair)
    open_instance(first).close()
    other = tmp_path / "other"
    init_instance(
        other,
        submission_keypair.public_armored,
        dev_mode=True,
        instance_settings={"kdf": "testing", "shared_dir": str(tmp_path / "shared")},
        env={},
    )
    problems = check_instance(load_settings({}, data_dir=other))
    assert any("belongs to instance" in problem for problem in problems), problems


def test_a_shared_dir_without_the_store_says_to_move_it(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    first = first_machine(tmp_path, submission_keypair)
    shutil.move(tmp_path / "shared" / "store", first.data_dir / "store")
    problems = check_instance(first)
    assert any("holds no store yet: on the first machine, move" in p for p in problems), problems


def test_the_logo_and_the_timestamping_lock_are_shared_by_every_app_server(
    tmp_path: Path, submission_keypair: KeyPair
) -> None:
    """A logo uploaded through one app server is the one sources see on the others (the
    database says there is a logo on all of them), and two machines' timestamping timers never
    run at once."""
    first = first_machine(tmp_path, submission_keypair)
    open_instance(first).close()
    second = copy_of(first, "app-2")
    assert first.logo_path == second.logo_path == tmp_path / "shared" / "logo.png"
    assert first.timestamp_lock_path == second.timestamp_lock_path
    save_logo(first.logo_path, PNG)
    instance = open_instance(second)
    try:
        with instance.sessions() as db:
            db.execute(update(InstanceConfig).values(has_logo=True))
            db.commit()
        client = create_source_app(instance=instance).test_client()
        logo = client.get("/logo.png")
        assert (logo.status_code, logo.data) == (200, PNG)
        with run_lock(first.timestamp_lock_path) as first_runs:
            assert first_runs
            with run_lock(second.timestamp_lock_path) as second_runs:
                assert not second_runs
    finally:
        instance.close()
