"""Transfer bundles: the documented ZIP, a signed manifest, ciphertext byte for byte."""

import base64
import hashlib
import io
import json
import resource
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.bundle import open_verified_file, stream_bundle, write_bundle
from core.deletion import delete_submission
from core.errors import (
    BundleError,
    BundleItemMissing,
    EmptyBundle,
    StoredFileDamaged,
    StoredFileMissing,
)
from core.inbox import find_source
from core.instance import Instance
from core.models import Journalist, Reply, Submission
from core.replies import encrypt_reply, store_reply
from crypto._gpg import run_gpg
from crypto.signing import verify_signature
from formats.receipt import parse_receipt
from tests.support.keys import KeyPair
from tests.support.staff import make_source, make_staff_account
from workstation.bundle import verify_bundle


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
        assert manifest["version"] == 2
        # Nothing was time-stamped yet: every item waits, and no tree travels.
        assert manifest["trees"] == []
        assert all(item["timestamp"] is None for item in manifest["items"])
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
            assert parse_receipt(decrypted.stdout).submission_uuid == item["uuid"]
        assert set(names) == {"manifest.json", "manifest.json.sig"} | {
            m["path"] for m in manifest["items"]
        } | {m["receipt"]["path"] for m in manifest["items"] if m["receipt"]}
    # The workstation's reader accepts it with the pinned key.
    verified = verify_bundle(out, instance.signer.public_key)
    assert len(verified.items) == 4


@pytest.mark.usefixtures("content")
def test_deleting_an_item_after_the_bundle_opened_does_not_cut_it_short(
    instance: Instance,
) -> None:
    with instance.sessions() as db:
        items = items_of(db, instance)
        stream = stream_bundle(instance, items)
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
            stream_bundle(instance, items)
        with pytest.raises(EmptyBundle):
            stream_bundle(instance, [])


