"""Verifying a bundle's container and signed manifest (checks 1 and 2 of docs/bundle-format.md).

The bundles here are written by hand: members of any bytes (nothing is decrypted at this stage),
a manifest encoded as the format says and signed with a real Ed25519 key, then damaged the way a
forger, a broken USB stick or a confused server would damage them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crypto.signing import Signer, generate_signing_seed
from formats.bundle_manifest import Manifest, ManifestItem, MemberRef, encode_manifest
from workstation.bundle import VerifiedBundle, check_member_safety, verify_bundle
from workstation.errors import BundleRejected

SERVER = Signer(generate_signing_seed())
FOLDER = "items/brave_tortoise"
MESSAGE = b"ciphertext of a message"
RECEIPT = b"ciphertext of its receipt"
REPLY = b"ciphertext of a reply"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def members() -> dict[str, bytes]:
    return {
        f"{FOLDER}/1-brave_tortoise-msg.gpg": MESSAGE,
        f"{FOLDER}/1-brave_tortoise-receipt.gpg": RECEIPT,
        f"{FOLDER}/2-brave_tortoise-reply.gpg": REPLY,
    }


def manifest(signer: Signer = SERVER) -> Manifest:
    def item(uuid: str, kind: str, name: str, data: bytes,
             receipt: MemberRef | None) -> ManifestItem:
        return ManifestItem(uuid, "7a1d6f0e-2b3c-4d5e-9f8a-0b1c2d3e4f50", "brave tortoise", kind,
                            MemberRef(f"{FOLDER}/{name}", len(data), sha256(data)), name,
                            "2026-11-27", receipt)

    return Manifest(
        instance_id="5b3c8a52-93a1-4c57-9f5e-0c6b1a0e2f11",
        created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
        signing_key=signer.fingerprint,
        items=(
            item("0f8e2b9a-5d41-4c3e-8a7b-1e2d3c4b5a69", "message", "1-brave_tortoise-msg.gpg",
                 MESSAGE, MemberRef(f"{FOLDER}/1-brave_tortoise-receipt.gpg", len(RECEIPT),
                                    sha256(RECEIPT))),
            item("3c2b1a09-8f7e-4d6c-b5a4-938271605f4e", "reply", "2-brave_tortoise-reply.gpg",
                 REPLY, None),
        ),
    )


def write_zip(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def signed(data: bytes, signer: Signer = SERVER) -> bytes:
    return base64.b64encode(signer.sign(data)) + b"\n"


def bundle(path: Path, manifest_data: bytes | None = None, *, signer: Signer = SERVER,
           content: dict[str, bytes] | None = None,
           extra: tuple[tuple[str, bytes], ...] = ()) -> Path:
    data = encode_manifest(manifest()) if manifest_data is None else manifest_data
    entries = list((members() if content is None else content).items()) + list(extra)
    entries += [("manifest.json", data), ("manifest.json.sig", signed(data, signer))]
    return write_zip(path, entries)


def edited(change: Any) -> bytes:
    """The manifest as JSON, changed by `change`, encoded the server's way again."""
    document = json.loads(encode_manifest(manifest()))
    change(document)
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


def refusal(path: Path) -> BundleRejected:
    with pytest.raises(BundleRejected) as caught:
        verify_bundle(path, SERVER.public_key)
    assert "nothing imported" in str(caught.value)
    return caught.value


def test_a_good_bundle_verifies_and_lists_its_items(tmp_path: Path) -> None:
    path = bundle(tmp_path / "good.zip")
    verified = verify_bundle(path, SERVER.public_key)
    assert isinstance(verified, VerifiedBundle)
    assert verified.items == manifest().items
    assert verified.manifest_bytes == encode_manifest(manifest())
    assert verified.manifest_sha256 == sha256(encode_manifest(manifest()))
    assert verified.manifest["instance_id"] == "5b3c8a52-93a1-4c57-9f5e-0c6b1a0e2f11"
    assert base64.b64decode(verified.signature_line) == SERVER.sign(verified.manifest_bytes)


