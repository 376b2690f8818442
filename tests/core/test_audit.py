"""The audit log: hash-chained, signed, and any change or removal is caught."""

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.audit import AuditLog, verify_audit_log
from core.instance import Instance
from core.models import AuditCheckpoint, AuditEntry
from crypto.signing import Signer, generate_signing_seed

T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def db(instance: Instance) -> Session:
    with instance.sessions() as session:
        yield session


def write_entries(db: Session, log: AuditLog, count: int = 6) -> None:
    for i in range(count):
        log.record(
            db,
            actor=f"journalist-{i % 2}",
            action="download" if i % 2 else "sign_in",
            object=f"item-{i}",
            ciphertext_sha256="ab" * 32 if i % 2 else None,
            now=T0 + timedelta(seconds=i),
        )
    db.commit()


def verify(db: Session, instance: Instance) -> tuple[bool, int | None, str]:
    verdict = verify_audit_log(db, instance.signer.public_key)
    return verdict.ok, verdict.first_bad_seq, verdict.reason


def test_entries_chain_and_verify(db: Session, instance: Instance) -> None:
    log = AuditLog(instance.signer)
    write_entries(db, log)
    entries = db.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
    assert len(db.scalars(select(AuditCheckpoint)).all()) == 6
    assert verify(db, instance) == (True, None, "all 6 entries and their checkpoints verify")


@pytest.mark.parametrize(
    "column", ["actor", "action", "object", "ciphertext_sha256", "detail", "created_at"]
)
def test_changing_any_field_of_an_entry_is_caught(
    db: Session, instance: Instance, column: str
) -> None:
    write_entries(db, AuditLog(instance.signer))
    value: object = T0 - timedelta(days=1) if column == "created_at" else "forged"
    db.execute(update(AuditEntry).where(AuditEntry.seq == 4).values({column: value}))
    db.commit()
    ok, first_bad, reason = verify(db, instance)
    assert (ok, first_bad) == (False, 4)
    assert "changed" in reason


def test_rehashing_a_changed_entry_is_caught_by_the_signatures(
    db: Session, instance: Instance
) -> None:
    from core.audit import hash_entry

    write_entries(db, AuditLog(instance.signer))
    entries = db.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    # Someone with database access rewrites entry 3 and re-hashes the chain after it.
    prev = entries[1].entry_hash
    for entry in entries[2:]:
        if entry.seq == 3:
            entry.actor = "someone-else"
        entry.prev_hash = prev
        entry.entry_hash = hash_entry(
            seq=entry.seq,
            created_at=entry.created_at,
            actor=entry.actor,
            action=entry.action,
            object=entry.object,
            ciphertext_sha256=entry.ciphertext_sha256,
            detail=entry.detail,
            prev_hash=prev,
        )
        prev = entry.entry_hash
    db.commit()
    ok, first_bad, reason = verify(db, instance)
    assert (ok, first_bad) == (False, 3)
    assert "checkpoint" in reason


@pytest.mark.parametrize("seq", [1, 3, 6])
def test_deleting_any_entry_is_caught(db: Session, instance: Instance, seq: int) -> None:
    write_entries(db, AuditLog(instance.signer))
    db.execute(delete(AuditEntry).where(AuditEntry.seq == seq))
    db.commit()
    ok, first_bad, reason = verify(db, instance)
    assert (ok, first_bad) == (False, seq)
    assert "missing" in reason or "link" in reason


def test_a_forged_checkpoint_signature_is_caught(db: Session, instance: Instance) -> None:
    write_entries(db, AuditLog(instance.signer))
    other = Signer(generate_signing_seed())
    row = db.get(AuditCheckpoint, 2)
    assert row is not None
    row.signature = other.sign(b"anything")
    db.commit()
    assert verify(db, instance)[:2] == (False, 2)


def test_a_log_signed_by_another_key_does_not_verify(db: Session, instance: Instance) -> None:
    write_entries(db, AuditLog(Signer(generate_signing_seed())))
    assert verify(db, instance)[:2] == (False, 1)


def test_concurrent_writers_extend_one_chain(instance: Instance) -> None:
    log = AuditLog(instance.signer)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with instance.sessions() as session:
                    log.record(session, actor=f"w{n}", action="star", object=str(i))
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with instance.sessions() as session:
        assert verify(session, instance) == (
            True,
            None,
            "all 60 entries and their checkpoints verify",
        )
