"""Submissions and replies: lists, downloads with Etag and Range, client-encrypted replies, seen."""

import hashlib
import json
import re
import subprocess
import uuid as uuid_module

from flask.testing import FlaskClient
from sqlalchemy import select

from core.models import AuditEntry, Journalist, Reply, SeenReply, SeenSubmission, Source
from tests.support.api import Seeded, source_uuids
from tests.support.keys import KeyPair

SUBMISSION_KEYS = {
    "uuid",
    "filename",
    "size",
    "is_file",
    "is_message",
    "is_read",
    "seen_by",
    "source_url",
    "submission_url",
    "download_url",
}
REPLY_KEYS = {
    "uuid",
    "filename",
    "size",
    "journalist_username",
    "journalist_first_name",
    "journalist_last_name",
    "journalist_uuid",
    "is_deleted_by_source",
    "seen_by",
    "source_url",
    "reply_url",
}


def encrypt_armored(text: str, *keys: str, home_parent) -> str:  # type: ignore[no-untyped-def]
    home = home_parent / f"gpg-{uuid_module.uuid4().hex[:8]}"
    home.mkdir(mode=0o700)
    recipients: list[str] = []
    for key in keys:
        key_file = home / f"{len(recipients)}.asc"
        key_file.write_text(key)
        recipients += ["--recipient-file", str(key_file)]
    return subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--armor",
            "--trust-model",
            "always",
            *recipients,
            "--encrypt",
        ],
        input=text.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()


