"""The source page: items in order, downloads as stored, replies, marks, stars, deletion."""

import io
import json
import zipfile
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.deletion import delete_submission
from core.inbox import find_source
from core.instance import Instance
from core.models import AuditEntry, Reply, SeenSubmission, Source, Submission
from core.sources import derive_secrets
from crypto.reply_key import decrypt_with_reply_key
from server.cli import main
from tests.support.staff import SeededSource, StaffAccount, csrf_from, make_source

CHUNK = 256 * 1024


@pytest.fixture
def seeded(instance: Instance) -> SeededSource:
    return make_source(instance, "the first message", files=(("report.pdf", b"%PDF" * 300),))


def submissions(instance: Instance) -> list[Submission]:
    with instance.sessions() as db:
        rows = list(db.scalars(select(Submission).order_by(Submission.id)))
        for row in rows:
            _ = row.source.filesystem_id
            db.expunge(row)
        return rows


def stored_bytes(instance: Instance, item: Submission | Reply) -> bytes:
    return instance.store.path_of(item.source.filesystem_id, item.filename).read_bytes()


def post(client: FlaskClient, url: str, page: str, **data: object) -> object:
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_the_page_shows_items_in_order_with_download_links(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance
) -> None:
    html = staff_client.get(f"/source/{seeded.uuid}").get_data(as_text=True)
    names = [s.filename for s in submissions(instance)]
    assert names[0].startswith("1-")
    assert names[1].startswith("2-")
    assert html.index(names[0]) < html.index(names[1])
    assert f'/source/{seeded.uuid}/download/{names[1]}' in html
    assert "receipt" not in html


def test_download_gives_the_ciphertext_as_stored_and_logs_it(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance,
    staff_account: StaffAccount,
) -> None:
    doc = submissions(instance)[1]
    response = staff_client.get(f"/source/{seeded.uuid}/download/{doc.filename}")
    assert response.status_code == 200
    assert response.mimetype == "application/pgp-encrypted"
    assert f'filename="{doc.filename}"' in response.headers["Content-Disposition"]
    assert response.get_data() == stored_bytes(instance, doc)
    with instance.sessions() as db:
        entry = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert entry is not None
        assert (entry.actor, entry.action, entry.object, entry.ciphertext_sha256) == (
            staff_account.uuid, "download", doc.uuid, doc.sha256
        )
        assert db.scalar(select(Submission.downloaded).where(Submission.id == doc.id))
        assert db.scalar(select(func.count()).select_from(SeenSubmission)) == 1


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fetc%2Fpasswd",
        quote("../db.sqlite", safe=""),
        "1-x-msg.gpg%00.txt",
        "db.sqlite",
        "99-nobody-msg.gpg",
        "RECEIPT",
    ],
)
def test_path_tricks_in_download_names_get_404(
    staff_client: FlaskClient, seeded: SeededSource, name: str
) -> None:
    response = staff_client.get(f"/source/{seeded.uuid}/download/{name}")
    assert response.status_code == 404


def test_receipts_and_other_sources_files_are_not_downloadable_here(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance
) -> None:
    other = make_source(instance, "other")
    theirs = next(s for s in submissions(instance) if s.source.uuid == other.uuid)
    mine = submissions(instance)[0]
    assert staff_client.get(
        f"/source/{seeded.uuid}/download/{theirs.filename}").status_code == 404
    assert staff_client.get(
        f"/source/{seeded.uuid}/download/{mine.receipt_filename}").status_code == 404
    assert staff_client.get(
        f"/source/00000000-0000-0000-0000-000000000000/download/{mine.filename}"
    ).status_code == 404
    assert staff_client.get("/source/" + "a" * 400).status_code == 404


def test_an_item_deleted_while_it_downloads_still_arrives_whole(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance
) -> None:
    big = make_source(instance, None, files=(("video.mp4", b"\x00\x01" * (CHUNK * 2)),))
    doc = next(s for s in submissions(instance) if s.source.uuid == big.uuid)
    expected = stored_bytes(instance, doc)
    assert len(expected) > 2 * CHUNK
    response = staff_client.get(f"/source/{big.uuid}/download/{doc.filename}", buffered=False)
    chunks = iter(response.response)
    first = next(chunks)
    with instance.sessions() as db:
        row = db.get(Submission, doc.id)
        assert row is not None
        delete_submission(db, instance, row)
    rest = b"".join(chunks)
    response.close()
    assert first + rest == expected
    # Afterwards the item is gone: a clear 404, not a 500.
    after = staff_client.get(f"/source/{big.uuid}/download/{doc.filename}")
    assert after.status_code == 404


