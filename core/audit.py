"""The staff audit log: append-only, hash-chained entries with signed checkpoints.

Each entry's hash covers its own fields and the previous entry's hash, so changing or removing
any entry breaks every hash after it. A checkpoint is an Ed25519 signature by the server
signing key over a chain head; someone who can edit the database but not read the signing key
cannot re-hash the chain after a change and sign the new head. ``verify_audit_log`` walks the
whole chain and names the first entry that does not check out.

Entries never hold source-identifying data: objects are uuids (never filesystem ids, file
names that embed them, or network addresses).
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.models import AuditCheckpoint, AuditEntry
from crypto.errors import BadSignature
from crypto.signing import Signer, verify_signature

GENESIS_HASH = "0" * 64
CHECKPOINT_CONTEXT = b"skrynka-audit-checkpoint-v1\n"
ACTOR_MAX = 64
ACTION_MAX = 64
OBJECT_MAX = 255


@dataclass(frozen=True)
class AuditVerdict:
    ok: bool
    first_bad_seq: int | None
    reason: str
    entries: int = 0


def hash_entry(
    *,
    seq: int,
    created_at: datetime,
    actor: str,
    action: str,
    object: str | None,
    ciphertext_sha256: str | None,
    detail: str | None,
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON encoding of every field of an entry."""
    document = {
        "seq": seq,
        "created_at": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": actor,
        "action": action,
        "object": object,
        "ciphertext_sha256": ciphertext_sha256,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def hash_audit_entry(entry: AuditEntry) -> str:
    """The hash an entry's own fields and its link give (what `entry_hash` must hold)."""
    return hash_entry(
        seq=entry.seq,
        created_at=entry.created_at,
        actor=entry.actor,
        action=entry.action,
        object=entry.object,
        ciphertext_sha256=entry.ciphertext_sha256,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
    )


def checkpoint_message(seq: int, entry_hash: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return CHECKPOINT_CONTEXT + f"{seq}:{entry_hash}".encode("ascii")


class AuditLog:
    """Appends entries to the chain; one per app, built with the instance's signer."""

    def __init__(self, signer: Signer, checkpoint_every: int = 1) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self._signer = signer
        self._checkpoint_every = checkpoint_every

    def record(
        self,
        db: Session,
        *,
        actor: str,
        action: str,
        object: str | None = None,
        ciphertext_sha256: str | None = None,
        detail: str | None = None,
        now: datetime | None = None,
    ) -> AuditEntry:
        """Append an entry in the caller's transaction (which must commit it). Flushes."""
        _take_chain_lock(db)
        last = db.execute(
            select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
        seq = 1 if last is None else last.seq + 1
        prev_hash = GENESIS_HASH if last is None else last.entry_hash
        created_at = (now or datetime.now(UTC)).astimezone(UTC)
        entry = AuditEntry(
            seq=seq,
            created_at=created_at,
            actor=actor[:ACTOR_MAX],
            action=action[:ACTION_MAX],
            object=None if object is None else object[:OBJECT_MAX],
            ciphertext_sha256=ciphertext_sha256,
            detail=detail,
            prev_hash=prev_hash,
        )
        entry.entry_hash = hash_audit_entry(entry)
        db.add(entry)
        if seq % self._checkpoint_every == 0:
            db.add(
                AuditCheckpoint(
                    seq=seq,
                    entry_hash=entry.entry_hash,
                    signature=self._signer.sign(checkpoint_message(seq, entry.entry_hash)),
                    created_at=created_at,
                )
            )
        db.flush()
        return entry


def _take_chain_lock(db: Session) -> None:
    """Serialise appenders, so two transactions never both extend the same head.

    On SQLite a write statement takes the database write lock (the Python driver begins the
    transaction before it); the statement itself changes nothing. On PostgreSQL a
    transaction-scoped advisory lock does the same job without locking any table.
    """
    dialect = db.get_bind().dialect.name
    if dialect == "sqlite":
        db.execute(text("UPDATE audit_checkpoints SET seq = seq WHERE 0"))
    elif dialect == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(7347861)"))


def _entries(db: Session) -> Iterator[AuditEntry]:
    yield from db.scalars(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000)
    )


def verify_audit_log(
    db: Session, public_key: bytes, *, checkpoint_every: int = 1
) -> AuditVerdict:
    """Check the chain, every checkpoint's signature, and that no entry is unsigned too long.

    Returns the first broken entry (lowest sequence number) and why. With ``checkpoint_every``
    at 1 every entry must have a valid checkpoint, so removing the newest entry is caught too.
    """
    checkpoints = {
        row.seq: row
        for row in db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))
    }
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for entry in _entries(db):
        if entry.seq != expected_seq:
            return AuditVerdict(
                False,
                expected_seq,
                f"entry {expected_seq} is missing (the next entry present is {entry.seq})",
                expected_seq - 1,
            )
        if entry.prev_hash != prev_hash:
            return AuditVerdict(
                False,
                entry.seq,
                f"entry {entry.seq} does not link to entry {entry.seq - 1} "
                "(its previous-entry hash differs)",
                entry.seq - 1,
            )
        if hash_audit_entry(entry) != entry.entry_hash:
            return AuditVerdict(
                False,
                entry.seq,
                f"entry {entry.seq} was changed after it was written (its hash does not match)",
                entry.seq - 1,
            )
        checkpoint = checkpoints.get(entry.seq)
        if checkpoint is not None:
            problem = _check_checkpoint(checkpoint, entry.entry_hash, public_key)
            if problem:
                return AuditVerdict(False, entry.seq, problem, entry.seq - 1)
        elif entry.seq % checkpoint_every == 0:
            return AuditVerdict(
                False, entry.seq, f"entry {entry.seq} has no signed checkpoint", entry.seq - 1
            )
        prev_hash = entry.entry_hash
        expected_seq += 1
    last_seq = expected_seq - 1
    beyond = [seq for seq in checkpoints if seq > last_seq]
    if beyond:
        missing = last_seq + 1
        return AuditVerdict(
            False,
            missing,
            f"entry {missing} is missing: a signed checkpoint exists for entry {max(beyond)} "
            f"but the log ends at entry {last_seq}",
            last_seq,
        )
    return AuditVerdict(
        True, None, f"all {last_seq} entries and their checkpoints verify", last_seq
    )


def _check_checkpoint(checkpoint: AuditCheckpoint, entry_hash: str, public_key: bytes) -> str:
    if checkpoint.entry_hash != entry_hash:
        return f"entry {checkpoint.seq} differs from the head its checkpoint signed"
    try:
        verify_signature(
            public_key, checkpoint_message(checkpoint.seq, entry_hash), checkpoint.signature
        )
    except BadSignature:
        return f"the checkpoint of entry {checkpoint.seq} has a bad signature"
    return ""


def count_entries(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def list_entries(db: Session, *, page: int, per_page: int) -> list[AuditEntry]:
    """Newest first, for the admin page."""
    offset = max(0, page - 1) * per_page
    return list(
        db.scalars(
            select(AuditEntry).order_by(AuditEntry.seq.desc()).offset(offset).limit(per_page)
        )
    )
