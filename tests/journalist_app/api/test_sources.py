"""Sources through the API: every key the clients need, the real reply key, stars, deletion."""

import re
import subprocess
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from core.models import AuditEntry, Reply, Source, Submission
from tests.support.api import Seeded, source_uuids

SOURCE_KEYS = {
    "uuid",
    "url",
    "journalist_designation",
    "is_flagged",
    "is_starred",
    "last_updated",
    "interaction_count",
    "key",
    "number_of_documents",
    "number_of_messages",
    "submissions_url",
    "add_star_url",
    "remove_star_url",
    "replies_url",
}
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def test_sources_have_every_key_and_the_sources_real_reply_key(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str], tmp_path: Path
) -> None:
    response = client.get("/api/v1/sources", headers=auth)
    assert response.status_code == 200
    sources = response.get_json()["sources"]
    assert len(sources) == 3
    with seeded.instance.sessions() as db:
        rows = {s.uuid: s for s in db.scalars(select(Source))}
    for source in sources:
        assert set(source) == SOURCE_KEYS
        row = rows[source["uuid"]]
        assert source["url"] == f"/api/v1/sources/{row.uuid}"
        assert source["submissions_url"] == f"/api/v1/sources/{row.uuid}/submissions"
        assert source["replies_url"] == f"/api/v1/sources/{row.uuid}/replies"
        assert source["add_star_url"] == f"/api/v1/sources/{row.uuid}/add_star"
        assert source["remove_star_url"] == f"/api/v1/sources/{row.uuid}/remove_star"
        assert source["journalist_designation"] == row.journalist_designation
        assert re.fullmatch(r"[a-z]+ [a-z]+", source["journalist_designation"])
        assert source["is_flagged"] is False
        assert DATETIME.fullmatch(source["last_updated"])
        assert source["interaction_count"] == 6
        assert (source["number_of_documents"], source["number_of_messages"]) == (2, 2)
        assert source["key"]["type"] == "PGP"
        assert source["key"]["fingerprint"] == row.reply_key_fingerprint
        assert source["key"]["public"] == row.reply_key_public
    # The key is a real OpenPGP public key whose fingerprint is the one given.
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    imported = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--import"],
        input=sources[0]["key"]["public"].encode(),
        capture_output=True,
        check=True,
    )
    assert imported.returncode == 0
    listing = subprocess.run(
        ["gpg", "--homedir", str(home), "--with-colons", "--list-keys"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert f"fpr:::::::::{sources[0]['key']['fingerprint']}:" in listing


def test_one_source_and_unknown_uuid(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    uuid = source_uuids(seeded.instance)[0]
    response = client.get(f"/api/v1/sources/{uuid}", headers=auth)
    assert response.status_code == 200
    assert response.get_json()["uuid"] == uuid
    missing = client.get("/api/v1/sources/not-a-source", headers=auth)
    assert missing.status_code == 404
    assert missing.get_json()["error"] == "Not Found"


def test_pending_sources_are_not_listed(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    uuid = source_uuids(seeded.instance)[0]
    with seeded.instance.sessions() as db:
        db.scalars(select(Source).where(Source.uuid == uuid)).one().pending = True
        db.commit()
    listed = [s["uuid"] for s in client.get("/api/v1/sources", headers=auth).get_json()["sources"]]
    assert uuid not in listed
    assert client.get(f"/api/v1/sources/{uuid}", headers=auth).status_code == 404


def test_star_and_unstar(client: FlaskClient, seeded: Seeded, auth: dict[str, str]) -> None:
    uuid = source_uuids(seeded.instance)[1]
    added = client.post(f"/api/v1/sources/{uuid}/add_star", headers=auth)
    assert added.status_code == 201
    assert added.get_json() == {"message": "Star added"}
    assert client.get(f"/api/v1/sources/{uuid}", headers=auth).get_json()["is_starred"] is True
    removed = client.delete(f"/api/v1/sources/{uuid}/remove_star", headers=auth)
    assert removed.status_code == 200
    assert removed.get_json() == {"message": "Star removed"}
    assert client.get(f"/api/v1/sources/{uuid}", headers=auth).get_json()["is_starred"] is False
    with seeded.instance.sessions() as db:
        entries = [(e.action, e.object, e.detail) for e in db.scalars(select(AuditEntry))]
    assert ("star", uuid, "api") in entries
    assert ("unstar", uuid, "api") in entries
    assert client.post("/api/v1/sources/nope/add_star", headers=auth).status_code == 404


def test_flag_is_accepted_and_changes_nothing(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    uuid = source_uuids(seeded.instance)[0]
    before = client.get(f"/api/v1/sources/{uuid}", headers=auth).get_json()
    flagged = client.post(f"/api/v1/sources/{uuid}/flag", headers=auth)
    assert flagged.status_code == 200
    assert "message" in flagged.get_json()
    assert client.get(f"/api/v1/sources/{uuid}", headers=auth).get_json() == before
    assert client.post("/api/v1/sources/nope/flag", headers=auth).status_code == 404


def test_delete_conversation_keeps_the_source(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    uuid = source_uuids(seeded.instance)[0]
    with seeded.instance.sessions() as db:
        source = db.scalars(select(Source).where(Source.uuid == uuid)).one()
        directory = seeded.instance.settings.store_dir / source.filesystem_id
    assert len(list(directory.iterdir())) == 10  # 4 submissions, 4 receipts, 2 replies
    response = client.delete(f"/api/v1/sources/{uuid}/conversation", headers=auth)
    assert response.status_code == 200
    assert response.get_json() == {"message": "Source data deleted"}
    source_json = client.get(f"/api/v1/sources/{uuid}", headers=auth).get_json()
    assert (source_json["number_of_documents"], source_json["number_of_messages"]) == (0, 0)
    assert client.get(f"/api/v1/sources/{uuid}/replies", headers=auth).get_json() == {"replies": []}
    assert list(directory.iterdir()) == []


def test_delete_source_removes_everything(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    uuid = source_uuids(seeded.instance)[2]
    with seeded.instance.sessions() as db:
        source = db.scalars(select(Source).where(Source.uuid == uuid)).one()
        source_id, directory = source.id, seeded.instance.settings.store_dir / source.filesystem_id
    response = client.delete(f"/api/v1/sources/{uuid}", headers=auth)
    assert response.status_code == 200
    assert response.get_json() == {"message": "Source and submissions deleted"}
    assert client.get(f"/api/v1/sources/{uuid}", headers=auth).status_code == 404
    assert not directory.exists()
    with seeded.instance.sessions() as db:
        assert db.scalars(select(Submission).where(Submission.source_id == source_id)).all() == []
        assert db.scalars(select(Reply).where(Reply.source_id == source_id)).all() == []
        assert ("delete_source", uuid) in [
            (e.action, e.object) for e in db.scalars(select(AuditEntry))
        ]
    again = client.delete(f"/api/v1/sources/{uuid}", headers=auth)
    assert again.status_code == 404


def test_pagination_extension(client: FlaskClient, seeded: Seeded, auth: dict[str, str]) -> None:
    everything = client.get("/api/v1/sources", headers=auth).get_json()
    assert "pagination" not in everything
    uuids = [s["uuid"] for s in everything["sources"]]
    first = client.get("/api/v1/sources?page=1&per_page=2", headers=auth).get_json()
    second = client.get("/api/v1/sources?page=2&per_page=2", headers=auth).get_json()
    assert [s["uuid"] for s in first["sources"] + second["sources"]] == uuids
    assert first["pagination"] == {"page": 1, "per_page": 2, "total": 3}
    beyond = client.get("/api/v1/sources?page=9&per_page=2", headers=auth).get_json()
    assert beyond["sources"] == []
    for bad in ("page=0", "page=-1", "per_page=1001", "page=abc", "per_page=", "page=1.5"):
        response = client.get(f"/api/v1/sources?{bad}", headers=auth)
        assert response.status_code == 400, bad
        assert response.get_json()["error"] == "Bad Request"
