"""The server keeps only what the workstation has not confirmed: acknowledgements end to end.

A real workstation store imports a bundle written by the server's own code, signs an
acknowledgement with `skrynka-workstation acknowledge`, and staff upload it through the web
interface and the API of the real journalist app. Exactly the acknowledged ciphertexts leave
disk and database; the audit log says so and still verifies. Partial, altered, foreign-signed
and replayed acknowledgements delete nothing they should not.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.audit import AuditLog, verify_audit_log
from core.audit_actions import AuditAction
from core.bundle import write_bundle
from core.instance import Instance
from core.models import AuditEntry, Journalist, Submission
from core.retention import delete_expired, holdings
from crypto.signing import Signer, generate_signing_seed
from crypto.submission_key import export_secret_key
from formats.acknowledgement import (
    AcknowledgedItem,
    Acknowledgement,
    encode_acknowledgement,
    encode_signed_acknowledgement,
    parse_signed_acknowledgement,
)
from journalist_app import create_app
from server.cli import main as skrynka
from tests.support.api import issue_token
from tests.support.keys import KeyPair
from tests.support.staff import csrf_from, make_source, make_staff_account
from tests.support.workstation import Workstation
from workstation.keys import load_workstation_signer
from workstation.store import open_store


@dataclass
class Scene:
    instance: Instance
    workstation: Workstation
    tmp: Path

    def submissions(self) -> list[Submission]:
        with self.instance.sessions() as db:
            return list(db.scalars(select(Submission).order_by(Submission.id)))

    def ciphertext_paths(self, submissions: list[Submission]) -> list[Path]:
        paths = []
        with self.instance.sessions() as db:
            for submission in submissions:
                row = db.get(Submission, submission.id)
                assert row is not None
                for name in filter(None, (row.filename, row.receipt_filename)):
                    paths.append(self.instance.store.path_of(row.source.filesystem_id, name))
        return paths

    def import_and_acknowledge(self, submissions: list[Submission], name: str) -> Path:
        """Bundle these submissions on the server, import them, write the acknowledgement."""
        bundle = self.tmp / f"{name}.zip"
        with self.instance.sessions() as db, bundle.open("wb") as handle:
            rows = [db.get(Submission, s.id) for s in submissions]
            write_bundle(db, self.instance, [r for r in rows if r is not None], handle)
        code, out, err = self.workstation.run("import", str(bundle))
        assert code == 0, out + err
        manifest = out.split("(manifest ")[1][:16]
        ack = self.tmp / f"{name}.ack.json"
        code, out, err = self.workstation.run(
            "acknowledge", "--bundle", manifest, "--out", str(ack)
        )
        assert code == 0, out + err
        assert f"{len(submissions)} item(s)" in out
        return ack

    def audit_actions(self) -> list[tuple[str, str | None]]:
        with self.instance.sessions() as db:
            return [(e.action, e.object) for e in db.scalars(select(AuditEntry))]

    def audit_verifies(self) -> bool:
        with self.instance.sessions() as db:
            return verify_audit_log(db, self.instance.signer.public_key).ok


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short path: the store's gpg-agent socket must fit the 107-byte Unix socket limit."""
    path = Path(tempfile.mkdtemp(prefix="ska-"))
    yield path
    for directory, _dirs, _files in os.walk(path):
        os.chmod(directory, 0o700)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def scene(
    instance: Instance,
    submission_keypair: KeyPair,
    tmp_path: Path,
    short_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Scene]:
    """Two sources' submissions on the server, a workstation whose key the server pins."""
    make_source(instance, "First source: the list of names.", files=(("names.txt", b"A\nB\n"),))
    make_source(instance, "Second source: the video follows.")
    secret = tmp_path / "secret.asc"
    secret.write_bytes(
        export_secret_key(submission_keypair.secret_home, submission_keypair.fingerprint)
    )
    server_key = tmp_path / "server.pub"
    server_key.write_bytes(base64.b64encode(instance.signer.public_key))
    workstation = Workstation(short_dir / "evidence", capsys)
    code, out, err = workstation.run(
        "init", "--secret-key", str(secret), "--server-key", str(server_key)
    )
    assert code == 0, out + err
    try:
        public = tmp_path / "workstation.pub"
        code, out, err = workstation.run("public-key", "--out", str(public))
        assert code == 0, out + err
        data_dir = str(instance.settings.data_dir)
        assert skrynka(["workstation-key", "set", "--data-dir", data_dir, str(public)]) == 0
        assert "Pinned workstation key" in capsys.readouterr().out
        yield Scene(instance, workstation, tmp_path)
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", str(workstation.store / "gnupg"), "--kill", "gpg-agent"],
            check=False,
        )


