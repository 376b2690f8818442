"""What staff see: the list of sources and one source's conversation, in few queries.

Every function here runs a fixed number of queries whatever the number of sources or items
(no query per row): counts are computed per page with one grouped query each, and "who has
seen what" is fetched in bulk. The inbox stays fast at 10,000 sources and 100,000
submissions; tests count the queries.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from core.models import (
    Journalist,
    Reply,
    SeenReply,
    SeenSubmission,
    Source,
    Submission,
)

PER_PAGE_MAX = 200
FILTER_MAX_CHARS = 255


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a client's list: `number` from 1, `size` items per page."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True)
class SourceCounts:
    """How much a source sent and how much of it nobody has looked at yet."""

    messages: int = 0
    documents: int = 0
    unread: int = 0
    replies: int = 0
    consents: int = 0

    @property
    def submissions(self) -> int:
        return self.messages + self.documents

    @property
    def not_files(self) -> int:
        """Everything sent that is not a file (SecureDrop's clients call all of it messages)."""
        return self.messages + self.consents


@dataclass(frozen=True, slots=True)
class ListedSource:
    """What a list of sources shows of each one, read as plain columns.

    Plain columns rather than mapped objects: at 10,000 sources building ORM objects would
    cost more than the queries themselves. The secret half of the reply key and the store
    directory are never read for a list.
    """

    id: int
    uuid: str
    journalist_designation: str
    is_starred: bool
    last_updated: datetime
    interaction_count: int
    reply_key_public: str
    reply_key_fingerprint: str


_LISTED_COLUMNS = (
    Source.id,
    Source.uuid,
    Source.journalist_designation,
    Source.is_starred,
    Source.last_updated,
    Source.interaction_count,
    Source.reply_key_public,
    Source.reply_key_fingerprint,
)


@dataclass(frozen=True)
class SourceRow:
    """One source in a list (the inbox, the API's /sources) and what it sent."""

    source: ListedSource
    counts: SourceCounts


@dataclass(frozen=True)
class InboxPage:
    rows: list[SourceRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class ConversationItem:
    """A submission or a reply, with whether the viewing journalist has seen it."""

    kind: Literal["message", "file", "consent", "reply"]
    number: int
    item: Submission | Reply
    seen_by_me: bool
    seen_by_anyone: bool

    @property
    def uuid(self) -> str:
        return self.item.uuid


def _escape_like(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text)


def _inbox_query(designation_filter: str | None) -> Select[*tuple[Any, ...]]:
    # Pending sources are invisible to staff; see find_source.
    query: Select[*tuple[Any, ...]] = select(*_LISTED_COLUMNS).where(Source.pending.is_(False))
    if designation_filter:
        needle = _escape_like(designation_filter.strip().lower()[:FILTER_MAX_CHARS])
        query = query.where(
            func.lower(Source.journalist_designation).like(f"%{needle}%", escape="\\")
        )
    return query


def list_sources(
    db: Session,
    *,
    page: int,
    per_page: int,
    designation_filter: str | None = None,
) -> InboxPage:
    """One page of the inbox: starred first, then most recent activity first. 4 queries."""
    per_page = max(1, min(per_page, PER_PAGE_MAX))
    base = _inbox_query(designation_filter)
    total = int(db.scalar(select(func.count()).select_from(base.subquery())) or 0)
    pages = max(1, -(-total // per_page))
    page = max(1, min(page, pages))
    sources = _listed(
        db,
        base.order_by(Source.is_starred.desc(), Source.last_updated.desc(), Source.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page),
    )
    counts = count_items(db, [source.id for source in sources])
    rows = [SourceRow(source, counts.get(source.id, SourceCounts())) for source in sources]
    return InboxPage(rows=rows, total=total, page=page, per_page=per_page)


def count_visible_sources(db: Session) -> int:
    """How many sources staff can see (every one but the pending ones)."""
    return int(db.scalar(select(func.count()).select_from(_inbox_query(None).subquery())) or 0)


def _listed(db: Session, query: Select[*tuple[Any, ...]]) -> list[ListedSource]:
    return [ListedSource(*row) for row in db.execute(query)]


def list_all_sources(
    db: Session, *, uuid: str | None = None, page: Page | None = None
) -> list[SourceRow]:
    """Visible sources, most recently active first, with what each sent (for API clients).

    2 queries whatever the size: the sources, then their counts (one grouped query for a
    whole list; one per 900 sources for a page or a single uuid). ``unread`` and ``replies``
    are left at 0: clients work them out from the items.
    """
    query = _inbox_query(None)
    if uuid is not None:
        query = query.where(Source.uuid == uuid)
    query = query.order_by(Source.last_updated.desc(), Source.id.desc())
    if page is not None:
        query = query.limit(page.size).offset(page.offset)
    sources = _listed(db, query)
    if not sources:
        return []
    whole = uuid is None and page is None
    counts = count_sent(db, None if whole else [source.id for source in sources])
    return [SourceRow(source, counts.get(source.id, SourceCounts())) for source in sources]


def count_sent(db: Session, source_ids: Sequence[int] | None) -> dict[int, SourceCounts]:
    """Messages, documents and consent records per source, for these ids or (None) all."""
    stmt = select(
        Submission.source_id,
        func.sum(case((Submission.kind == "message", 1), else_=0)),
        func.sum(case((Submission.kind == "file", 1), else_=0)),
        func.sum(case((Submission.kind == "consent", 1), else_=0)),
    ).group_by(Submission.source_id)
    chunks = [None] if source_ids is None else list(_chunks(list(source_ids)))
    found: dict[int, SourceCounts] = {}
    for chunk in chunks:
        chunk_stmt = stmt if chunk is None else stmt.where(Submission.source_id.in_(chunk))
        for source_id, messages, documents, consents in db.execute(chunk_stmt):
            found[source_id] = SourceCounts(
                messages=int(messages or 0),
                documents=int(documents or 0),
                consents=int(consents or 0),
            )
    return found


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[Sequence[int]]:
    # SQLite limits bound parameters per statement; pages are far smaller than this.
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def count_items(db: Session, source_ids: Sequence[int]) -> dict[int, SourceCounts]:
    """Messages, documents, unread submissions and replies per source: 2 queries per 900 ids.

    "Unread" means no journalist has seen or downloaded it yet.
    """
    if not source_ids:
        return {}
    seen = exists().where(SeenSubmission.submission_id == Submission.id)
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for chunk in _chunks(list(source_ids)):
        for source_id, messages, documents, unread, consents in db.execute(
            select(
                Submission.source_id,
                func.sum(case((Submission.kind == "message", 1), else_=0)),
                func.sum(case((Submission.kind == "file", 1), else_=0)),
                func.sum(case((seen, 0), else_=1)),
                func.sum(case((Submission.kind == "consent", 1), else_=0)),
            )
            .where(Submission.source_id.in_(chunk))
            .group_by(Submission.source_id)
        ):
            found[source_id].update(
                messages=int(messages or 0),
                documents=int(documents or 0),
                unread=int(unread or 0),
                consents=int(consents or 0),
            )
        for source_id, replies in db.execute(
            select(Reply.source_id, func.count(Reply.id))
            .where(Reply.source_id.in_(chunk))
            .group_by(Reply.source_id)
        ):
            found[source_id]["replies"] = int(replies)
    return {source_id: SourceCounts(**values) for source_id, values in found.items()}


def seen_by_submissions(
    db: Session, submission_ids: Sequence[int] | None
) -> dict[int, list[str]]:
    """For each submission id, the uuids of the journalists who have seen it (1 query/900).

    None asks for every submission in one query, rather than naming thousands of ids.
    """
    return _seen_by(db, SeenSubmission, SeenSubmission.submission_id, submission_ids)


def seen_by_replies(db: Session, reply_ids: Sequence[int] | None) -> dict[int, list[str]]:
    """For each reply id, the uuids of the journalists who have seen it (1 query/900, or 1)."""
    return _seen_by(db, SeenReply, SeenReply.reply_id, reply_ids)


def _seen_by(
    db: Session,
    seen: type[SeenSubmission] | type[SeenReply],
    item_id: InstrumentedAttribute[int],
    item_ids: Sequence[int] | None,
) -> dict[int, list[str]]:
    result: dict[int, list[str]] = defaultdict(list)
    # No ORDER BY: the API has always listed seen_by in the database's own order, and its
    # clients may compare responses byte for byte.
    stmt = select(item_id, Journalist.uuid).join(Journalist, seen.journalist_id == Journalist.id)
    chunks = [None] if item_ids is None else list(_chunks(list(item_ids)))
    for chunk in chunks:
        for seen_item_id, journalist_uuid in db.execute(
            stmt if chunk is None else stmt.where(item_id.in_(chunk))
        ):
            result[seen_item_id].append(journalist_uuid)
    return dict(result)


def file_number(filename: str) -> int:
    """The ``<n>`` a stored file name starts with (0 if it has none)."""
    head = filename.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


def conversation(db: Session, source: Source, journalist: Journalist) -> list[ConversationItem]:
    """A source's submissions and replies in the order they happened. 5 queries."""
    submissions = list(
        db.scalars(select(Submission).where(Submission.source_id == source.id))
    )
    replies = list(
        db.scalars(
            select(Reply)
            .where(Reply.source_id == source.id)
            .options(selectinload(Reply.journalist))
        )
    )
    sub_ids = [s.id for s in submissions]
    reply_ids = [r.id for r in replies]
    seen_subs = seen_by_submissions(db, sub_ids) if sub_ids else {}
    seen_replies = seen_by_replies(db, reply_ids) if reply_ids else {}
    items: list[ConversationItem] = []
    for submission in submissions:
        viewers = seen_subs.get(submission.id, [])
        kind: Literal["message", "file", "consent"] = (
            "file" if submission.kind == "file" else
            "consent" if submission.kind == "consent" else "message"
        )
        items.append(
            ConversationItem(
                kind=kind,
                number=file_number(submission.filename),
                item=submission,
                seen_by_me=journalist.uuid in viewers,
                seen_by_anyone=bool(viewers),
            )
        )
    for reply in replies:
        viewers = seen_replies.get(reply.id, [])
        items.append(
            ConversationItem(
                kind="reply",
                number=file_number(reply.filename),
                item=reply,
                seen_by_me=journalist.uuid in viewers,
                seen_by_anyone=bool(viewers),
            )
        )
    items.sort(key=lambda entry: (entry.number, entry.item.created_at))
    return items


def find_source(db: Session, source_uuid: str) -> Source | None:
    """The source staff asked for by uuid, or None if there is none they may see.

    The one rule for every staff channel: a pending source (a codename was made but nothing
    was ever sent) does not exist for staff. It is in no list, and no view, download, reply,
    star or deletion reaches it, so staff cannot learn that someone merely opened the page.
    """
    return db.scalars(
        select(Source).where(Source.uuid == source_uuid, Source.pending.is_(False))
    ).first()


def find_sources(db: Session, source_uuids: Sequence[str]) -> list[Source]:
    """The sources staff may see among these uuids (pending ones are left out, as above)."""
    if not source_uuids:
        return []
    return list(
        db.scalars(
            select(Source).where(
                Source.uuid.in_(list(source_uuids)), Source.pending.is_(False)
            )
        )
    )


def find_submissions(
    db: Session, source: Source | None, uuids: Sequence[str]
) -> list[Submission]:
    """The submissions with these uuids, of ``source`` (others' are ignored) or of any source."""
    if not uuids:
        return []
    query = select(Submission).where(Submission.uuid.in_(list(uuids)))
    if source is not None:
        query = query.where(Submission.source_id == source.id)
    return list(db.scalars(query.order_by(Submission.id)))


def find_replies(db: Session, source: Source | None, uuids: Sequence[str]) -> list[Reply]:
    """The replies with these uuids, to ``source`` (others' are ignored) or to any source."""
    if not uuids:
        return []
    query = select(Reply).where(Reply.uuid.in_(list(uuids)))
    if source is not None:
        query = query.where(Reply.source_id == source.id)
    return list(db.scalars(query.order_by(Reply.id)))


def unread_submissions(db: Session, sources: Sequence[Source]) -> list[Submission]:
    """What "download unread" bundles: submissions nobody has seen, and every submission that
    was never in a downloaded transfer bundle (a file downloaded singly stays here until a
    bundle holding it is downloaded, so nothing can drop out of the workstation's reach)."""
    if not sources:
        return []
    seen = exists().where(SeenSubmission.submission_id == Submission.id)
    return list(
        db.scalars(
            select(Submission)
            .where(
                Submission.source_id.in_([s.id for s in sources]),
                or_(~seen, Submission.bundled.is_(False)),
            )
            .order_by(Submission.source_id, Submission.id)
        )
    )


def all_submissions(db: Session, sources: Sequence[Source]) -> list[Submission]:
    if not sources:
        return []
    return list(
        db.scalars(
            select(Submission)
            .where(Submission.source_id.in_([s.id for s in sources]))
            .order_by(Submission.source_id, Submission.id)
        )
    )


def count_never_bundled(db: Session, sources: Sequence[Source]) -> int:
    """How many submissions of these sources were never in a downloaded transfer bundle.

    Deleting such a source loses material the workstation never received: the page that asks
    for confirmation says how much.
    """
    if not sources:
        return 0
    return int(
        db.scalar(
            select(func.count())
            .select_from(Submission)
            .where(
                Submission.source_id.in_([s.id for s in sources]),
                Submission.bundled.is_(False),
            )
        )
        or 0
    )
