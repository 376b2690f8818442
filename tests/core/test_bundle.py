"""Transfer bundles: the documented ZIP, a signed manifest, ciphertext byte for byte."""

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.bundle import open_bundle, write_bundle
from core.deletion import delete_submission
from core.errors import BundleItemMissing, EmptyBundle
from core.inbox import find_source
from core.instance import Instance
from core.models import Journalist, Reply, Source, Submission
from core.replies import encrypt_reply, store_reply
from crypto._gpg import run_gpg
from crypto.receipt import decode_receipt
from crypto.signing import verify_signature
from tests.journalist_app.staff import make_source, make_staff_account
from tests.support.keys import KeyPair
from workstation.bundle import open_bundle as workstation_open_bundle


def items_of(db: Session, instance: Instance) -> list[Submission | Reply]:
    subs: list[Submission | Reply] = list(db.scalars(select(Submission).order_by(Submission.id)))
    return subs + list(db.scalars(select(Reply).order_by(Reply.id)))


@pytest.fixture
def content(instance: Instance) -> None:
    account = make_staff_account(instance, "dana")
    first = make_source(instance, "first message", files=(("photo.jpg", b"\xff\xd8 jpeg" * 50),))
    make_source(instance, "another source")
    with instance.sessions() as db:
        journalist = db.scalars(select(Journalist).where(Journalist.uuid == account.uuid)).one()
        source = find_source(db, first.uuid)
        assert source is not None
        store_reply(
            db,
            instance,
            source=source,
            journalist=journalist,
            ciphertext=encrypt_reply(instance, source, "we got it"),
        )
        db.commit()


@pytest.mark.usefixtures("content")
def test_a_bundle_follows_the_documented_format(
    instance: Instance, tmp_path: Path, submission_keypair: KeyPair
) -> None:
    out = tmp_path / "bundle.zip"
    with instance.sessions() as db, out.open("wb") as handle:
        items = items_of(db, instance)
        summary = write_bundle(db, instance, items, handle)
        expected = {
            item.uuid: instance.store.path_of(item.source.filesystem_id, item.filename)
            for item in items
        }
    assert summary.items == 4
    assert summary.name.startswith("skrynka-bundle-")
    assert summary.name.endswith("Z.zip")
    with zipfile.ZipFile(out) as archive:
        infos = archive.infolist()
        assert all(info.compress_type == zipfile.ZIP_STORED for info in infos)
        names = [info.filename for info in infos]
        assert len(names) == len(set(names))
        manifest_bytes = archive.read("manifest.json")
        signature = base64.b64decode(archive.read("manifest.json.sig").strip(), validate=True)
        verify_signature(instance.signer.public_key, manifest_bytes, signature)
        manifest = json.loads(manifest_bytes)
        assert manifest["format"] == "skrynka-transfer-bundle"
        assert manifest["version"] == 1
        assert manifest["instance_id"] == instance.settings.instance_id
        assert manifest["signing_key"] == instance.signer.fingerprint
        assert hashlib.sha256(manifest_bytes).hexdigest() == summary.manifest_sha256
        kinds = sorted(item["kind"] for item in manifest["items"])
        assert kinds == ["file", "message", "message", "reply"]
        designations = [item["source_designation"] for item in manifest["items"]]
        assert designations == sorted(designations)
        for item in manifest["items"]:
            data = archive.read(item["path"])
            assert data == expected[item["uuid"]].read_bytes()
            assert (item["size"], item["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
            assert (
                item["path"]
                == f"items/{item['source_designation'].replace(' ', '_')}/{item['filename']}"
            )
            assert len(item["received_on"]) == 10  # a date, not a time
            if item["kind"] == "reply":
                assert item["receipt"] is None
                continue
            receipt = archive.read(item["receipt"]["path"])
            assert item["receipt"]["sha256"] == hashlib.sha256(receipt).hexdigest()
            decrypted = run_gpg(submission_keypair.secret_home, ["--decrypt"], stdin=receipt)
            assert decode_receipt(decrypted.stdout).submission_uuid == item["uuid"]
        assert set(names) == {"manifest.json", "manifest.json.sig"} | {
            m["path"] for m in manifest["items"]
        } | {m["receipt"]["path"] for m in manifest["items"] if m["receipt"]}
    # The workstation's reader accepts it with the pinned key.
    verified = workstation_open_bundle(out, instance.signer.public_key)
    assert len(verified.items) == 4


@pytest.mark.usefixtures("content")
def test_deleting_an_item_after_the_bundle_opened_does_not_cut_it_short(
    instance: Instance,
) -> None:
    with instance.sessions() as db:
        items = items_of(db, instance)
        stream = open_bundle(instance, items)
        first = next(iter(stream))
        victim = next(i for i in items if isinstance(i, Submission) and i.kind == "file")
        delete_submission(db, instance, victim)
        data = first + b"".join(stream)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert len(manifest["items"]) == 4
        assert archive.testzip() is None


@pytest.mark.usefixtures("content")
def test_an_item_already_gone_is_reported_before_any_byte(instance: Instance) -> None:
    with instance.sessions() as db:
        items = items_of(db, instance)
        gone = items[0]
        instance.store.path_of(gone.source.filesystem_id, gone.filename).unlink()
        with pytest.raises(BundleItemMissing):
            open_bundle(instance, items)
        with pytest.raises(EmptyBundle):
            open_bundle(instance, [])


@pytest.mark.usefixtures("content")
def test_a_stored_file_that_no_longer_matches_its_hash_is_refused(instance: Instance) -> None:
    from core.errors import BundleError

    with instance.sessions() as db:
        items = items_of(db, instance)
        path = instance.store.path_of(items[0].source.filesystem_id, items[0].filename)
        path.write_bytes(path.read_bytes()[:-1] + b"\x00")
        with pytest.raises(BundleError, match="does not match"):
            b"".join(open_bundle(instance, items))
        assert db.scalars(select(Source)).all()