def upload_web(client: FlaskClient, data: bytes) -> tuple[int, str]:
    page = client.get("/acknowledgements")
    assert page.status_code == 200
    response = client.post(
        "/acknowledgements",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "acknowledgement": (io.BytesIO(data), "ack.json"),
        },
        content_type="multipart/form-data",
    )
    return response.status_code, response.get_data(as_text=True)


def upload_api(instance: Instance, data: bytes) -> tuple[int, dict[str, object]]:
    with instance.sessions() as db:
        exists = db.scalar(select(Journalist).where(Journalist.username == "api-user"))
    if exists is None:
        make_staff_account(instance, "api-user")
    client = create_app(instance=instance).test_client()
    response = client.post(
        "/api/v1/acknowledgements",
        data=data,
        headers={"Authorization": f"Token {issue_token(instance, 'api-user')}"},
        content_type="application/json",
    )
    return response.status_code, response.get_json()


def signed_by(signer: Signer, ack: Acknowledgement) -> bytes:
    return encode_signed_acknowledgement(ack, signer.sign(encode_acknowledgement(ack)))


def workstation_signer(scene: Scene) -> Signer:
    return load_workstation_signer(open_store(scene.workstation.store))


# --- the whole way, web and API ---


def test_web_upload_deletes_exactly_the_acknowledged_ciphertexts(
    scene: Scene, staff_client: FlaskClient
) -> None:
    everything = scene.submissions()
    first_source = [s for s in everything if s.source_id == everything[0].source_id]
    kept = [s for s in everything if s.source_id != everything[0].source_id]
    paths = scene.ciphertext_paths(first_source)
    kept_paths = scene.ciphertext_paths(kept)
    assert all(p.exists() for p in paths)
    ack = scene.import_and_acknowledge(first_source, "first")

    status, html = upload_web(staff_client, ack.read_bytes())

    assert status == 200, html
    assert html.count("deleted from the server") == len(first_source)
    assert not any(p.exists() for p in paths)
    assert all(p.exists() for p in kept_paths)
    assert [s.uuid for s in scene.submissions()] == [s.uuid for s in kept]
    actions = scene.audit_actions()
    for submission in first_source:
        assert (AuditAction.ACKNOWLEDGE.value, submission.uuid) in actions
        assert (AuditAction.DELETE_ACKNOWLEDGED.value, submission.uuid) in actions
    assert scene.audit_verifies()
    # The workstation's custody log records that it acknowledged, and still verifies.
    code, out, err = scene.workstation.run("custody", "verify")
    assert code == 0, out + err
    code, out, _ = scene.workstation.run("custody", "show")
    assert " acknowledge " in out


def test_api_upload_deletes_and_reports_each_item(scene: Scene) -> None:
    everything = scene.submissions()
    paths = scene.ciphertext_paths(everything)
    ack = scene.import_and_acknowledge(everything, "all")

    status, body = upload_api(scene.instance, ack.read_bytes())

    assert status == 200, body
    assert isinstance(body, dict)
    assert isinstance(body["items"], list)
    assert {i["outcome"] for i in body["items"]} == {"deleted"}
    assert {i["uuid"] for i in body["items"]} == {s.uuid for s in everything}
    assert scene.submissions() == []
    assert not any(p.exists() for p in paths)
    assert scene.audit_verifies()


