"""The inbox: starred first, then by activity; counts; a fixed number of queries per page."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bench.bench_inbox import QueryCounter, seed_inbox
from core.inbox import (
    conversation,
    count_items,
    list_sources,
    seen_by_submissions,
)
from core.instance import Instance
from core.models import Journalist, SeenSubmission, Source, Submission
from core.seen import mark_seen, mark_unseen
from tests.support.staff import make_staff_account


def journalist_of(instance: Instance) -> Journalist:
    account = make_staff_account(instance, "dana")
    with instance.sessions() as db:
        journalist = db.scalars(select(Journalist).where(Journalist.uuid == account.uuid)).one()
        db.expunge(journalist)
        return journalist


def test_starred_sources_come_first_then_the_most_recent(instance: Instance) -> None:
    seed_inbox(instance, sources=30, submissions_per_source=2)
    now = datetime.now(UTC)
    with instance.sessions() as db:
        db.execute(update(Source).values(is_starred=False))
        db.execute(
            update(Source)
            .where(Source.journalist_designation == "bench source 000020")
            .values(is_starred=True)
        )
        db.execute(
            update(Source)
            .where(Source.journalist_designation == "bench source 000029")
            .values(last_updated=now + timedelta(minutes=5))
        )
        db.commit()
        page = list_sources(db, page=1, per_page=5)
        names = [row.source.journalist_designation for row in page.rows]
    assert names == [
        "bench source 000020",
        "bench source 000029",
        "bench source 000000",
        "bench source 000001",
        "bench source 000002",
    ]
    assert (page.total, page.pages, page.has_next) == (30, 6, True)


def test_pages_filter_and_out_of_range_pages(instance: Instance) -> None:
    seed_inbox(instance, sources=25, submissions_per_source=1)
    with instance.sessions() as db:
        last = list_sources(db, page=3, per_page=10)
        assert (len(last.rows), last.has_next, last.has_previous) == (5, False, True)
        # A page past the end shows the last page rather than nothing.
        assert list_sources(db, page=99, per_page=10).page == 3
        assert list_sources(db, page=-4, per_page=10).page == 1
        filtered = list_sources(db, page=1, per_page=10, designation_filter="SOURCE 00001")
        assert {r.source.journalist_designation for r in filtered.rows} == {
            f"bench source 0000{i}" for i in range(10, 20)
        }
        # LIKE wildcards typed by staff are matched literally.
        assert list_sources(db, page=1, per_page=10, designation_filter="%").total == 0
        assert list_sources(db, page=1, per_page=10, designation_filter="_").total == 0


def test_counts_of_messages_documents_unread_and_replies(instance: Instance) -> None:
    journalist = journalist_of(instance)
    seed_inbox(
        instance, sources=2, submissions_per_source=6, replies_per_source=2, seen_by=journalist.id
    )
    with instance.sessions() as db:
        ids = db.scalars(select(Source.id).order_by(Source.id)).all()
        counts = count_items(db, ids)
    # Submissions 3 and 6 are files; every third submission (2 of 6) was seen.
    assert counts[ids[0]].messages == 4
    assert counts[ids[0]].documents == 2
    assert counts[ids[0]].unread == 4
    assert counts[ids[0]].replies == 2


def test_pending_sources_are_not_in_the_inbox(instance: Instance) -> None:
    seed_inbox(instance, sources=3, submissions_per_source=1)
    with instance.sessions() as db:
        db.execute(
            update(Source).where(Source.journalist_designation.like("%2")).values(pending=True)
        )
        db.commit()
        assert list_sources(db, page=1, per_page=10).total == 2


def count_queries(instance: Instance, page_size: int) -> int:
    counter = QueryCounter(instance.engine)
    with instance.sessions() as db, counter.counting():
        page = list_sources(db, page=2, per_page=page_size)
        for row in page.rows:  # what the template reads
            _ = (row.source.journalist_designation, row.counts.unread, row.source.is_starred)
    return counter.count


def test_the_inbox_runs_the_same_number_of_queries_at_100_and_1000_sources(
    instance: Instance,
) -> None:
    journalist = journalist_of(instance)
    seed_inbox(instance, sources=100, seen_by=journalist.id)
    at_100 = count_queries(instance, 50)
    seed_inbox(instance, sources=900, seen_by=journalist.id, first=100)
    at_1000 = count_queries(instance, 50)
    assert at_100 == at_1000 <= 4


def test_the_source_page_query_count_does_not_grow_with_items(instance: Instance) -> None:
    journalist = journalist_of(instance)
    seed_inbox(instance, sources=1, submissions_per_source=5, seen_by=journalist.id)
    seed_inbox(
        instance,
        sources=1,
        submissions_per_source=200,
        replies_per_source=50,
        seen_by=journalist.id,
        first=1,
    )
    counter = QueryCounter(instance.engine)
    totals = []
    for designation in ("bench source 000000", "bench source 000001"):
        with instance.sessions() as db:
            source = db.scalars(
                select(Source).where(Source.journalist_designation == designation)
            ).one()
            with counter.counting():
                items = conversation(db, source, journalist)
                for item in items:
                    _ = item.item.journalist if item.kind == "reply" else item.item.filename  # type: ignore[union-attr]
            totals.append(counter.count)
    assert totals[0] == totals[1]


def test_conversation_is_in_order_and_seen_marks_are_per_journalist(instance: Instance) -> None:
    journalist = journalist_of(instance)
    other = make_staff_account(instance, "olga")
    seed_inbox(instance, sources=1, submissions_per_source=3, replies_per_source=1)
    with instance.sessions() as db:
        source = db.scalars(select(Source)).one()
        me = db.get(Journalist, journalist.id)
        assert me is not None
        items = conversation(db, source, me)
        assert [i.number for i in items] == [1, 2, 3, 4]
        assert [i.kind for i in items] == ["message", "message", "file", "reply"]
        subs = db.scalars(select(Submission).order_by(Submission.id)).all()
        mark_seen(db, me, submissions=subs[:2])
        mark_seen(db, me, submissions=subs[:2])  # twice is harmless
        db.commit()
        seen = seen_by_submissions(db, [s.id for s in subs])
        assert seen == {subs[0].id: [me.uuid], subs[1].id: [me.uuid]}
        olga = db.scalars(select(Journalist).where(Journalist.uuid == other.uuid)).one()
        assert [i.seen_by_me for i in conversation(db, source, olga)] == [False] * 4
        assert [i.seen_by_anyone for i in conversation(db, source, olga)][:3] == [True, True, False]
        mark_unseen(db, me, submissions=subs[:1])
        db.commit()
        assert len(db.scalars(select(SeenSubmission)).all()) == 1
