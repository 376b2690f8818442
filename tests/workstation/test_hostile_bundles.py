"""Damaged and hostile bundles through the real `skrynka-workstation import` command.

Each gets the documented refusal naming the item (exit 3), never a ZIP-layer traceback, and
leaves the store as it was; a decompression bomb is stopped at the size its receipt declares
(or the cap for replies), so neither memory nor disk fills. A reply nobody can read does not
refuse the bundle: it is recorded in the custody log as unreadable, and the rest is imported.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from crypto.encryption import encrypt_bytes
from crypto.signing import Signer
from tests.support.keys import KeyPair, make_key_pair
from tests.support.workstation import MakeBundle, Workstation, first_submission
from tests.workstation.bundles import Sent, canonical, manifest_bytes, read_members, rewrite_bundle
from tests.workstation.test_importer import store_snapshot
from workstation.cli import EXIT_BUNDLE_REFUSED
from workstation.importer import MAX_UNDECLARED_PLAINTEXT_BYTES

COMMAND = str(Path(sys.executable).parent / "skrynka-workstation")
MIB = 1024 * 1024
BOMB_BYTES = 300 * MIB


# Runs the command as its only child and reports the largest resident size among the command
# and its own children (gpg), so nothing else this test process ever started counts.
MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(f'peak-rss-kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}',"
    " file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_import(store: Path, bundle: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SKRYNKA_WORKSTATION_STORE": str(store)}
    return subprocess.run([sys.executable, "-c", MEASURE, COMMAND, "import", str(bundle)],
                          capture_output=True, text=True, env=env, check=False, timeout=300)


def peak_rss_kib(stderr: str) -> int:
    return int(stderr.rsplit("peak-rss-kib=", 1)[1].split()[0])


def assert_refused_by_the_command(store: Path, bundle: Path, *expected: str) -> str:
    before = store_snapshot(store)
    result = run_import(store, bundle)
    assert result.returncode == EXIT_BUNDLE_REFUSED, result.stderr
    assert "Traceback" not in result.stderr
    assert "bundle refused, nothing imported" in result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    assert store_snapshot(store) == before
    assert list((store / "tmp").iterdir()) == []
    return result.stderr


def zip_offsets(bundle: Path, name: str) -> tuple[int, int, int]:
    """(local header offset, data offset, central directory entry offset) of member ``name``."""
    data = bundle.read_bytes()
    entry = data.find(b"PK\x01\x02")
    while entry != -1:
        name_length = struct.unpack("<H", data[entry + 28:entry + 30])[0]
        if data[entry + 46:entry + 46 + name_length] == name.encode():
            local = struct.unpack("<I", data[entry + 42:entry + 46])[0]
            local_name, local_extra = struct.unpack("<HH", data[local + 26:local + 30])
            return local, local + 30 + local_name + local_extra, entry
        entry = data.find(b"PK\x01\x02", entry + 4)
    raise AssertionError(f"{name} not in {bundle}")


def flip_byte_in_place(bundle: Path, name: str, target: Path) -> Path:
    """One byte of a member flipped inside the ZIP file itself: its CRC-32 no longer matches."""
    _, start, _ = zip_offsets(bundle, name)
    data = bytearray(bundle.read_bytes())
    data[start + 20] ^= 0x01
    target.write_bytes(bytes(data))
    return target


def item_of_kind(bundle: Path, kind: str) -> dict[str, object]:
    manifest = json.loads(read_members(bundle)["manifest.json"])
    return dict(next(item for item in manifest["items"] if item["kind"] == kind))


def replace_member(bundle: Path, target: Path, item_uuid: str, ciphertext: bytes,
                   signer: Signer, receipt: bytes | None = None) -> Path:
    """Put other ciphertext (and receipt) in place of an item's and sign the manifest again,
    as a compromised server (which holds the signing key) could."""
    members = read_members(bundle)
    manifest = json.loads(members["manifest.json"])
    item = next(item for item in manifest["items"] if item["uuid"] == item_uuid)
    members[item["path"]] = ciphertext
    item["size"], item["sha256"] = len(ciphertext), hashlib.sha256(ciphertext).hexdigest()
    if receipt is not None:
        members[item["receipt"]["path"]] = receipt
        item["receipt"]["size"] = len(receipt)
        item["receipt"]["sha256"] = hashlib.sha256(receipt).hexdigest()
    data = manifest_bytes(manifest)
    members["manifest.json"] = data
    members["manifest.json.sig"] = base64.b64encode(signer.sign(data)) + b"\n"
    return rewrite_bundle(bundle, target, members)


def gpg(home: Path, *args: str, stdin: bytes = b"") -> bytes:
    result = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--trust-model", "always",
                             *args], input=stdin, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def deflated_gzip_of_zeros(size: int, name: str = "bomb.bin") -> bytes:
    """A real gzip member (compressed deflate blocks) that inflates to ``size`` zero bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(MIB)
    body, crc = b"", 0
    for _ in range(size // MIB):
        body += compressor.compress(zeros)
        crc = zlib.crc32(zeros, crc)
    body += compressor.flush()
    header = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, 0x08, 0, 0, 255) + name.encode() + b"\0"
    return header + body + struct.pack("<II", crc, size & 0xFFFFFFFF)


