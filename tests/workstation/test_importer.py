"""Importing a transfer bundle: every check of docs/bundle-format.md, refusing the whole bundle."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from crypto.signing import Signer, generate_signing_seed
from tests.support.workstation import (
    MESSAGE_TEXT,
    PHOTO_NAME,
    MakeBundle,
    Workstation,
    first_submission,
)
from tests.workstation.bundles import Sent, manifest_bytes, read_members, rewrite_bundle
from tests.workstation.media import jpeg_with_gps
from workstation.cli import EXIT_BUNDLE_REFUSED


def store_snapshot(store: Path) -> dict[str, bytes]:
    """Every file in the store (except gpg's own state) with its content."""
    snapshot = {}
    for path in sorted(store.rglob("*")):
        if path.is_file() and "gnupg" not in path.parts and path.name != ".lock":
            snapshot[str(path.relative_to(store))] = path.read_bytes()
    return snapshot


def resign(members: dict[str, bytes], manifest: dict[str, object], signer: Signer) -> None:
    data = manifest_bytes(manifest)
    members["manifest.json"] = data
    members["manifest.json.sig"] = base64.b64encode(signer.sign(data)) + b"\n"


def test_import_stores_originals_read_only_with_receipts(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    bundle = make_bundle(first_submission(["platform", "un"]))

    code, out, err = workstation.run("import", str(bundle))

    assert code == 0, err
    originals = list((workstation.store / "originals").iterdir())
    assert len(originals) == 2
    contents = {p.joinpath("content").read_bytes() for p in originals}
    assert contents == {MESSAGE_TEXT, jpeg_with_gps()}
    for directory in originals:
        content = directory / "content"
        assert stat.S_IMODE(content.stat().st_mode) == 0o444
        item = json.loads((directory / "item.json").read_text())
        assert directory.name == item["sha256"]  # content-addressed
        [submission] = (directory / "submissions").iterdir()
        record = json.loads(submission.read_text())
        assert record["receipt"]["sha512"] == item["sha512"]
        assert record["receipt"]["intake"]["relation"] == "survivor"
        assert record["receipt"]["consent"]["destinations"] == ["platform", "un"]
    photo = next(p for p in originals if (p / "content").read_bytes().startswith(b"\xff\xd8"))
    assert json.loads((photo / "item.json").read_text())["original_name"] == PHOTO_NAME
    assert "imported" in out


def test_import_writes_one_custody_entry_per_item(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    workstation.run("import", str(make_bundle(first_submission(["platform"]))))

    lines = (workstation.store / "custody.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    # The photo's embedded metadata, its perceptual hash and its content credentials are read
    # after the import, in the sandbox, and each is signed as its own entry.
    assert [e["action"] for e in entries] == ["import", "import", "metadata", "perceptual-hash",
                                              "provenance"]
    assert all(e["actor"] == "officer-anna" for e in entries)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]


def test_importing_the_same_bundle_twice_changes_nothing(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    workstation.run("import", str(bundle))
    before = store_snapshot(workstation.store)

    code, out, _ = workstation.run("import", str(bundle))

    assert code == 0
    assert "nothing changed" in out
    assert store_snapshot(workstation.store) == before


def test_a_new_bundle_repeating_an_item_adds_only_what_is_new(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    sent = first_submission(["platform"])
    workstation.run("import", str(make_bundle(sent)))
    later = Sent("message", b"second message")

    code, out, _ = workstation.run("import", str(make_bundle([*sent, later])))

    assert code == 0
    assert out.count("unchanged") == 2
    assert out.count("imported ") == 1
    assert len(list((workstation.store / "originals").iterdir())) == 3


def assert_refused(workstation: Workstation, bundle: Path, *expected: str) -> None:
    before = store_snapshot(workstation.store)
    code, _, err = workstation.run("import", str(bundle))
    assert code == EXIT_BUNDLE_REFUSED, err
    assert "bundle refused, nothing imported" in err
    for text in expected:
        assert text in err
    assert store_snapshot(workstation.store) == before
    assert list((workstation.store / "tmp").iterdir()) == []


def test_one_flipped_ciphertext_byte_is_caught_and_named(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    members = read_members(bundle)
    manifest = json.loads(members["manifest.json"])
    photo = next(item for item in manifest["items"] if item["kind"] == "file")
    data = bytearray(members[photo["path"]])
    data[len(data) // 2] ^= 0x01
    members[photo["path"]] = bytes(data)

    tampered = rewrite_bundle(bundle, tmp_path / "flipped.zip", members)

    assert_refused(workstation, tampered, photo["uuid"], "ciphertext sha256")


def test_an_edited_manifest_is_caught_by_the_signature(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    members = read_members(bundle)
    members["manifest.json"] = members["manifest.json"].replace(b"brave tortoise", b"brave turtle")

    tampered = rewrite_bundle(bundle, tmp_path / "edited.zip", members)

    assert_refused(workstation, tampered, "signature check failed")


def test_a_manifest_signed_by_another_key_is_refused(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    forger = Signer(generate_signing_seed())

    bundle = make_bundle(first_submission(["platform"]), signer=forger)

    assert_refused(workstation, bundle, "signature check failed", "pinned server key")


def test_a_member_not_in_the_manifest_is_refused(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    members = read_members(bundle)

    tampered = rewrite_bundle(bundle, tmp_path / "extra.zip", members,
                              extra=[("items/brave_tortoise/9-brave_tortoise-msg.gpg", b"x")])

    assert_refused(workstation, tampered, "not listed in the manifest")


@pytest.mark.parametrize(
    ("name", "problem"),
    [("../evil", "'..'"), ("/etc/evil", "absolute path"), ("manifest.json", "appears twice")],
)
def test_path_tricks_and_duplicates_are_refused(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path, name: str, problem: str
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    members = read_members(bundle)

    duplicate = name == "manifest.json"
    warning = pytest.warns(UserWarning, match="Duplicate name")
    with warning if duplicate else contextlib.nullcontext():
        tampered = rewrite_bundle(bundle, tmp_path / "trick.zip", members, extra=[(name, b"x")])

    assert_refused(workstation, tampered, problem)


def test_a_missing_receipt_is_named(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    members = read_members(bundle)
    manifest = json.loads(members["manifest.json"])
    message = next(item for item in manifest["items"] if item["kind"] == "message")
    del members[message["receipt"]["path"]]

    tampered = rewrite_bundle(bundle, tmp_path / "missing.zip", members)

    assert_refused(workstation, tampered, message["uuid"], "presence check failed")


def test_a_wrong_size_in_the_signed_manifest_is_named(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path, server_signer: Signer
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    members = read_members(bundle)
    manifest = json.loads(members["manifest.json"])
    manifest["items"][0]["size"] += 1
    resign(members, manifest, server_signer)

    tampered = rewrite_bundle(bundle, tmp_path / "size.zip", members)

    assert_refused(workstation, tampered, manifest["items"][0]["uuid"], "ciphertext size")


def test_plaintext_not_matching_its_receipt_is_caught_after_decryption(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path, server_signer: Signer
) -> None:
    # Two messages whose receipts are swapped by a (compromised) server that still signs.
    bundle = make_bundle([Sent("message", b"first"), Sent("message", b"second, longer")])
    members = read_members(bundle)
    manifest = json.loads(members["manifest.json"])
    first, second = manifest["items"]
    first["receipt"], second["receipt"] = second["receipt"], first["receipt"]
    resign(members, manifest, server_signer)

    tampered = rewrite_bundle(bundle, tmp_path / "swapped.zip", members)

    assert_refused(workstation, tampered, first["uuid"], "plaintext size")


def test_an_unknown_version_is_refused(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path, server_signer: Signer
) -> None:
    bundle = make_bundle([Sent("message", b"hello")])
    members = read_members(bundle)
    manifest = json.loads(members["manifest.json"])
    manifest["version"] = 3
    resign(members, manifest, server_signer)

    tampered = rewrite_bundle(bundle, tmp_path / "v3.zip", members)

    assert_refused(workstation, tampered, "version check failed")


def test_a_consent_item_is_stored_as_a_consent_record(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    from tests.workstation.bundles import canonical, consent_document

    record = canonical(consent_document(["platform", "un", "court"], "2026-12-01T10:00:00.000000Z"))
    bundle = make_bundle([Sent("consent", record)])

    code, out, _ = workstation.run("import", str(bundle))

    assert code == 0
    assert "consent    record" in out
    consent_dir = workstation.store / "consent"
    [raw] = [p for p in consent_dir.iterdir() if not p.name.endswith(".meta.json")]
    assert raw.read_bytes() == record
    assert not os.access(raw, os.W_OK) or os.geteuid() == 0
    assert stat.S_IMODE(raw.stat().st_mode) == 0o444


def test_a_reply_has_no_receipt_and_is_kept_as_a_reply(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    bundle = make_bundle([Sent("reply", b"Thank you. Please stay safe.")])

    code, _, err = workstation.run("import", str(bundle))

    assert code == 0, err
    [directory] = (workstation.store / "originals").iterdir()
    assert json.loads((directory / "item.json").read_text())["kind"] == "reply"
    [record] = (directory / "submissions").iterdir()
    assert json.loads(record.read_text())["receipt"] is None


def test_a_bundle_the_submission_key_cannot_open_is_refused(
    workstation: Workstation, tmp_path: Path, short_dir: Path, server_signer: Signer
) -> None:
    from tests.support.keys import make_key_pair
    from tests.workstation.bundles import build_bundle

    stranger = make_key_pair(short_dir / "other", "another organisation")
    bundle = build_bundle(tmp_path / "other.zip", stranger.secret_home, stranger.fingerprint,
                          server_signer, [Sent("message", b"not for you")], tmp_path / "work")

    assert_refused(workstation, bundle, "receipt decryption check failed")


def test_a_bundle_with_compressed_members_imports_like_a_stored_one(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    # Stored members are decrypted in place; a ZIP tool that deflates them must not matter.
    members = read_members(make_bundle(first_submission(["platform"])))
    deflated = tmp_path / "deflated.zip"
    with zipfile.ZipFile(deflated, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)

    code, _, err = workstation.run("import", str(deflated))

    assert code == 0, err
    contents = {p.joinpath("content").read_bytes()
                for p in (workstation.store / "originals").iterdir()}
    assert contents == {MESSAGE_TEXT, jpeg_with_gps()}


def test_a_later_ciphertext_hash_failure_is_named_before_an_earlier_decryption_failure(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path, server_signer: Signer
) -> None:
    # Item 1's ciphertext is garbage that the (compromised) server signed; item 2's ciphertext
    # was damaged after signing. Every SHA-256 check comes before any decryption check.
    bundle = make_bundle([Sent("message", b"first"), Sent("message", b"second")])
    members = read_members(bundle)
    manifest = json.loads(members["manifest.json"])
    first, second = manifest["items"]
    garbage = os.urandom(first["size"])
    members[first["path"]] = garbage
    first["sha256"] = hashlib.sha256(garbage).hexdigest()
    resign(members, manifest, server_signer)
    damaged = bytearray(members[second["path"]])
    damaged[-1] ^= 0x01
    members[second["path"]] = bytes(damaged)

    tampered = rewrite_bundle(bundle, tmp_path / "order.zip", members)

    assert_refused(workstation, tampered, second["uuid"], "ciphertext sha256")
