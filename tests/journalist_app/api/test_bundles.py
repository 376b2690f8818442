"""POST /api/v1/bundle, and the check every download makes before sending a stored file."""

import hashlib
import io
import json
import zipfile
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.instance import Instance
from core.models import AuditEntry, Reply, SeenReply, SeenSubmission, Source, Submission
from server.cli import main
from tests.support.api import Seeded


def flip_one_bit(instance: Instance, item_uuid: str) -> tuple[str, str, str]:
    """Change a stored ciphertext in place; return its file name, designation and recorded hash."""
    with instance.sessions() as db:
        item: Submission | Reply | None = db.scalars(
            select(Submission).where(Submission.uuid == item_uuid)
        ).first() or db.scalars(select(Reply).where(Reply.uuid == item_uuid)).first()
        assert item is not None
        path = instance.store.path_of(item.source.filesystem_id, item.filename)
        found = (item.filename, item.source.journalist_designation, item.sha256)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return found


def delivery_state(instance: Instance) -> tuple[int, int, int]:
    with instance.sessions() as db:
        return (
            db.scalar(select(func.count()).where(Submission.downloaded)) or 0,
            db.scalar(select(func.count()).select_from(SeenSubmission)) or 0,
            db.scalar(select(func.count()).select_from(SeenReply)) or 0,
        )


def audit_actions(instance: Instance) -> list[tuple[str, str | None, str | None]]:
    with instance.sessions() as db:
        return [
            (e.action, e.object, e.ciphertext_sha256)
            for e in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]


def some_items(client: FlaskClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    submissions: list[dict[str, Any]] = client.get(
        "/api/v1/submissions", headers=auth
    ).get_json()["submissions"]
    return submissions


def test_a_bundle_of_chosen_items_is_a_signed_zip_and_audited(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    chosen = [s["uuid"] for s in some_items(client, auth)[:3]]
    response = client.post("/api/v1/bundle", headers=auth, json=chosen)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert sorted(i["uuid"] for i in manifest["items"]) == sorted(chosen)
    bundled = [u for action, u, _ in audit_actions(seeded.instance) if action == "bundle" and u]
    assert sorted(bundled) == sorted(chosen)


def test_a_damaged_item_refuses_the_bundle_as_json_naming_it(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    items = some_items(client, auth)
    chosen = [s["uuid"] for s in items[:3]]
    victim = chosen[1]
    filename, designation, recorded = flip_one_bit(seeded.instance, victim)
    before = delivery_state(seeded.instance)
    response = client.post("/api/v1/bundle", headers=auth, json=chosen)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "Conflict"
    assert body["message"].startswith("Nothing was downloaded")
    assert f"{filename} from {designation} (item {victim})" in body["message"]
    actions = audit_actions(seeded.instance)
    assert [a for a in actions if a[0] == "bundle_refused"] == [
        ("bundle_refused", victim, recorded)
    ]
    assert not [a for a in actions if a[0] == "bundle"]
    assert delivery_state(seeded.instance) == before
    assert main(["audit", "verify", "--data-dir", str(seeded.instance.settings.data_dir)]) == 0


def test_a_damaged_submission_or_reply_is_not_downloaded(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    submission = some_items(client, auth)[0]
    reply = client.get("/api/v1/replies", headers=auth).get_json()["replies"][0]
    reply_download = reply["reply_url"] + "/download"
    for item, url in ((submission, submission["download_url"]), (reply, reply_download)):
        filename, designation, recorded = flip_one_bit(seeded.instance, item["uuid"])
        response = client.get(url, headers=auth)
        assert response.status_code == 409
        assert "Etag" not in response.headers
        body = response.get_json()
        assert f"{filename} from {designation} (item {item['uuid']})" in body["message"]
        actions = audit_actions(seeded.instance)
        assert actions[-1] == ("download_refused", item["uuid"], recorded)
        assert ("download", item["uuid"], recorded) not in actions
        # A range request is refused too: no part of a damaged file is sent.
        part = client.get(url, headers={**auth, "Range": "bytes=0-9"})
        assert part.status_code == 409
    assert main(["audit", "verify", "--data-dir", str(seeded.instance.settings.data_dir)]) == 0


def test_a_bundle_may_hold_thousands_of_items(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    instance = seeded.instance
    with instance.sessions() as db:
        source = db.scalars(select(Source).order_by(Source.id)).first()
        assert source is not None
        folder = instance.settings.store_dir / source.filesystem_id
        rows = []
        # Written directly for setup speed; each file matches its row like a stored reply.
        for n in range(1000, 3500):
            data = f"tiny ciphertext {n}".encode()
            filename = f"{n}-{source.designation_file}-reply.gpg"
            (folder / filename).write_bytes(data)
            rows.append(Reply(source_id=source.id, filename=filename, size=len(data),
                              sha256=hashlib.sha256(data).hexdigest()))
        db.add_all(rows)
        db.commit()
        chosen = [r.uuid for r in rows]
    response = client.post("/api/v1/bundle", headers=auth, json=chosen)
    assert response.status_code == 200, response.get_json()
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.testzip() is None
    assert len(manifest["items"]) == 2500
