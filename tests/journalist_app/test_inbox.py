"""The inbox page: sources, counts, stars, filter, pages, bulk actions."""

import io
import json
import zipfile

from flask.testing import FlaskClient
from sqlalchemy import func, select

from bench.bench_inbox import QueryCounter, seed_inbox
from core.instance import Instance
from core.models import AuditEntry, SeenSubmission, Source, Submission
from tests.support.staff import csrf_from, make_source


def bulk(client: FlaskClient, action: str, uuids: list[str], **extra: str) -> object:
    token = csrf_from(client.get("/").get_data(as_text=True))
    return client.post("/bulk", data={"csrf_token": token, "action": action, "source": uuids,
                                      **extra})


def test_the_inbox_lists_sources_with_unread_counts(
    staff_client: FlaskClient, instance: Instance
) -> None:
    first = make_source(instance, "one", files=(("a.txt", b"aaa"),))
    second = make_source(instance, "two")
    html = staff_client.get("/").get_data(as_text=True)
    assert first.designation in html
    assert second.designation in html
    assert "2 sources" in html
    assert '<td class="unread-count">2</td>' in html


def test_filter_and_bad_page_numbers(staff_client: FlaskClient, instance: Instance) -> None:
    seed_inbox(instance, sources=120, submissions_per_source=1)
    html = staff_client.get("/?q=source+00011").get_data(as_text=True)
    assert "bench source 000110" in html
    assert "bench source 000120" not in html
    page3 = staff_client.get("/?page=3").get_data(as_text=True)
    assert "page 3 of 3" in page3
    for bad in ("0", "-1", "abc", "9999999999", "1e3"):
        response = staff_client.get(f"/?page={bad}")
        assert response.status_code == 400, bad
        assert "whole number" in response.get_data(as_text=True)


def test_the_inbox_page_costs_the_same_queries_at_100_and_1000_sources(
    staff_client: FlaskClient, instance: Instance
) -> None:
    counter = QueryCounter(instance.engine)
    seed_inbox(instance, sources=100)
    with counter.counting():
        assert staff_client.get("/").status_code == 200
    at_100 = counter.count
    seed_inbox(instance, sources=900, first=100)
    with counter.counting():
        assert staff_client.get("/?page=7").status_code == 200
    assert counter.count == at_100


def test_bulk_star_and_unstar(staff_client: FlaskClient, instance: Instance) -> None:
    sources = [make_source(instance, f"m{i}") for i in range(3)]
    response = bulk(staff_client, "star", [s.uuid for s in sources[:2]])
    assert response.status_code == 302  # type: ignore[attr-defined]
    with instance.sessions() as db:
        starred = set(db.scalars(select(Source.uuid).where(Source.is_starred)))
        assert starred == {sources[0].uuid, sources[1].uuid}
        actions = db.scalars(select(AuditEntry.action)).all()
        assert actions.count("star") == 2
    bulk(staff_client, "unstar", [sources[0].uuid])
    with instance.sessions() as db:
        assert set(db.scalars(select(Source.uuid).where(Source.is_starred))) == {sources[1].uuid}


def test_bulk_download_unread_makes_one_bundle_and_marks_seen(
    staff_client: FlaskClient, instance: Instance
) -> None:
    sources = [make_source(instance, f"m{i}") for i in range(2)]
    response = bulk(staff_client, "download-unread", [s.uuid for s in sources])
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.mimetype == "application/zip"  # type: ignore[attr-defined]
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:  # type: ignore[attr-defined]
        manifest = json.loads(archive.read("manifest.json"))
    assert {i["source_uuid"] for i in manifest["items"]} == {s.uuid for s in sources}
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(SeenSubmission)) == 2
        assert all(db.scalars(select(Submission.downloaded)))
    # Nothing unread is left now.
    again = bulk(staff_client, "download-unread", [s.uuid for s in sources])
    assert again.status_code == 404  # type: ignore[attr-defined]


def test_bulk_delete_asks_first_then_deletes(
    staff_client: FlaskClient, instance: Instance
) -> None:
    keep, drop = make_source(instance, "keep"), make_source(instance, "drop")
    confirm = bulk(staff_client, "delete-source", [drop.uuid])
    assert confirm.status_code == 200  # type: ignore[attr-defined]
    assert "Delete this source entirely?" in confirm.get_data(as_text=True)  # type: ignore[attr-defined]
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Source)) == 2
    done = bulk(staff_client, "delete-source", [drop.uuid], confirm="yes")
    assert done.status_code == 302  # type: ignore[attr-defined]
    with instance.sessions() as db:
        assert db.scalars(select(Source.uuid)).all() == [keep.uuid]
    bulk(staff_client, "delete-data", [keep.uuid], confirm="yes")
    with instance.sessions() as db:
        assert db.scalars(select(Source.uuid)).all() == [keep.uuid]
        assert db.scalar(select(func.count()).select_from(Submission)) == 0


def test_bulk_bad_input(staff_client: FlaskClient, instance: Instance) -> None:
    make_source(instance)
    assert bulk(staff_client, "explode", []).status_code == 400  # type: ignore[attr-defined]
    nothing = bulk(staff_client, "star", ["not-a-uuid", "../../etc"])
    assert nothing.status_code == 302  # type: ignore[attr-defined]
    assert "nothing-selected" in nothing.headers["Location"]  # type: ignore[attr-defined]
    many = bulk(staff_client, "star", [f"x{i}" for i in range(1001)])
    assert many.status_code == 400  # type: ignore[attr-defined]


def test_a_file_downloaded_singly_stays_in_the_next_unread_bundle_until_bundled(
    staff_client: FlaskClient, instance: Instance
) -> None:
    source = make_source(instance, "single")
    with instance.sessions() as db:
        item = db.scalars(select(Submission)).one()
        item_uuid, filename = item.uuid, item.filename
    page = staff_client.get(f"/source/{source.uuid}").get_data(as_text=True)
    assert "the workstation imports bundles only" in page
    assert "not yet in a downloaded bundle" in page
    single = staff_client.get(f"/source/{source.uuid}/download/{filename}")
    assert single.status_code == 200
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(SeenSubmission)) == 1
        assert db.scalars(select(Submission.bundled)).one() is False
    # Seen, but never in a bundle: "download unread" still carries it to the workstation.
    bundle = bulk(staff_client, "download-unread", [source.uuid])
    assert bundle.status_code == 200  # type: ignore[attr-defined]
    with zipfile.ZipFile(io.BytesIO(bundle.get_data())) as archive:  # type: ignore[attr-defined]
        manifest = json.loads(archive.read("manifest.json"))
    assert [entry["uuid"] for entry in manifest["items"]] == [item_uuid]
    with instance.sessions() as db:
        assert db.scalars(select(Submission.bundled)).one() is True
    assert "not yet in a downloaded bundle" not in staff_client.get(
        f"/source/{source.uuid}"
    ).get_data(as_text=True)
    # Now that a bundle holding it was downloaded, it is no longer unread.
    assert bulk(staff_client, "download-unread", [source.uuid]).status_code == 404  # type: ignore[attr-defined]


def test_deleting_a_source_warns_about_items_never_bundled(
    staff_client: FlaskClient, instance: Instance
) -> None:
    source = make_source(instance, "unbundled")
    confirm = bulk(staff_client, "delete-source", [source.uuid])
    text = confirm.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "1 item was never in a downloaded transfer bundle" in text
    bulk(staff_client, "download-unread", [source.uuid])
    confirm = bulk(staff_client, "delete-source", [source.uuid])
    assert 'id="never-bundled"' not in confirm.get_data(as_text=True)  # type: ignore[attr-defined]
