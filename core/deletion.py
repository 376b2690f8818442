"""Deleting evidence: rows first (committed), then the ciphertext files.

The order matters. Once the rows are gone and committed, nothing points at the files, so a
crash before they are unlinked leaves only orphans (which ``remove_orphans`` can clear), never
a row whose file is missing. Files are unlinked through the store, which fsyncs the directory
so the removal itself is durable; SQLite runs with ``secure_delete`` so the freed database pages
are overwritten. Every function here COMMITS the caller's transaction (so an audit entry the
caller recorded first is committed in the same step as the deletion).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.instance import Instance
from core.models import Reply, SeenReply, SeenSubmission, Source, Submission


@dataclass(frozen=True)
class DeletionSummary:
    submissions: int = 0
    replies: int = 0
    files: int = 0


def _submission_files(submission: Submission) -> list[str]:
    names = [submission.filename]
    if submission.receipt_filename:
        names.append(submission.receipt_filename)
    return names


def delete_items(
    db: Session,
    instance: Instance,
    submissions: Sequence[Submission] = (),
    replies: Sequence[Reply] = (),
) -> DeletionSummary:
    """Delete these submissions and replies (rows, then files). Commits."""
    files: list[tuple[str, str]] = []
    submission_ids = [s.id for s in submissions]
    reply_ids = [r.id for r in replies]
    for submission in submissions:
        files += [(submission.source.filesystem_id, name) for name in _submission_files(submission)]
    for reply in replies:
        files.append((reply.source.filesystem_id, reply.filename))
    if submission_ids:
        db.execute(delete(SeenSubmission).where(SeenSubmission.submission_id.in_(submission_ids)))
        db.execute(delete(Submission).where(Submission.id.in_(submission_ids)))
    if reply_ids:
        db.execute(delete(SeenReply).where(SeenReply.reply_id.in_(reply_ids)))
        db.execute(delete(Reply).where(Reply.id.in_(reply_ids)))
    db.commit()
    for item in (*submissions, *replies):
        if item in db:
            db.expunge(item)
    removed = sum(1 for fs_id, name in files if instance.store.delete(fs_id, name))
    return DeletionSummary(len(submission_ids), len(reply_ids), removed)


def delete_submission(db: Session, instance: Instance, submission: Submission) -> None:
    """Delete one submission and its receipt. Commits."""
    delete_items(db, instance, submissions=[submission])


def delete_reply(db: Session, instance: Instance, reply: Reply) -> None:
    """Delete one reply (for staff and source alike). Commits."""
    delete_items(db, instance, replies=[reply])


def delete_conversation(db: Session, instance: Instance, source: Source) -> DeletionSummary:
    """Delete everything a source sent and every reply; the source stays (it can come back).

    Commits.
    """
    submissions = list(db.scalars(select(Submission).where(Submission.source_id == source.id)))
    replies = list(db.scalars(select(Reply).where(Reply.source_id == source.id)))
    return delete_items(db, instance, submissions, replies)


def delete_source(db: Session, instance: Instance, source: Source) -> DeletionSummary:
    """Delete the source, all its items and its store directory. Commits."""
    submission_ids = select(Submission.id).where(Submission.source_id == source.id)
    reply_ids = select(Reply.id).where(Reply.source_id == source.id)
    counts = (
        len(db.scalars(submission_ids).all()),
        len(db.scalars(reply_ids).all()),
    )
    filesystem_id = source.filesystem_id
    db.execute(delete(SeenSubmission).where(SeenSubmission.submission_id.in_(submission_ids)))
    db.execute(delete(SeenReply).where(SeenReply.reply_id.in_(reply_ids)))
    db.execute(delete(Submission).where(Submission.source_id == source.id))
    db.execute(delete(Reply).where(Reply.source_id == source.id))
    db.execute(delete(Source).where(Source.id == source.id))
    db.commit()
    if source in db:
        db.expunge(source)
    removed = instance.store.delete_source(filesystem_id)
    return DeletionSummary(counts[0], counts[1], removed)