def test_an_item_deleted_between_lookup_and_open_gets_410(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance
) -> None:
    # The row is still there but its file was just unlinked by a concurrent deletion.
    doc = submissions(instance)[0]
    instance.store.path_of(doc.source.filesystem_id, doc.filename).unlink()
    response = staff_client.get(f"/source/{seeded.uuid}/download/{doc.filename}")
    assert response.status_code == 410
    assert "deleted while you were opening it" in response.get_data(as_text=True)


def test_a_reply_is_encrypted_for_the_source(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance,
    staff_account: StaffAccount,
) -> None:
    page = f"/source/{seeded.uuid}"
    response = post(staff_client, f"{page}/reply", page, message="Дякуємо. We read it.")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert "reply-sent" in response.headers["Location"]  # type: ignore[attr-defined]
    with instance.sessions() as db:
        reply = db.scalars(select(Reply)).one()
        ciphertext = stored_bytes(instance, reply)
        source = find_source(db, seeded.uuid)
        assert source is not None
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "reply")).one()
        assert (entry.object, entry.ciphertext_sha256, entry.actor) == (
            reply.uuid, reply.sha256, staff_account.uuid
        )
        wrapped = source.reply_key_wrapped
    assert b"We read it" not in ciphertext
    secrets = derive_secrets(instance, seeded.codename)
    [plain] = decrypt_with_reply_key(wrapped, secrets.wrap_key, [ciphertext],
                                     instance.settings.ram_dir)
    assert plain.decode() == "Дякуємо. We read it."
    html = staff_client.get(page).get_data(as_text=True)
    assert f"Reply by {staff_account.username}" in html


@pytest.mark.parametrize("message", ["", "   \n  "])
def test_an_empty_reply_is_refused_and_nothing_is_stored(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance, message: str
) -> None:
    page = f"/source/{seeded.uuid}"
    response = post(staff_client, f"{page}/reply", page, message=message)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "The reply is empty" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Reply)) == 0


def test_mark_seen_unseen_and_bundle_a_selection(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance
) -> None:
    page = f"/source/{seeded.uuid}"
    uuids = [s.uuid for s in submissions(instance)]
    post(staff_client, f"{page}/items", page, action="seen", item=uuids)
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(SeenSubmission)) == 2
    post(staff_client, f"{page}/items", page, action="unseen", item=uuids[:1])
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(SeenSubmission)) == 1
    response = post(staff_client, f"{page}/items", page, action="bundle", item=uuids[1:])
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "skrynka-bundle-" in response.headers["Content-Disposition"]  # type: ignore[attr-defined]
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:  # type: ignore[attr-defined]
        manifest = json.loads(archive.read("manifest.json"))
    assert [i["uuid"] for i in manifest["items"]] == uuids[1:]
    with instance.sessions() as db:
        bundled = db.scalars(select(AuditEntry).where(AuditEntry.action == "bundle")).one()
        assert bundled.object == uuids[1]


def test_bundle_of_an_item_deleted_meanwhile_gets_410(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance
) -> None:
    page = f"/source/{seeded.uuid}"
    doc = submissions(instance)[1]
    instance.store.path_of(doc.source.filesystem_id, doc.filename).unlink()
    response = post(staff_client, f"{page}/items", page, action="bundle", item=[doc.uuid])
    assert response.status_code == 410  # type: ignore[attr-defined]
    with instance.sessions() as db:
        assert db.scalars(select(AuditEntry).where(AuditEntry.action == "bundle")).all() == []


def flip_one_bit(instance: Instance, item: Submission) -> None:
    """Change a stored ciphertext in place, as a failing disk or an intruder would."""
    path = instance.store.path_of(item.source.filesystem_id, item.filename)
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01
    path.write_bytes(bytes(data))


def assert_refused_and_nothing_delivered(
    instance: Instance, item: Submission, action: str, staff_account: StaffAccount
) -> None:
    with instance.sessions() as db:
        entries = list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        refusals = [e for e in entries if e.action == action]
        assert [(e.actor, e.object, e.ciphertext_sha256) for e in refusals] == [
            (staff_account.uuid, item.uuid, item.sha256)
        ]
        assert refusals[0].detail is not None
        assert "found sha256" in refusals[0].detail
        assert not {"bundle", "download"} & {e.action for e in entries}
        assert not any(db.scalars(select(Submission.downloaded)))
        assert db.scalar(select(func.count()).select_from(SeenSubmission)) == 0
    assert main(["audit", "verify", "--data-dir", str(instance.settings.data_dir)]) == 0


