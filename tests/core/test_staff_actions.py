"""Staff actions: each does its work once and writes one audit entry per item, naming the
channel (web or API) it came through; the log still verifies afterwards."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditLog, hash_entry, verify_audit_log
from core.audit_actions import AuditAction, Channel
from core.errors import StoredFileDamaged
from core.inbox import find_source, find_sources
from core.instance import Instance
from core.models import (
    AuditEntry,
    Journalist,
    Reply,
    SeenReply,
    SeenSubmission,
    Source,
    Submission,
)
from core.sources import create_source
from core.staff_actions import (
    StaffActor,
    delete_selected_items,
    delete_sources,
    deliver_bundle,
    deliver_file,
    mark_items_seen,
    mark_items_unseen,
    send_reply,
    set_star,
)
from crypto.codename import generate_codename
from tests.support.staff import SeededSource, make_source, make_staff_account

CHANNELS = [Channel.WEB, Channel.API]
ARMORED = b"-----BEGIN PGP MESSAGE-----\n\nnot really\n-----END PGP MESSAGE-----\n"


@dataclass
class Desk:
    """An open session, the journalist in it and the source they are working on."""

    db: Session
    actor: StaffActor
    source: Source

    @property
    def submissions(self) -> list[Submission]:
        return sorted(self.source.submissions, key=lambda s: s.id)


@pytest.fixture
def seeded(instance: Instance) -> SeededSource:
    make_staff_account(instance, "dana")
    return make_source(instance, "hello", files=(("a.pdf", b"%PDF-1.4 " * 50),))


@pytest.fixture(params=CHANNELS, ids=lambda channel: str(channel))
def desk(
    request: pytest.FixtureRequest, instance: Instance, seeded: SeededSource
) -> Iterator[Desk]:
    with instance.sessions() as db:
        journalist = db.scalars(select(Journalist)).one()
        source = find_source(db, seeded.uuid)
        assert source is not None
        actor = StaffActor(
            db=db,
            instance=instance,
            audit=AuditLog(instance.signer),
            journalist=journalist,
            channel=request.param,
        )
        yield Desk(db, actor, source)


def entries(instance: Instance) -> list[tuple[str, str | None, str | None, str | None]]:
    """Every audit entry as (action, object, ciphertext sha256, detail), oldest first."""
    with instance.sessions() as db:
        return [
            (e.action, e.object, e.ciphertext_sha256, e.detail)
            for e in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]


def count(instance: Instance, model: type) -> int:
    with instance.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def assert_log_verifies(instance: Instance) -> None:
    with instance.sessions() as db:
        verdict = verify_audit_log(db, instance.signer.public_key)
    assert verdict.ok, verdict.reason


def test_the_stored_action_names_are_the_ones_old_logs_hold() -> None:
    # An entry's hash covers its action: these strings must never change.
    assert {action.value for action in AuditAction} == {
        "sign_in", "sign_in_failed", "sign_out", "timestamp_hash", "reply", "download",
        "download_refused",
        "bundle", "bundle_refused", "star", "unstar", "mark_seen", "mark_unseen",
        "delete_submission", "delete_reply", "delete_conversation", "delete_source",
        "user_create", "user_edit", "user_make_admin", "user_remove_admin", "user_delete",
        "user_reset_passphrase", "user_reset_2fa", "instance_settings", "logo_update",
        "logo_remove", "acknowledge", "acknowledgement_refused", "delete_acknowledged",
    }
    assert Channel.WEB.detail() == "web"
    assert Channel.API.detail("throttled") == "api: throttled"


def test_an_entry_recorded_from_the_enum_hashes_like_one_recorded_from_a_bare_string() -> None:
    from datetime import UTC, datetime

    fields = dict(seq=1, created_at=datetime(2026, 1, 1, tzinfo=UTC), actor="a", object="o",
                  ciphertext_sha256=None, detail="api", prev_hash="0" * 64)
    assert hash_entry(action=AuditAction.DELETE_SOURCE, **fields) == hash_entry(
        action="delete_source", **fields
    )


def test_a_reply_is_stored_once_seen_by_its_author_and_logged_once(
    desk: Desk, instance: Instance
) -> None:
    before = entries(instance)
    reply = send_reply(desk.actor, desk.source, ARMORED)
    assert count(instance, Reply) == 1
    assert instance.store.path_of(desk.source.filesystem_id, reply.filename).read_bytes() == ARMORED
    assert count(instance, SeenReply) == 1
    assert entries(instance)[len(before):] == [
        ("reply", reply.uuid, reply.sha256, desk.actor.channel.value)
    ]
    assert_log_verifies(instance)


def test_a_download_is_logged_once_and_marks_seen_only_on_the_web(
    desk: Desk, instance: Instance
) -> None:
    document = desk.submissions[1]
    before = entries(instance)
    verified = deliver_file(desk.actor, document)
    with verified.handle:
        sent = verified.handle.read()
    stored = instance.store.path_of(desk.source.filesystem_id, document.filename).read_bytes()
    assert sent == stored
    assert entries(instance)[len(before):] == [
        ("download", document.uuid, document.sha256, desk.actor.channel.value)
    ]
    on_web = desk.actor.channel is Channel.WEB
    assert count(instance, SeenSubmission) == (1 if on_web else 0)
    with instance.sessions() as db:
        downloaded = select(Submission.downloaded).where(Submission.id == document.id)
        assert db.scalar(downloaded) is on_web
    assert_log_verifies(instance)


def test_a_bundle_is_logged_once_per_item(desk: Desk, instance: Instance) -> None:
    items = desk.submissions
    before = entries(instance)
    stream = deliver_bundle(desk.actor, items)
    try:
        assert b"".join(stream).startswith(b"PK")
    finally:
        stream.close()
    detail = "web: " + stream.name if desk.actor.channel is Channel.WEB else "api"
    assert entries(instance)[len(before):] == [
        ("bundle", item.uuid, item.sha256, detail) for item in items
    ]
    assert count(instance, SeenSubmission) == (2 if desk.actor.channel is Channel.WEB else 0)
    assert_log_verifies(instance)


@pytest.mark.parametrize("deliver", ["file", "bundle"])
def test_a_damaged_file_is_refused_with_one_entry_and_nothing_delivered(
    desk: Desk, instance: Instance, deliver: str
) -> None:
    document = desk.submissions[1]
    path = instance.store.path_of(desk.source.filesystem_id, document.filename)
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01
    path.write_bytes(bytes(data))
    items = desk.submissions
    before = entries(instance)
    if deliver == "file":
        with pytest.raises(StoredFileDamaged):
            deliver_file(desk.actor, document)
    else:
        with pytest.raises(StoredFileDamaged):
            deliver_bundle(desk.actor, items)
    added = entries(instance)[len(before):]
    action = "download_refused" if deliver == "file" else "bundle_refused"
    assert [(a, o, s) for a, o, s, _ in added] == [(action, document.uuid, document.sha256)]
    detail = added[0][3]
    assert detail is not None
    assert detail.startswith(f"{desk.actor.channel.value}: ciphertext damaged, found sha256 ")
    assert count(instance, SeenSubmission) == 0
    assert_log_verifies(instance)


def test_starring_logs_only_a_change(desk: Desk, instance: Instance) -> None:
    channel = desk.actor.channel.value
    before = entries(instance)
    set_star(desk.actor, [desk.source], True)
    set_star(desk.actor, [desk.source], True)
    set_star(desk.actor, [desk.source], False)
    with instance.sessions() as db:
        assert db.scalar(select(Source.is_starred)) is False
    uuid = desk.source.uuid
    assert entries(instance)[len(before):] == [
        ("star", uuid, None, channel),
        ("unstar", uuid, None, channel),
    ]


def test_marking_seen_and_unseen_logs_one_entry_per_item(desk: Desk, instance: Instance) -> None:
    channel = desk.actor.channel.value
    items = desk.submissions
    before = entries(instance)
    mark_items_seen(desk.actor, items, [])
    assert count(instance, SeenSubmission) == 2
    mark_items_unseen(desk.actor, items[:1], [])
    assert count(instance, SeenSubmission) == 1
    assert entries(instance)[len(before):] == [
        *[("mark_seen", item.uuid, None, channel) for item in items],
        ("mark_unseen", items[0].uuid, None, channel),
    ]


def test_deleting_items_logs_each_one_and_removes_it(desk: Desk, instance: Instance) -> None:
    reply = send_reply(desk.actor, desk.source, ARMORED)
    document = desk.submissions[1]
    expected = [
        ("delete_submission", document.uuid, document.sha256, desk.actor.channel.value),
        ("delete_reply", reply.uuid, reply.sha256, desk.actor.channel.value),
    ]
    names = {document.filename, reply.filename}
    filesystem_id = desk.source.filesystem_id
    before = entries(instance)
    delete_selected_items(desk.actor, [document], [reply])
    assert entries(instance)[len(before):] == expected
    assert (count(instance, Submission), count(instance, Reply)) == (1, 0)
    assert not names & set(instance.store.list_files(filesystem_id))
    assert_log_verifies(instance)


@pytest.mark.parametrize("whole_source", [False, True])
def test_deleting_a_source_or_its_conversation_logs_once(
    desk: Desk, instance: Instance, whole_source: bool
) -> None:
    uuid = desk.source.uuid
    before = entries(instance)
    delete_sources(desk.actor, [desk.source], whole_source=whole_source)
    action = "delete_source" if whole_source else "delete_conversation"
    assert entries(instance)[len(before):] == [(action, uuid, None, desk.actor.channel.value)]
    assert count(instance, Submission) == 0
    assert count(instance, Source) == (0 if whole_source else 1)
    assert_log_verifies(instance)


def test_a_pending_source_is_found_by_no_staff_lookup(instance: Instance) -> None:
    login = create_source(instance, generate_codename())
    with instance.sessions() as db:
        pending = db.get(Source, login.id)
        assert pending is not None
        assert pending.pending
        assert find_source(db, pending.uuid) is None
        assert find_sources(db, [pending.uuid]) == []