def test_a_manifest_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    impostor = Signer(generate_signing_seed())
    error = refusal(bundle(tmp_path / "forged.zip", encode_manifest(manifest(impostor)),
                           signer=impostor))
    assert (error.item, error.check) == ("bundle", "signature")


def test_a_manifest_changed_after_signing_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "altered.zip"
    data = encode_manifest(manifest())
    altered = data.replace(b"2026-11-27", b"2026-11-26")
    write_zip(path, [*members().items(), ("manifest.json", altered),
                     ("manifest.json.sig", signed(data))])
    assert refusal(path).check == "signature"


def test_a_signature_that_is_not_base64_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "garbled.zip"
    write_zip(path, [*members().items(), ("manifest.json", encode_manifest(manifest())),
                     ("manifest.json.sig", b"not base64 at all!\n")])
    assert refusal(path).check == "signature"


def test_a_signed_manifest_naming_another_signing_key_is_refused(tmp_path: Path) -> None:
    data = edited(lambda d: d.update(signing_key="0" * 64))
    error = refusal(bundle(tmp_path / "other-key.zip", data))
    assert error.check == "signature"
    assert "signing key other than the pinned server key" in error.detail


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (lambda d: d.update(format="skrynka-handover"), "format"),
        (lambda d: d.update(version=99), "version"),
        (lambda d: d["items"][0].update(size="610"), "manifest"),
        (lambda d: d["items"][1].update(receipt=d["items"][0]["receipt"]), "manifest"),
        (lambda d: d.pop("created_at"), "manifest"),
    ],
)
def test_signed_but_malformed_manifests_are_refused_by_check(
    tmp_path: Path, change: Any, check: str
) -> None:
    assert refusal(bundle(tmp_path / "malformed.zip", edited(change))).check == check


def test_a_signed_manifest_that_is_not_json_is_refused(tmp_path: Path) -> None:
    error = refusal(bundle(tmp_path / "not-json.zip", b"\xff\xfe not json"))
    assert (error.check, error.detail) == ("manifest", "manifest.json is not JSON")


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"PK but not really")
    assert refusal(path).check == "container"


@pytest.mark.parametrize("missing", ["manifest.json", "manifest.json.sig"])
def test_a_bundle_without_its_manifest_or_signature_is_refused(tmp_path: Path,
                                                               missing: str) -> None:
    path = bundle(tmp_path / "full.zip")
    with zipfile.ZipFile(path) as archive:
        kept = [(n, archive.read(n)) for n in archive.namelist() if n != missing]
    error = refusal(write_zip(tmp_path / "short.zip", kept))
    assert (error.check, error.detail) == ("container", f"{missing} is missing")


@pytest.mark.parametrize(
    "name", ["../outside.gpg", "/etc/cron.d/job", "items/./x.gpg", "items//x.gpg", "C:/x.gpg",
             "items\\x.gpg"],
)
def test_members_with_path_tricks_are_refused(tmp_path: Path, name: str) -> None:
    error = refusal(bundle(tmp_path / "trick.zip", extra=((name, b"x"),)))
    assert error.check == "container"


def test_a_member_not_in_the_manifest_is_refused(tmp_path: Path) -> None:
    error = refusal(bundle(tmp_path / "extra.zip", extra=((f"{FOLDER}/3-extra.gpg", b"x"),)))
    assert "is not listed in the manifest" in error.detail


def test_a_listed_member_that_is_absent_is_named(tmp_path: Path) -> None:
    content = members()
    del content[f"{FOLDER}/1-brave_tortoise-receipt.gpg"]
    error = refusal(bundle(tmp_path / "absent.zip", content=content))
    assert error.item == (
        "item 0f8e2b9a-5d41-4c3e-8a7b-1e2d3c4b5a69 (items/brave_tortoise/1-brave_tortoise-msg.gpg)"
    )
    assert error.check == "presence"
    assert "receipt" in error.detail


def test_a_member_twice_in_the_directory_is_refused() -> None:
    with pytest.raises(BundleRejected, match="appears twice"):
        check_member_safety(["manifest.json", "manifest.json.sig", "items/a", "items/a"])
