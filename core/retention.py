"""Retention: acknowledged submissions leave the server; the admin sees what has not been.

A submission is acknowledged when the workstation has signed that it holds exactly that
ciphertext (core.acknowledgements; the audit log's ``acknowledge`` entries say when).
`delete_expired` deletes every submission acknowledged at least ``retention_days`` ago, with one
``delete_acknowledged`` audit entry each, committed with the rows before the files are unlinked
(core.deletion); run by `skrynka retention run` from a timer, and at once by the upload itself
when the period is 0. `holdings` measures what the server still holds that no workstation has
confirmed: that is what a seized server would give away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.acknowledgements import acknowledged_at
from core.audit import AuditLog
from core.audit_actions import AuditAction
from core.deletion import delete_items
from core.instance import Instance
from core.models import Submission


@dataclass(frozen=True)
class Holdings:
    """Submissions on the server that no workstation has acknowledged."""

    count: int
    bytes: int
    oldest: datetime | None


def holdings(db: Session) -> Holdings:
    """Count, total stored bytes (ciphertext and receipt) and oldest date of the unacknowledged."""
    acknowledged = acknowledged_at(db)
    count = 0
    total = 0
    oldest: datetime | None = None
    rows = db.execute(
        select(
            Submission.uuid,
            Submission.sha256,
            Submission.size,
            Submission.receipt_size,
            Submission.created_at,
        ).order_by(Submission.created_at)
    )
    for uuid, sha256, size, receipt_size, created_at in rows:
        if (uuid, sha256) in acknowledged:
            continue
        count += 1
        total += size + (receipt_size or 0)
        oldest = oldest or created_at
    return Holdings(count, total, oldest)


def expired_submissions(db: Session, retention_days: int, now: datetime) -> list[Submission]:
    """Submissions whose exact ciphertext was acknowledged ``retention_days`` or more ago."""
    cutoff = now - timedelta(days=retention_days)
    due = {key for key, moment in acknowledged_at(db).items() if moment <= cutoff}
    if not due:
        return []
    expired: list[Submission] = []
    uuids = sorted({uuid for uuid, _ in due})
    # In slices: a database limits how many values one IN list may hold.
    for start in range(0, len(uuids), 500):
        batch = uuids[start : start + 500]
        candidates = db.scalars(select(Submission).where(Submission.uuid.in_(batch)))
        expired.extend(s for s in candidates if (s.uuid, s.sha256) in due)
    return expired


def delete_submissions_acknowledged(
    db: Session,
    instance: Instance,
    audit: AuditLog,
    submissions: list[Submission],
    *,
    actor: str,
    detail: str,
) -> int:
    """Record one entry per submission and delete them (rows committed, then files)."""
    for submission in submissions:
        audit.record(
            db,
            actor=actor,
            action=AuditAction.DELETE_ACKNOWLEDGED,
            object=submission.uuid,
            ciphertext_sha256=submission.sha256,
            detail=detail,
        )
    if not submissions:
        return 0
    return delete_items(db, instance, submissions).submissions


def delete_expired(
    db: Session, instance: Instance, audit: AuditLog, *, actor: str, now: datetime
) -> int:
    """Delete what the retention period no longer covers; return how many submissions."""
    days = instance.settings.retention_days
    expired = expired_submissions(db, days, now)
    return delete_submissions_acknowledged(
        db, instance, audit, expired, actor=actor, detail=f"retention: {days} day(s)"
    )
