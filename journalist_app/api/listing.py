"""The read queries behind the API's lists of items, with a fixed number of queries.

Sources come from ``core.inbox.list_all_sources`` (the same visible sources, order and counts as
the inbox). A list of submissions or replies costs two queries: the items joined to their source
and author, then who has seen them (``core.inbox.seen_by_*``). Item rows are read as plain
columns rather than ORM objects: at 100,000 submissions building mapped objects would cost more
than the queries themselves.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session

from core.inbox import Page, seen_by_replies, seen_by_submissions
from core.models import Journalist, Reply, Source, Submission


@dataclass(frozen=True, slots=True)
class SubmissionRow:
    id: int
    uuid: str
    source_uuid: str
    kind: str
    filename: str
    size: int
    downloaded: bool
    seen_by: list[str]


@dataclass(frozen=True, slots=True)
class ReplyRow:
    id: int
    uuid: str
    source_uuid: str
    filename: str
    size: int
    deleted_by_source: bool
    journalist_uuid: str | None
    journalist_username: str | None
    journalist_first_name: str | None
    journalist_last_name: str | None
    seen_by: list[str]


def _paged(stmt: Select[*tuple[Any, ...]], page: Page | None) -> Select[*tuple[Any, ...]]:
    return stmt if page is None else stmt.limit(page.size).offset(page.offset)


def _item_condition(
    model: type[Submission] | type[Reply], source_id: int | None, uuid: str | None
) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = true()
    if source_id is not None:
        condition = condition & (model.source_id == source_id)
    if uuid is not None:
        condition = condition & (model.uuid == uuid)
    return condition


def count_submissions(db: Session, *, source_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(Submission)
    return db.scalar(stmt.where(_item_condition(Submission, source_id, None))) or 0


def load_submissions(
    db: Session,
    *,
    source_id: int | None = None,
    uuid: str | None = None,
    page: Page | None = None,
) -> list[SubmissionRow]:
    """Submissions in the order they arrived, each with the uuids of staff who have seen it."""
    stmt = (
        select(
            Submission.id,
            Submission.uuid,
            Source.uuid.label("source_uuid"),
            Submission.kind,
            Submission.filename,
            Submission.size,
            Submission.downloaded,
        )
        .join(Source, Submission.source_id == Source.id)
        .where(_item_condition(Submission, source_id, uuid))
        .order_by(Submission.id)
    )
    rows = db.execute(_paged(stmt, page)).all()
    if not rows:
        return []
    whole = source_id is None and uuid is None and page is None
    seen = seen_by_submissions(db, None if whole else [r.id for r in rows])
    return [
        SubmissionRow(
            id=r.id,
            uuid=r.uuid,
            source_uuid=r.source_uuid,
            kind=r.kind,
            filename=r.filename,
            size=r.size,
            downloaded=r.downloaded,
            seen_by=seen.get(r.id, []),
        )
        for r in rows
    ]


def count_replies(db: Session, *, source_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(Reply)
    return db.scalar(stmt.where(_item_condition(Reply, source_id, None))) or 0


def load_replies(
    db: Session,
    *,
    source_id: int | None = None,
    uuid: str | None = None,
    page: Page | None = None,
) -> list[ReplyRow]:
    """Replies in the order they were sent, with their author (None once the account is gone)."""
    stmt = (
        select(
            Reply.id,
            Reply.uuid,
            Source.uuid.label("source_uuid"),
            Reply.filename,
            Reply.size,
            Reply.deleted_by_source,
            Journalist.uuid.label("journalist_uuid"),
            Journalist.username,
            Journalist.first_name,
            Journalist.last_name,
        )
        .join(Source, Reply.source_id == Source.id)
        .outerjoin(Journalist, Reply.journalist_id == Journalist.id)
        .where(_item_condition(Reply, source_id, uuid))
        .order_by(Reply.id)
    )
    rows = db.execute(_paged(stmt, page)).all()
    if not rows:
        return []
    whole = source_id is None and uuid is None and page is None
    seen = seen_by_replies(db, None if whole else [r.id for r in rows])
    return [
        ReplyRow(
            id=r.id,
            uuid=r.uuid,
            source_uuid=r.source_uuid,
            filename=r.filename,
            size=r.size,
            deleted_by_source=r.deleted_by_source,
            journalist_uuid=r.journalist_uuid,
            journalist_username=r.username,
            journalist_first_name=r.first_name,
            journalist_last_name=r.last_name,
            seen_by=seen.get(r.id, []),
        )
        for r in rows
    ]


def uuid_in_use(db: Session, uuid: str) -> bool:
    """Whether any submission or reply already has this uuid (client-chosen reply uuids)."""
    taken = db.scalar(select(func.count()).select_from(Reply).where(Reply.uuid == uuid)) or 0
    taken += (
        db.scalar(select(func.count()).select_from(Submission).where(Submission.uuid == uuid)) or 0
    )
    return taken > 0