def test_a_damaged_item_stops_the_bundle_with_a_page_naming_it(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance,
    staff_account: StaffAccount,
) -> None:
    page = f"/source/{seeded.uuid}"
    message, doc = submissions(instance)
    flip_one_bit(instance, doc)
    response = post(
        staff_client, f"{page}/items", page, action="bundle", item=[message.uuid, doc.uuid]
    )
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert response.mimetype == "text/html"  # type: ignore[attr-defined]
    assert "Content-Disposition" not in response.headers  # type: ignore[attr-defined]
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Damaged evidence: nothing was downloaded" in html
    assert "Nothing was downloaded" in html
    assert f"{doc.filename} from {seeded.designation} (item {doc.uuid})" in html
    assert message.filename not in html
    assert_refused_and_nothing_delivered(instance, doc, "bundle_refused", staff_account)


def test_a_damaged_item_is_not_downloaded_alone_either(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance,
    staff_account: StaffAccount,
) -> None:
    doc = submissions(instance)[1]
    flip_one_bit(instance, doc)
    response = staff_client.get(f"/source/{seeded.uuid}/download/{doc.filename}")
    assert response.status_code == 409
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    html = response.get_data(as_text=True)
    assert f"{doc.filename} from {seeded.designation} (item {doc.uuid})" in html
    assert_refused_and_nothing_delivered(instance, doc, "download_refused", staff_account)
    # Once the file is whole again (restored from a backup), it downloads as before.
    flip_one_bit(instance, doc)
    restored = staff_client.get(f"/source/{seeded.uuid}/download/{doc.filename}")
    assert restored.status_code == 200
    assert restored.get_data() == stored_bytes(instance, doc)


def test_star_from_the_source_page(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance
) -> None:
    page = f"/source/{seeded.uuid}"
    post(staff_client, f"{page}/star", page, starred="yes")
    with instance.sessions() as db:
        assert db.scalar(select(Source.is_starred))
    post(staff_client, f"{page}/star", page, starred="no")
    with instance.sessions() as db:
        assert not db.scalar(select(Source.is_starred))


def test_delete_items_conversation_and_source(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance
) -> None:
    page = f"/source/{seeded.uuid}"
    first = submissions(instance)[0]
    ask = post(staff_client, f"{page}/items", page, action="delete", item=[first.uuid])
    assert "Delete 1 item?" in ask.get_data(as_text=True)  # type: ignore[attr-defined]
    assert len(submissions(instance)) == 2
    post(staff_client, f"{page}/items", page, action="delete", item=[first.uuid], confirm="yes")
    assert [s.uuid for s in submissions(instance)] != []
    assert first.uuid not in [
        s.uuid for s in submissions(instance)
    ]
    post(staff_client, f"{page}/delete", page, what="data", confirm="yes")
    assert submissions(instance) == []
    fs_dir = instance.settings.store_dir
    done = post(staff_client, f"{page}/delete", page, what="source", confirm="yes")
    assert done.headers["Location"].startswith("/?notice=sources-deleted")  # type: ignore[attr-defined]
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Source)) == 0
    assert list(fs_dir.iterdir()) == []
    assert staff_client.get(page).status_code == 404
    bad = post(staff_client, "/source/nope/delete", "/", what="everything")
    assert bad.status_code == 404  # type: ignore[attr-defined]


def test_bad_item_actions(
    staff_client: FlaskClient, seeded: SeededSource, instance: Instance
) -> None:
    page = f"/source/{seeded.uuid}"
    assert post(staff_client, f"{page}/items", page, action="burn",
                item=["x"]).status_code == 400  # type: ignore[attr-defined]
    none = post(staff_client, f"{page}/items", page, action="seen", item=["not-an-item"])
    assert "nothing-selected" in none.headers["Location"]  # type: ignore[attr-defined]
    assert post(staff_client, f"{page}/delete", page,
                what="everything").status_code == 400  # type: ignore[attr-defined]
    # Without a CSRF token nothing happens.
    response = staff_client.post(f"{page}/delete", data={"what": "source", "confirm": "yes"})
    assert response.status_code == 400
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Source)) == 1