def damage(path: Path) -> bytes:
    """Flip one bit of a stored file, in place (same inode, same size); return the new bytes."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    with path.open("r+b") as handle:
        handle.write(data)
    return bytes(data)


def pinned_links(instance: Instance) -> list[Path]:
    """Files this process keeps in its temp dir (pinned bundle members, uploads in flight)."""
    return [p for p in instance.settings.tmp_dir.rglob("*.part") if p.is_file()]


@pytest.mark.usefixtures("content")
def test_damaged_files_are_refused_before_any_byte_naming_each_one(instance: Instance) -> None:
    with instance.sessions() as db:
        items = items_of(db, instance)
        message = next(i for i in items if isinstance(i, Submission) and i.kind == "message")
        photo = next(i for i in items if isinstance(i, Submission) and i.kind == "file")
        assert photo.receipt_filename is not None
        store = instance.store
        found_message = hashlib.sha256(
            damage(store.path_of(message.source.filesystem_id, message.filename))
        ).hexdigest()
        damage(store.path_of(photo.source.filesystem_id, photo.receipt_filename))
        with pytest.raises(StoredFileDamaged) as refused:
            stream_bundle(instance, items)
        by_file = {d.filename: d for d in refused.value.damaged}
        assert set(by_file) == {message.filename, photo.receipt_filename}
        assert by_file[message.filename].item_uuid == message.uuid
        assert by_file[message.filename].expected_sha256 == message.sha256
        assert by_file[message.filename].found_sha256 == found_message
        assert by_file[message.filename].designation == message.source.journalist_designation
        assert by_file[photo.receipt_filename].receipt_of == photo.filename
        assert by_file[photo.receipt_filename].expected_sha256 == photo.receipt_sha256
        text = str(refused.value)
        assert text.startswith("Nothing was downloaded")
        for item in (message, photo):
            assert item.uuid in text
            assert item.source.journalist_designation in text
        assert message.filename in text
        assert photo.receipt_filename in text
        # The pins taken while checking are released.
        assert pinned_links(instance) == []


@pytest.mark.usefixtures("content")
def test_a_file_replaced_in_the_store_after_the_check_is_not_what_gets_sent(
    instance: Instance, tmp_path: Path
) -> None:
    with instance.sessions() as db:
        items = items_of(db, instance)
        victim = next(i for i in items if isinstance(i, Submission) and i.kind == "file")
        path = instance.store.path_of(victim.source.filesystem_id, victim.filename)
        original = path.read_bytes()
        stream = stream_bundle(instance, items)
        assert len(pinned_links(instance)) == 7  # 3 submissions with receipts, 1 reply
        # Swapped by rename after the check: the checked file is still what is sent.
        swap = path.with_name("swap")
        swap.write_bytes(b"not what was received")
        swap.replace(path)
        out = tmp_path / "bundle.zip"
        out.write_bytes(b"".join(stream))
        stream.close()
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        entry = next(m for m in manifest["items"] if m["uuid"] == victim.uuid)
        assert archive.read(entry["path"]) == original
        assert entry["sha256"] == victim.sha256
    assert len(verify_bundle(out, instance.signer.public_key).items) == 4
    assert pinned_links(instance) == []


@pytest.mark.usefixtures("content")
def test_a_file_written_into_during_the_download_stops_it_before_the_manifest(
    instance: Instance,
) -> None:
    with instance.sessions() as db:
        items = items_of(db, instance)
        stream = stream_bundle(instance, items)
        for item in items:
            damage(instance.store.path_of(item.source.filesystem_id, item.filename))
        sent: list[bytes] = []
        with pytest.raises(BundleError, match="changed on the server"):
            sent.extend(stream)
        stream.close()
    assert sent  # the first member went out before the change was noticed
    assert b"manifest.json" not in b"".join(sent)
    assert pinned_links(instance) == []


@pytest.mark.usefixtures("content")
def test_a_bundle_abandoned_before_its_first_byte_releases_its_pins(instance: Instance) -> None:
    with instance.sessions() as db:
        stream = stream_bundle(instance, items_of(db, instance))
        assert pinned_links(instance)
        stream.close()
        assert pinned_links(instance) == []
        assert stream.summary is None


def add_tiny_replies(instance: Instance, source_uuid: str, count: int) -> None:
    """Many small reply rows with matching files (written directly: setup speed only)."""
    with instance.sessions() as db:
        source = find_source(db, source_uuid)
        assert source is not None
        folder = instance.settings.store_dir / source.filesystem_id
        for n in range(100, 100 + count):
            data = f"ciphertext {n}".encode()
            filename = f"{n}-{source.designation_file}-reply.gpg"
            (folder / filename).write_bytes(data)
            db.add(Reply(source_id=source.id, journalist_id=None, filename=filename,
                         size=len(data), sha256=hashlib.sha256(data).hexdigest()))
        db.commit()


def test_a_bundle_of_thousands_of_items_holds_no_descriptor_per_item(
    instance: Instance, tmp_path: Path
) -> None:
    seeded = make_source(instance, "first of many")
    add_tiny_replies(instance, seeded.uuid, 3000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    out = tmp_path / "bundle.zip"
    # Far fewer descriptors than files: the bundle must not keep each one open.
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
    try:
        with instance.sessions() as db, out.open("wb") as handle:
            summary = write_bundle(db, instance, items_of(db, instance), handle)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert summary.items == 3001
    with zipfile.ZipFile(out) as archive:
        assert len(archive.infolist()) == 3001 + 1 + 2  # the message's receipt, the manifest
        assert archive.testzip() is None
    assert len(verify_bundle(out, instance.signer.public_key).items) == 3001


@pytest.mark.usefixtures("content")
def test_a_single_file_is_checked_and_sent_from_the_descriptor_that_was_hashed(
    instance: Instance,
) -> None:
    with instance.sessions() as db:
        item = next(i for i in items_of(db, instance) if isinstance(i, Reply))
        path = instance.store.path_of(item.source.filesystem_id, item.filename)
        original = path.read_bytes()
        verified = open_verified_file(instance, item)
        path.unlink()  # deleted after the check: the open file still sends whole
        with verified.handle:
            assert verified.handle.read() == original
        assert (verified.size, verified.sha256) == (len(original), item.sha256)
        with pytest.raises(StoredFileMissing):
            open_verified_file(instance, item)
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
        with pytest.raises(StoredFileDamaged) as refused:
            open_verified_file(instance, item)
        assert [d.item_uuid for d in refused.value.damaged] == [item.uuid]
        assert refused.value.damaged[0].receipt_of is None


def test_a_bundle_carries_tokens_and_each_stamped_items_inclusion_paths(
    stamping_instance: Instance, tmp_path: Path,
) -> None:
    from core.timestamping import run_timestamping
    from core.tsa import tsa_client_from
    from crypto.timestamp_token import load_roots
    from workstation.timestamps import check_bundle_stamps

    instance = stamping_instance
    make_source(instance, "stamped", files=(("a.pdf", b"%PDF-1.4 stamped"),))
    client = tsa_client_from(instance.settings)
    assert client is not None
    run_timestamping(instance, client, sleep=lambda _s: None, delays=())
    make_source(instance, "arrived after the tree")
    out = tmp_path / "bundle.zip"
    with instance.sessions() as db, out.open("wb") as handle:
        write_bundle(db, instance, items_of(db, instance), handle)
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        [tree] = manifest["trees"]
        [token] = tree["tokens"]
        assert archive.read(token["path"])
        assert token["path"].startswith("timestamps/")
    stamped = [i for i in manifest["items"] if i["timestamp"] is not None]
    waiting = [i for i in manifest["items"] if i["timestamp"] is None]
    assert len(stamped) == 2
    assert len(waiting) == 1
    # The workstation's reader verifies what the server wrote.
    bundle = verify_bundle(out, instance.signer.public_key)
    roots = load_roots(Path(instance.settings.tsa_ca_file).read_bytes())
    verdicts = check_bundle_stamps(bundle, roots)
    assert sorted(v.verdict for v in verdicts.values()) == [
        "not stamped", "verified", "verified"]
