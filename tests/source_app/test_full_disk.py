"""A full data directory while sources submit, through real gunicorn on a small tmpfs.

The source gets a calm "try again later" page in their language, nothing half-written stays
behind, the audit log still verifies, and once there is space again the same server (no
restart) accepts the same submission. Staff replying meanwhile get a clear page and the audit
log gains no entry for the reply that was not stored.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.audit import verify_audit_log
from core.instance import Instance, open_instance
from core.models import AuditEntry, Reply, Submission
from core.replies import REPLY_MAX_CHARS
from journalist_app import create_app as create_staff_app
from server.cli import main
from server.setup import init_instance
from tests.source_app.http_source import HttpSource
from tests.source_app.pages import csrf_token_in
from tests.support.full_disk import SmallDisk, small_disk
from tests.support.keys import KeyPair
from tests.support.staff import make_source, make_staff_account, sign_in_client

MIB = 1024 * 1024
APP = "source_app:create_app()"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with small_disk(tmp_path / "mnt", 24 * MIB) as mounted:
        yield mounted


@pytest.fixture
def full_instance(
    disk: SmallDisk, submission_keypair: KeyPair, database_settings: dict[str, str]
) -> Iterator[Instance]:
    settings = init_instance(
        disk.mount_point / "data",
        submission_keypair.public_armored,
        dev_mode=True,
        organization_name="Skrynka Full Disk",
        instance_settings={"kdf": "testing", **database_settings},
        env={},
    )
    opened = open_instance(settings)
    yield opened
    opened.close()


def leftovers(instance: Instance) -> list[str]:
    """Temp and pending files: what a failed submission must not leave behind."""
    settings = instance.settings
    found = [p for p in settings.tmp_dir.rglob("*") if p.is_file() and p.name != ".lock"]
    found += [p for p in settings.store_dir.rglob(".pending-*")]
    return sorted(str(p) for p in found)


def submissions(instance: Instance) -> list[str]:
    with instance.sessions() as db:
        return list(db.scalars(select(Submission.kind).order_by(Submission.id)))


@pytest.mark.parametrize("leave", [0, 256 * 1024], ids=["no-space", "some-space"])
def test_a_full_disk_gets_a_calm_page_and_the_server_recovers_without_restart(
    full_instance: Instance,
    disk: SmallDisk,
    make_gunicorn: Callable[..., str],
    leave: int,
) -> None:
    source = HttpSource(make_gunicorn(APP, full_instance.settings.data_dir, workers=1, threads=4))
    source.create()
    evidence = os.urandom(2 * MIB)
    disk.fill(leave_bytes=leave)

    for _ in range(3):
        answer = source.submit("the guard's name was on his badge", ("photo.jpg", evidence))
        assert answer.status_code == 503
        assert "Please try again later" in answer.text
        assert "Nothing you sent was kept" in answer.text
        assert answer.headers.get("Retry-After")
    # In the source's own language too.
    source.http.get(source.base_url + "/lookup?l=ru", timeout=30)
    answer = source.submit("имя охранника было на его жетоне", ("photo.jpg", evidence))
    assert answer.status_code == 503
    assert "Пожалуйста, попробуйте позже" in answer.text
    source.http.get(source.base_url + "/lookup?l=en", timeout=30)
    assert submissions(full_instance) == []
    assert leftovers(full_instance) == []
    with full_instance.sessions() as db:
        assert verify_audit_log(db, full_instance.signer.public_key).ok

    disk.free()
    # gpg needs a little space to start, so the command line checks once there is some again.
    assert main(["audit", "verify", "--data-dir", str(full_instance.settings.data_dir)]) == 0
    answer = source.submit("the guard's name was on his badge", ("photo.jpg", evidence))
    assert answer.status_code == 200
    assert "We received your submission" in answer.text
    assert submissions(full_instance) == ["message", "file"]
    assert leftovers(full_instance) == []


def test_staff_replying_on_a_full_disk_get_a_clear_page_and_the_audit_log_stays_whole(
    full_instance: Instance, disk: SmallDisk
) -> None:
    # The audit log lives in the same database: a refused reply must leave no entry for it.
    source = make_source(full_instance)
    staff_app = create_staff_app(instance=full_instance)
    staff_app.config["TESTING"] = True
    staff = staff_app.test_client()
    account = make_staff_account(full_instance, "dana")
    assert sign_in_client(staff, full_instance, account).status_code == 302
    page = f"/source/{source.uuid}"
    token = csrf_token_in(staff.get(page).get_data(as_text=True))
    with full_instance.sessions() as db:
        entries_before = db.scalar(select(func.count()).select_from(AuditEntry))
    disk.fill()

    # The longest reply staff may send: on SQLite the database (on the full disk) refuses
    # first, on PostgreSQL (elsewhere) the reply's ciphertext in the store does.
    reply = "x" * REPLY_MAX_CHARS
    answer = staff.post(f"{page}/reply", data={"csrf_token": token, "message": reply})
    assert answer.status_code == 503
    assert "disk is full" in answer.get_data(as_text=True)
    with full_instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Reply)) == 0
        assert db.scalar(select(func.count()).select_from(AuditEntry)) == entries_before
        assert verify_audit_log(db, full_instance.signer.public_key).ok
    assert leftovers(full_instance) == []

    disk.free()
    answer = staff.post(f"{page}/reply", data={"csrf_token": token, "message": "We read it."})
    assert answer.status_code == 302
    assert main(["audit", "verify", "--data-dir", str(full_instance.settings.data_dir)]) == 0