def test_a_replayed_acknowledgement_changes_nothing(
    scene: Scene, staff_client: FlaskClient
) -> None:
    everything = scene.submissions()
    ack = scene.import_and_acknowledge(everything[:1], "one").read_bytes()
    assert upload_web(staff_client, ack)[0] == 200
    before = scene.audit_actions()

    status, body = upload_api(scene.instance, ack)

    assert status == 200
    assert isinstance(body, dict)
    assert isinstance(body["items"], list)
    assert [i["outcome"] for i in body["items"]] == ["unknown"]
    assert [s.uuid for s in scene.submissions()] == [s.uuid for s in everything[1:]]
    deletions = [a for a in scene.audit_actions() if a[0] == "delete_acknowledged"]
    assert deletions == [a for a in before if a[0] == "delete_acknowledged"]


# --- what must delete nothing ---


def test_unknown_and_mismatching_items_are_reported_and_left_alone(scene: Scene) -> None:
    first, second, third = scene.submissions()
    ack = Acknowledgement(
        bundle_manifest_sha256="e" * 64,
        workstation_key=workstation_signer(scene).fingerprint,
        acknowledged_at=datetime.now(UTC),
        items=(
            AcknowledgedItem(first.uuid, first.sha256),
            AcknowledgedItem(second.uuid, "0" * 64),
            AcknowledgedItem("9f1c2b7e-0000-4000-8000-000000000000", third.sha256),
        ),
    )

    status, body = upload_api(scene.instance, signed_by(workstation_signer(scene), ack))

    assert status == 200
    assert isinstance(body, dict)
    assert isinstance(body["items"], list)
    assert [i["outcome"] for i in body["items"]] == ["deleted", "hash_mismatch", "unknown"]
    assert [s.uuid for s in scene.submissions()] == [second.uuid, third.uuid]
    assert all(p.exists() for p in scene.ciphertext_paths([second, third]))


def test_an_altered_acknowledgement_deletes_nothing(
    scene: Scene, staff_client: FlaskClient
) -> None:
    everything = scene.submissions()
    ack = scene.import_and_acknowledge(everything[:1], "one")
    document = json.loads(ack.read_bytes())
    # A stolen token's owner adds an item the workstation never signed.
    document["acknowledgement"]["items"].append(
        {"uuid": everything[1].uuid, "ciphertext_sha256": everything[1].sha256}
    )
    forged = json.dumps(document).encode()

    status, html = upload_web(staff_client, forged)

    assert status == 400
    assert "forged" in html
    assert "Nothing was deleted" in html
    assert len(scene.submissions()) == len(everything)
    assert (AuditAction.ACKNOWLEDGEMENT_REFUSED.value, None) in scene.audit_actions()
    assert scene.audit_verifies()


def test_an_acknowledgement_signed_by_another_key_deletes_nothing(scene: Scene) -> None:
    everything = scene.submissions()
    other = Signer(generate_signing_seed())
    items = tuple(AcknowledgedItem(s.uuid, s.sha256) for s in everything)
    for claimed_key in (other.fingerprint, workstation_signer(scene).fingerprint):
        ack = Acknowledgement("e" * 64, claimed_key, datetime.now(UTC), items)
        status, body = upload_api(scene.instance, signed_by(other, ack))
        assert status == 400, body
        assert isinstance(body, dict)
        assert "Nothing was deleted" in str(body["message"])
    assert len(scene.submissions()) == len(everything)