def receipt_declaring(kind: str, uuid: str, size: int, keypair: KeyPair) -> bytes:
    document = {
        "format": "skrynka-receipt", "version": 1, "submission_uuid": uuid, "kind": kind,
        "original_name": "bomb.bin" if kind == "file" else None, "size": size,
        "sha256": hashlib.sha256(bytes(size)).hexdigest(),
        "sha512": hashlib.sha512(bytes(size)).hexdigest(),
        "received_at": "2026-11-27T05:11:16.055418Z",
    }
    return encrypt_bytes(keypair.secret_home, [keypair.fingerprint], canonical(document))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key_pair(tmp_path_factory.mktemp("stranger") / "gnupg", "Not the submission key")


# --- 8. damaged bundles ---------------------------------------------------------------------


def test_a_byte_flipped_inside_the_zip_in_a_ciphertext_is_refused_naming_the_item(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    photo = item_of_kind(bundle, "file")
    damaged = flip_byte_in_place(bundle, str(photo["path"]), tmp_path / "flipped.zip")
    assert_refused_by_the_command(workstation.store, damaged, str(photo["uuid"]),
                                  "ciphertext sha256")


def test_a_byte_flipped_inside_the_zip_in_the_manifest_is_refused(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    damaged = flip_byte_in_place(bundle, "manifest.json", tmp_path / "flipped-manifest.zip")
    assert_refused_by_the_command(workstation.store, damaged, "manifest.json")


def test_a_huge_declared_member_size_is_refused_without_reading_it(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    data = bytearray(bundle.read_bytes())
    for name in ("manifest.json",):
        local, _, central = zip_offsets(bundle, name)
        # Uncompressed size, in the central directory and the local header: 4 GiB - 16.
        data[central + 24:central + 28] = struct.pack("<I", 0xFFFFFFF0)
        data[local + 22:local + 26] = struct.pack("<I", 0xFFFFFFF0)
    damaged = tmp_path / "huge.zip"
    damaged.write_bytes(bytes(data))
    assert_refused_by_the_command(workstation.store, damaged, "manifest.json declares")
    photo = item_of_kind(bundle, "file")
    data = bytearray(bundle.read_bytes())
    local, _, central = zip_offsets(bundle, str(photo["path"]))
    data[central + 24:central + 28] = struct.pack("<I", 0xFFFFFFF0)
    damaged.write_bytes(bytes(data))
    assert_refused_by_the_command(workstation.store, damaged, str(photo["uuid"]),
                                  "ciphertext size")


@pytest.mark.parametrize("cut", ["tail", "middle"])
def test_a_truncated_zip_is_refused(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path, cut: str
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    data = bundle.read_bytes()
    photo = item_of_kind(bundle, "file")
    _, start, _ = zip_offsets(bundle, str(photo["path"]))
    # The tail cut loses the central directory; the middle cut keeps it but shifts the members
    # behind the hole, so their offsets point at the wrong bytes.
    if cut == "tail":
        damaged_bytes = data[: len(data) // 2]
    else:
        damaged_bytes = data[: start + 10] + data[start + 4000 :]
    damaged = tmp_path / f"cut-{cut}.zip"
    damaged.write_bytes(damaged_bytes)
    assert_refused_by_the_command(workstation.store, damaged)


# --- 6. decompression bombs -------------------------------------------------------------------


def test_a_gzip_bomb_declaring_a_few_bytes_is_stopped_at_the_declared_size(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path,
    submission_keypair: KeyPair, server_signer: Signer,
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    photo = item_of_kind(bundle, "file")
    gzip_bomb = deflated_gzip_of_zeros(BOMB_BYTES)
    assert len(gzip_bomb) < MIB
    ciphertext = encrypt_bytes(submission_keypair.secret_home, [submission_keypair.fingerprint],
                               gzip_bomb)
    receipt = receipt_declaring("file", str(photo["uuid"]), 12, submission_keypair)
    bomb = replace_member(bundle, tmp_path / "gzip-bomb.zip", str(photo["uuid"]), ciphertext,
                          server_signer, receipt)
    err = assert_refused_by_the_command(workstation.store, bomb, str(photo["uuid"]),
                                        "plaintext size", "stopped")
    assert "12 bytes" in err
    # 300 MiB would have been inflated; the command and gpg stay far below that.
    assert peak_rss_kib(err) < 128 * 1024


def test_a_gpg_compressed_bomb_declaring_a_few_bytes_is_stopped(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path,
    submission_keypair: KeyPair, server_signer: Signer,
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    message = item_of_kind(bundle, "message")
    ciphertext = gpg(submission_keypair.secret_home, "--compress-algo", "zlib", "-z", "9",
                     "--encrypt", "--recipient", submission_keypair.fingerprint,
                     stdin=bytes(BOMB_BYTES))
    assert len(ciphertext) < MIB
    receipt = receipt_declaring("message", str(message["uuid"]), 5, submission_keypair)
    bomb = replace_member(bundle, tmp_path / "gpg-bomb.zip", str(message["uuid"]), ciphertext,
                          server_signer, receipt)
    err = assert_refused_by_the_command(workstation.store, bomb, str(message["uuid"]),
                                        "plaintext size")
    assert "5 bytes" in err
    assert peak_rss_kib(err) < 128 * 1024


# --- 1 and 6. replies nobody can read -----------------------------------------------------------


def test_unreadable_and_oversized_replies_are_recorded_and_the_rest_imported(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path,
    submission_keypair: KeyPair, server_signer: Signer, stranger: KeyPair,
) -> None:
    sent = [*first_submission(["platform"]), Sent("reply", b"wrong key"),
            Sent("reply", b"bomb"), Sent("reply", "Дзякуй, мы прачыталі.".encode())]
    bundle = make_bundle(sent)
    manifest = json.loads(read_members(bundle)["manifest.json"])
    wrong_key, bomb = [item for item in manifest["items"] if item["kind"] == "reply"][:2]
    to_stranger = gpg(stranger.secret_home, "--encrypt", "--recipient", stranger.fingerprint,
                      stdin=b"for someone else")
    swapped = replace_member(bundle, tmp_path / "r1.zip", wrong_key["uuid"], to_stranger,
                             server_signer)
    compressed = gpg(submission_keypair.secret_home, "--compress-algo", "zlib", "-z", "9",
                     "--encrypt", "--recipient", submission_keypair.fingerprint,
                     stdin=bytes(BOMB_BYTES))
    hostile = replace_member(swapped, tmp_path / "r2.zip", bomb["uuid"], compressed,
                             server_signer)

    result = run_import(workstation.store, hostile)

    assert result.returncode == 0, result.stderr
    assert f"UNREADABLE reply {wrong_key['uuid']}" in result.stdout
    assert f"UNREADABLE reply {bomb['uuid']}" in result.stdout
    assert f"{MAX_UNDECLARED_PLAINTEXT_BYTES} bytes" in result.stdout
    items = json.loads(workstation.run("list", "--json")[1])
    assert sorted(item["kind"] for item in items) == ["file", "message", "reply"]
    entries = [json.loads(line) for line in
               (workstation.store / "custody.log").read_text().splitlines()]
    unreadable = [e for e in entries if e["action"] == "unreadable"]
    assert {e["details"]["submission_uuid"] for e in unreadable} == {wrong_key["uuid"],
                                                                     bomb["uuid"]}
    assert workstation.run("custody", "verify")[0] == 0


def test_a_changed_reply_ciphertext_is_still_tampering(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    bundle = make_bundle([*first_submission(["platform"]), Sent("reply", b"hello")])
    reply = item_of_kind(bundle, "reply")
    damaged = flip_byte_in_place(bundle, str(reply["path"]), tmp_path / "reply-flipped.zip")
    assert_refused_by_the_command(workstation.store, damaged, str(reply["uuid"]),
                                  "ciphertext sha256")
