"""The read queries behind the API's lists, with a fixed number of queries whatever the size.

A list of sources costs two queries (the sources, then their submission counts grouped by kind);
a list of submissions or replies costs two (the items joined to their source and author, then
who has seen them). Rows are read as plain columns rather than ORM objects: at 10,000 sources
building mapped objects would cost more than the queries themselves.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.models import Journalist, Reply, SeenReply, SeenSubmission, Source, Submission


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: `number` from 1, `size` items per page."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True, slots=True)
class SourceRow:
    id: int
    uuid: str
    journalist_designation: str
    is_starred: bool
    last_updated: datetime
    interaction_count: int
    key_public: str
    key_fingerprint: str
    number_of_documents: int
    number_of_messages: int


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


def count_sources(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Source).where(Source.pending.is_(False))) or 0


def load_sources(
    db: Session, *, uuid: str | None = None, page: Page | None = None
) -> list[SourceRow]:
    """Sources staff can see (not pending), most recently active first."""
    condition: ColumnElement[bool] = Source.pending.is_(False)
    if uuid is not None:
        condition = condition & (Source.uuid == uuid)
    stmt = (
        select(
            Source.id,
            Source.uuid,
            Source.journalist_designation,
            Source.is_starred,
            Source.last_updated,
            Source.interaction_count,
            Source.reply_key_public,
            Source.reply_key_fingerprint,
        )
        .where(condition)
        .order_by(Source.last_updated.desc(), Source.id.desc())
    )
    rows = db.execute(_paged(stmt, page)).all()
    if not rows:
        return []
    counts_stmt = select(Submission.source_id, Submission.kind, func.count()).group_by(
        Submission.source_id, Submission.kind
    )
    if uuid is not None or page is not None:
        counts_stmt = counts_stmt.where(Submission.source_id.in_([r.id for r in rows]))
    files: dict[int, int] = defaultdict(int)
    messages: dict[int, int] = defaultdict(int)
    for source_id, kind, count in db.execute(counts_stmt):
        # SecureDrop clients know two kinds; anything the source sent that is not a file
        # (a message, a consent record) is shown and decrypted as a message.
        (files if kind == "file" else messages)[source_id] += count
    return [
        SourceRow(
            id=r.id,
            uuid=r.uuid,
            journalist_designation=r.journalist_designation,
            is_starred=r.is_starred,
            last_updated=r.last_updated,
            interaction_count=r.interaction_count,
            key_public=r.reply_key_public,
            key_fingerprint=r.reply_key_fingerprint,
            number_of_documents=files[r.id],
            number_of_messages=messages[r.id],
        )
        for r in rows
    ]


def _item_condition(
    model: type[Submission] | type[Reply], source_id: int | None, uuid: str | None
) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = true()
    if source_id is not None:
        condition = condition & (model.source_id == source_id)
    if uuid is not None:
        condition = condition & (model.uuid == uuid)
    return condition


def _load_seen_by(
    db: Session,
    item_id: InstrumentedAttribute[int],
    journalist_id: InstrumentedAttribute[int],
    item_ids: list[int] | None,
) -> dict[int, list[str]]:
    """The uuids of staff who have seen each item: of `item_ids`, or of every item if None.

    A whole list asks for every row in one query rather than naming thousands of ids.
    """
    stmt = select(item_id, Journalist.uuid).join(Journalist, journalist_id == Journalist.id)
    if item_ids is not None:
        stmt = stmt.where(item_id.in_(item_ids))
    seen: dict[int, list[str]] = defaultdict(list)
    for seen_item_id, journalist_uuid in db.execute(stmt):
        seen[seen_item_id].append(journalist_uuid)
    return seen


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
    seen = _load_seen_by(
        db,
        SeenSubmission.submission_id,
        SeenSubmission.journalist_id,
        None if whole else [r.id for r in rows],
    )
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
    seen = _load_seen_by(
        db, SeenReply.reply_id, SeenReply.journalist_id, None if whole else [r.id for r in rows]
    )
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


def find_source(db: Session, uuid: str) -> Source | None:
    """The mapped source (for writes), if it exists and is visible to staff."""
    return db.scalars(
        select(Source).where(Source.uuid == uuid, Source.pending.is_(False))
    ).one_or_none()


def find_submission(db: Session, source: Source, uuid: str) -> Submission | None:
    return db.scalars(
        select(Submission).where(Submission.uuid == uuid, Submission.source_id == source.id)
    ).one_or_none()


def find_reply(db: Session, source: Source, uuid: str) -> Reply | None:
    return db.scalars(
        select(Reply).where(Reply.uuid == uuid, Reply.source_id == source.id)
    ).one_or_none()


def find_submissions(db: Session, uuids: Sequence[str]) -> list[Submission]:
    if not uuids:
        return []
    return list(db.scalars(select(Submission).where(Submission.uuid.in_(uuids))))


def find_replies(db: Session, uuids: Sequence[str]) -> list[Reply]:
    if not uuids:
        return []
    return list(db.scalars(select(Reply).where(Reply.uuid.in_(uuids))))


def uuid_in_use(db: Session, uuid: str) -> bool:
    """Whether any submission or reply already has this uuid (client-chosen reply uuids)."""
    taken = db.scalar(select(func.count()).select_from(Reply).where(Reply.uuid == uuid)) or 0
    taken += (
        db.scalar(select(func.count()).select_from(Submission).where(Submission.uuid == uuid)) or 0
    )
    return taken > 0