def test_all_submissions_and_one_sources(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    everything = client.get("/api/v1/submissions", headers=auth).get_json()["submissions"]
    assert len(everything) == 12
    for item in everything:
        assert set(item) == SUBMISSION_KEYS
        source_uuid = item["source_url"].rsplit("/", 1)[1]
        assert item["submission_url"] == f"/api/v1/sources/{source_uuid}/submissions/{item['uuid']}"
        assert item["download_url"] == item["submission_url"] + "/download"
        assert item["is_file"] == item["filename"].endswith("-doc.gz.gpg")
        assert item["is_message"] == item["filename"].endswith("-msg.gpg")
        assert item["is_read"] == bool(item["seen_by"])
    # A few are unread: the newest submission of every second source.
    assert sum(not item["is_read"] for item in everything) == 2
    uuid = source_uuids(seeded.instance)[0]
    own = client.get(f"/api/v1/sources/{uuid}/submissions", headers=auth).get_json()["submissions"]
    assert [s["filename"].split("-")[0] for s in own] == ["1", "2", "4", "5"]
    one = client.get(own[0]["submission_url"], headers=auth)
    assert one.status_code == 200
    assert one.get_json() == own[0]
    assert client.get("/api/v1/sources/nope/submissions", headers=auth).status_code == 404
    other = source_uuids(seeded.instance)[1]
    elsewhere = client.get(f"/api/v1/sources/{other}/submissions/{own[0]['uuid']}", headers=auth)
    assert elsewhere.status_code == 404


def test_download_is_the_stored_ciphertext_with_etag_and_ranges(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str], submission_keypair: KeyPair
) -> None:
    submissions = client.get("/api/v1/submissions", headers=auth).get_json()["submissions"]
    item = next(s for s in submissions if s["is_file"])
    response = client.get(item["download_url"], headers=auth)
    assert response.status_code == 200
    body = response.get_data()
    assert response.mimetype == "application/pgp-encrypted"
    assert len(body) == item["size"]
    assert ("Etag", f"sha256:{hashlib.sha256(body).hexdigest()}") in list(response.headers.items())
    assert "Set-Cookie" not in response.headers
    decrypted = subprocess.run(
        ["gpg", "--homedir", str(submission_keypair.secret_home), "--batch", "--decrypt"],
        input=body,
        capture_output=True,
        check=True,
    ).stdout
    assert decrypted[:2] == b"\x1f\x8b"  # a file is a gzip stream inside the ciphertext
    part = client.get(item["download_url"], headers={**auth, "Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.get_data() == body[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(body)}"
    assert part.headers["Etag"] == response.headers["Etag"]
    # Downloading does not mark it seen (the SDK calls /seen for that); it is audited.
    again = client.get(item["submission_url"], headers=auth).get_json()
    assert again["seen_by"] == item["seen_by"]
    with seeded.instance.sessions() as db:
        audited = [(e.action, e.object) for e in db.scalars(select(AuditEntry))]
    assert ("download", item["uuid"]) in audited


def test_download_of_a_file_missing_from_the_store_is_a_json_404(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    item = client.get("/api/v1/submissions", headers=auth).get_json()["submissions"][0]
    with seeded.instance.sessions() as db:
        source = db.scalars(
            select(Source).where(Source.uuid == item["source_url"].rsplit("/", 1)[1])
        ).one()
        (seeded.instance.settings.store_dir / source.filesystem_id / item["filename"]).unlink()
    response = client.get(item["download_url"], headers=auth)
    assert response.status_code == 404
    assert response.get_json()["error"] == "Not Found"


def test_replies_list_show_download_and_delete(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    replies = client.get("/api/v1/replies", headers=auth).get_json()["replies"]
    assert len(replies) == 6
    for reply in replies:
        assert set(reply) == REPLY_KEYS
        assert reply["filename"].endswith("-reply.gpg")
        assert reply["journalist_username"] in ("journalist", "dellsberg")
        assert reply["seen_by"] == [reply["journalist_uuid"]]
    uuid = source_uuids(seeded.instance)[0]
    own = client.get(f"/api/v1/sources/{uuid}/replies", headers=auth).get_json()["replies"]
    assert len(own) == 2
    one = client.get(own[0]["reply_url"], headers=auth)
    assert one.get_json() == own[0]
    download = client.get(own[0]["reply_url"] + "/download", headers=auth)
    assert download.status_code == 200
    assert download.headers["Etag"] == "sha256:" + hashlib.sha256(download.get_data()).hexdigest()
    deleted = client.delete(own[0]["reply_url"], headers=auth)
    assert deleted.get_json() == {"message": "Reply deleted"}
    assert client.get(own[0]["reply_url"], headers=auth).status_code == 404
    assert client.get(own[0]["reply_url"] + "/download", headers=auth).status_code == 404


def test_a_deleted_authors_replies_show_a_placeholder(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    from core.staff_accounts import delete_journalist

    with seeded.instance.sessions() as db:
        delete_journalist(
            db, db.scalars(select(Journalist).where(Journalist.username == "dellsberg")).one()
        )
        db.commit()
    replies = client.get("/api/v1/replies", headers=auth).get_json()["replies"]
    placeholders = [r for r in replies if r["journalist_username"] == "deleted"]
    assert len(placeholders) == 3
    assert all(
        r["journalist_uuid"] == "deleted" and r["journalist_first_name"] is None
        for r in placeholders
    )


def test_post_reply_stores_the_armored_message_as_sent(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str], submission_keypair: KeyPair, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    source = client.get("/api/v1/sources", headers=auth).get_json()["sources"][0]
    armored = encrypt_armored(
        "hello from a client",
        source["key"]["public"],
        submission_keypair.public_armored,
        home_parent=tmp_path,
    )
    chosen = str(uuid_module.uuid4())
    response = client.post(
        source["replies_url"], data=json.dumps({"reply": armored, "uuid": chosen}), headers=auth
    )
    assert response.status_code == 201
    document = response.get_json()
    assert document["message"] == "Your reply has been stored"
    assert document["uuid"] == chosen
    assert re.fullmatch(
        rf"7-{source['journalist_designation'].replace(' ', '_')}-reply\.gpg", document["filename"]
    )
    with seeded.instance.sessions() as db:
        reply = db.scalars(select(Reply).where(Reply.uuid == chosen)).one()
        stored = (
            seeded.instance.settings.store_dir / reply.source.filesystem_id / reply.filename
        ).read_bytes()
        assert db.scalars(select(SeenReply).where(SeenReply.reply_id == reply.id)).one()
        assert ("reply", chosen) in [(e.action, e.object) for e in db.scalars(select(AuditEntry))]
    assert stored == armored.encode()
    decrypted = subprocess.run(
        ["gpg", "--homedir", str(submission_keypair.secret_home), "--batch", "--decrypt"],
        input=stored,
        capture_output=True,
        check=True,
    ).stdout
    assert decrypted == b"hello from a client"
    listed = client.get(f"{source['replies_url']}/{chosen}", headers=auth).get_json()
    assert listed["size"] == len(armored.encode())
    assert client.get(source["url"], headers=auth).get_json()["interaction_count"] == 7
    # The same uuid again is a conflict, and nothing new is stored.
    conflict = client.post(
        source["replies_url"], data=json.dumps({"reply": armored, "uuid": chosen}), headers=auth
    )
    assert conflict.status_code == 409
    assert conflict.get_json() == {"error": "Conflict", "message": "That UUID is already in use."}
    assert client.get(source["url"], headers=auth).get_json()["interaction_count"] == 7


def test_post_reply_refusals_change_nothing(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    source = client.get("/api/v1/sources", headers=auth).get_json()["sources"][0]
    armored = "-----BEGIN PGP MESSAGE-----\n\nhQEMA...\n-----END PGP MESSAGE-----\n"
    cases = [
        ({"reply": "plain text, not encrypted"}, "You must encrypt replies client side"),
        ({"reply": " -----BEGIN PGP MESSAGE-----\n"}, "You must encrypt replies client side"),
        ({"reply": ""}, "reply not found in request body"),
        ({}, "reply not found in request body"),
        ({"reply": 5}, None),
        ({"reply": armored, "uuid": "not-a-uuid"}, "'uuid' was not a valid UUID"),
        ({"reply": armored, "uuid": 12}, "'uuid' was not a valid UUID"),
        # The armor lines alone are not enough: gpg must find a message to both keys inside.
        ({"reply": armored}, None),
    ]
    for body, message in cases:
        response = client.post(source["replies_url"], data=json.dumps(body), headers=auth)
        assert response.status_code == 400, body
        assert response.get_json()["error"] == "Bad Request"
        if message is not None:
            assert response.get_json()["message"] == message
    assert client.post(source["replies_url"], data=b"{", headers=auth).status_code == 400
    missing = client.post(
        "/api/v1/sources/nope/replies", data=json.dumps({"reply": armored}), headers=auth
    )
    assert missing.status_code == 404
    assert client.get(source["url"], headers=auth).get_json()["interaction_count"] == 6
    taken = client.get("/api/v1/submissions", headers=auth).get_json()["submissions"][0]["uuid"]
    clash = client.post(
        source["replies_url"], data=json.dumps({"reply": armored, "uuid": taken}), headers=auth
    )
    assert clash.status_code == 409


def test_seen_marks_files_messages_and_replies_all_or_nothing(
    client: FlaskClient, seeded: Seeded
) -> None:
    from tests.support.api import issue_token

    auth = {"Authorization": f"Token {issue_token(seeded.instance, 'dellsberg')}"}
    submissions = client.get("/api/v1/submissions", headers=auth).get_json()["submissions"]
    files = [s["uuid"] for s in submissions if s["is_file"]][:2]
    messages = [s["uuid"] for s in submissions if s["is_message"]][:2]
    replies = [r["uuid"] for r in client.get("/api/v1/replies", headers=auth).get_json()["replies"]]
    bad = [
        ({"files": [], "messages": [], "replies": []}, 400),
        ({}, 400),
        ({"files": messages[:1]}, 404),
        ({"messages": files[:1]}, 404),
        ({"files": files, "replies": [str(uuid_module.uuid4())]}, 404),
        ({"files": "not-a-list"}, 400),
    ]
    with seeded.instance.sessions() as db:
        before = (
            len(db.scalars(select(SeenSubmission)).all()),
            len(db.scalars(select(SeenReply)).all()),
        )
    for body, status in bad:
        response = client.post("/api/v1/seen", data=json.dumps(body), headers=auth)
        assert response.status_code == status, body
        assert "error" in response.get_json()
    with seeded.instance.sessions() as db:
        after = (
            len(db.scalars(select(SeenSubmission)).all()),
            len(db.scalars(select(SeenReply)).all()),
        )
    assert after == before
    ok = client.post(
        "/api/v1/seen",
        data=json.dumps({"files": files, "messages": messages, "replies": replies}),
        headers=auth,
    )
    assert ok.status_code == 200
    assert ok.get_json() == {"message": "resources marked seen"}
    me = client.get("/api/v1/user", headers=auth).get_json()["uuid"]
    for item in client.get("/api/v1/submissions", headers=auth).get_json()["submissions"]:
        if item["uuid"] in files + messages:
            assert me in item["seen_by"]
            assert item["is_read"] is True
    assert all(
        me in r["seen_by"]
        for r in client.get("/api/v1/replies", headers=auth).get_json()["replies"]
    )
    # Marking again is harmless.
    assert (
        client.post("/api/v1/seen", data=json.dumps({"files": files}), headers=auth).status_code
        == 200
    )


def test_delete_submission_removes_row_file_and_receipt(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    item = client.get("/api/v1/submissions", headers=auth).get_json()["submissions"][0]
    with seeded.instance.sessions() as db:
        source = db.scalars(
            select(Source).where(Source.uuid == item["source_url"].rsplit("/", 1)[1])
        ).one()
        directory = seeded.instance.settings.store_dir / source.filesystem_id
    number = item["filename"].split("-")[0]
    assert len([p for p in directory.iterdir() if p.name.startswith(f"{number}-")]) == 2
    response = client.delete(item["submission_url"], headers=auth)
    assert response.get_json() == {"message": "Submission deleted"}
    assert [p for p in directory.iterdir() if p.name.startswith(f"{number}-")] == []
    assert client.get(item["submission_url"], headers=auth).status_code == 404
    assert client.delete(item["submission_url"], headers=auth).status_code == 404