def test_garbage_and_a_missing_file_are_refused_clearly(
    scene: Scene, staff_client: FlaskClient
) -> None:
    status, html = upload_web(staff_client, b"\x00\xffnot an acknowledgement")
    assert status == 400
    assert "not a UTF-8 JSON object" in html
    page = staff_client.get("/acknowledgements")
    response = staff_client.post(
        "/acknowledgements", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    assert response.status_code == 400
    assert "Choose the acknowledgement file" in response.get_data(as_text=True)
    no_csrf = staff_client.post(
        "/acknowledgements",
        data={"acknowledgement": (io.BytesIO(b"{}"), "a.json")},
        content_type="multipart/form-data",
    )
    assert no_csrf.status_code == 400
    assert len(scene.submissions()) == 3


def test_without_a_pinned_key_nothing_is_deleted(scene: Scene) -> None:
    ack = scene.import_and_acknowledge(scene.submissions(), "all").read_bytes()
    scene.instance.settings.workstation_key_path.unlink()
    status, body = upload_api(scene.instance, ack)
    assert status == 409
    assert isinstance(body, dict)
    assert "skrynka workstation-key set" in str(body["message"])
    assert len(scene.submissions()) == 3


# --- retention ---


def test_with_a_retention_period_items_wait_then_go(scene: Scene) -> None:
    settings = dataclasses.replace(scene.instance.settings, retention_days=7)
    waiting = dataclasses.replace(scene.instance, settings=settings)
    scene.instance = waiting
    everything = scene.submissions()
    ack = scene.import_and_acknowledge(everything[:2], "two")

    status, body = upload_api(waiting, ack.read_bytes())

    assert status == 200
    assert isinstance(body, dict)
    assert isinstance(body["items"], list)
    assert {i["outcome"] for i in body["items"]} == {"held"}
    with waiting.sessions() as db:
        held = holdings(db)
    assert held.count == 1
    assert held.bytes == everything[2].size + (everything[2].receipt_size or 0)
    audit = AuditLog(waiting.signer)
    with waiting.sessions() as db:
        now = datetime.now(UTC)
        assert delete_expired(db, waiting, audit, actor="console", now=now) == 0
        assert delete_expired(db, waiting, audit, actor="console", now=now + timedelta(days=8)) == 2
    assert [s.uuid for s in scene.submissions()] == [everything[2].uuid]
    assert scene.audit_verifies()
    # A replay after that finds nothing to do.
    status, body = upload_api(waiting, ack.read_bytes())
    assert isinstance(body, dict)
    assert isinstance(body["items"], list)
    assert {i["outcome"] for i in body["items"]} == {"unknown"}


def test_admin_page_shows_what_is_not_acknowledged(
    scene: Scene, admin_client: FlaskClient
) -> None:
    everything = scene.submissions()
    html = admin_client.get("/admin/settings").get_data(as_text=True)
    assert f'id="unacknowledged-count">{len(everything)}<' in html
    total = sum(s.size + (s.receipt_size or 0) for s in everything)
    assert f'id="unacknowledged-bytes">{total}<' in html
    assert 'id="workstation-fingerprint"' in html
    ack = scene.import_and_acknowledge(everything, "all")
    assert upload_web(admin_client, ack.read_bytes())[0] == 200
    html = admin_client.get("/admin/settings").get_data(as_text=True)
    assert 'id="unacknowledged-count">0<' in html


def test_the_acknowledgement_file_is_what_the_workstation_signed(scene: Scene) -> None:
    ack = scene.import_and_acknowledge(scene.submissions(), "all")
    parsed = parse_signed_acknowledgement(ack.read_bytes())
    signer = workstation_signer(scene)
    assert parsed.acknowledgement.workstation_key == signer.fingerprint
    assert parsed.signature == signer.sign(parsed.signed_bytes)


def test_the_pages_speak_belarusian_and_russian(
    scene: Scene, admin_client: FlaskClient
) -> None:
    page = admin_client.get("/acknowledgements?l=be").get_data(as_text=True)
    assert "<h1>Пацвярджэнні</h1>" in page
    assert "сервер адразу выдаліць менавіта тое дасланае" in page
    ack = scene.import_and_acknowledge(scene.submissions()[:1], "one")
    status, html = upload_web(admin_client, ack.read_bytes())
    assert status == 200
    assert "выдалена з сервера" in html
    settings = admin_client.get("/admin/settings?l=ru").get_data(as_text=True)
    assert "<h2>Хранение</h2>" in settings
    assert "сразу после загрузки подтверждения" in settings
