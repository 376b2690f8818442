"""Which journalist has seen which submission or reply (drives "unread" in the inbox)."""

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.models import Journalist, Reply, SeenReply, SeenSubmission, Submission


def mark_seen(
    db: Session,
    journalist: Journalist,
    submissions: Iterable[Submission] = (),
    replies: Iterable[Reply] = (),
) -> None:
    """Record that ``journalist`` has seen these items; already-seen ones are left alone.

    Two queries plus the inserts whatever the number of items. Flushes; does not commit.
    """
    submission_ids = {s.id for s in submissions}
    reply_ids = {r.id for r in replies}
    if submission_ids:
        known = set(
            db.scalars(
                select(SeenSubmission.submission_id).where(
                    SeenSubmission.journalist_id == journalist.id,
                    SeenSubmission.submission_id.in_(submission_ids),
                )
            )
        )
        db.add_all(
            SeenSubmission(submission_id=item_id, journalist_id=journalist.id)
            for item_id in sorted(submission_ids - known)
        )
    if reply_ids:
        known = set(
            db.scalars(
                select(SeenReply.reply_id).where(
                    SeenReply.journalist_id == journalist.id, SeenReply.reply_id.in_(reply_ids)
                )
            )
        )
        db.add_all(
            SeenReply(reply_id=item_id, journalist_id=journalist.id)
            for item_id in sorted(reply_ids - known)
        )
    db.flush()


def mark_unseen(
    db: Session,
    journalist: Journalist,
    submissions: Iterable[Submission] = (),
    replies: Iterable[Reply] = (),
) -> None:
    """Forget that ``journalist`` has seen these items (others' marks stay). Flushes."""
    submission_ids = {s.id for s in submissions}
    reply_ids = {r.id for r in replies}
    if submission_ids:
        db.execute(
            delete(SeenSubmission).where(
                SeenSubmission.journalist_id == journalist.id,
                SeenSubmission.submission_id.in_(submission_ids),
            )
        )
    if reply_ids:
        db.execute(
            delete(SeenReply).where(
                SeenReply.journalist_id == journalist.id, SeenReply.reply_id.in_(reply_ids)
            )
        )
    db.flush()
