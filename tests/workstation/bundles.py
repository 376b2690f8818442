"""Transfer bundles built exactly as docs/bundle-format.md describes, with real gpg and Ed25519.

This is the server's side of the contract written from the document alone, so the workstation
tests exercise the format and not the server's code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crypto.encryption import encrypt_bytes, open_encryptor
from crypto.signing import Signer
from crypto.types import Fingerprint

INSTANCE_ID = "5b3c9a52-6f0e-4c61-9d7e-0d7d1f3c2a11"


@dataclass
class Sent:
    """One thing a source sent: a message, a file or a consent record."""

    kind: str
    content: bytes
    name: str | None = None
    source: str = "brave tortoise"
    consent: dict[str, Any] | None = None
    intake: dict[str, Any] | None = None
    received_at: str = "2026-11-27T05:11:16.055418Z"
    submission_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))


def consent_document(destinations: list[str], recorded_at: str) -> dict[str, Any]:
    return {
        "format": "skrynka-consent",
        "version": 1,
        "recorded_at": recorded_at,
        "destinations": destinations,
        "replies": False,
        "investigator_contact": False,
    }


def intake_document() -> dict[str, Any]:
    return {
        "format": "skrynka-intake",
        "version": 1,
        "violations": ["arbitrary_detention", "torture_or_ill_treatment"],
        "when": {"text": "August 2020, three nights", "year": 2020, "month": 8},
        "where": {"text": "Akrestsina, Minsk", "region": "minsk_city"},
        "responsible": "riot police unit, names unknown",
        "relation": "survivor",
    }


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _suffix(kind: str) -> str:
    return {"message": "msg.gpg", "file": "doc.gz.gpg", "consent": "consent.gpg",
            "reply": "reply.gpg"}[kind]


def build_bundle(
    path: Path,
    gnupg_home: Path,
    fingerprint: Fingerprint,
    signer: Signer,
    sent: list[Sent],
    work_dir: Path,
) -> Path:
    """Encrypt everything to the submission key and write a signed, stored ZIP bundle."""
    work_dir.mkdir(parents=True, exist_ok=True)
    counters: dict[str, int] = {}
    members: list[tuple[str, Path]] = []
    items: list[dict[str, Any]] = []
    for thing in sent:
        designation_file = thing.source.replace(" ", "_")
        counters[thing.source] = counters.get(thing.source, 0) + 1
        n = counters[thing.source]
        filename = f"{n}-{designation_file}-{_suffix(thing.kind)}"
        ciphertext = work_dir / f"{uuid.uuid4()}.gpg"
        gzip_name = thing.name if thing.kind == "file" else None
        encryptor = open_encryptor(gnupg_home, [fingerprint], ciphertext, gzip_name=gzip_name)
        encryptor.write(thing.content)
        digest = encryptor.finish()
        receipt_ref = None
        if thing.kind != "reply":
            receipt: dict[str, Any] = {
                "format": "skrynka-receipt",
                "version": 1,
                "submission_uuid": thing.submission_uuid,
                "kind": thing.kind,
                "original_name": thing.name if thing.kind == "file" else None,
                "size": digest.size,
                "sha256": digest.sha256,
                "sha512": digest.sha512,
                "received_at": thing.received_at,
            }
            if thing.intake is not None:
                receipt["intake"] = thing.intake
            if thing.consent is not None:
                receipt["consent"] = thing.consent
            receipt_bytes = encrypt_bytes(gnupg_home, [fingerprint], canonical(receipt))
            receipt_path = work_dir / f"{uuid.uuid4()}.receipt.gpg"
            receipt_path.write_bytes(receipt_bytes)
            receipt_member = f"items/{designation_file}/{n}-{designation_file}-receipt.gpg"
            members.append((receipt_member, receipt_path))
            receipt_ref = {"path": receipt_member, "size": len(receipt_bytes),
                           "sha256": hashlib.sha256(receipt_bytes).hexdigest()}
        member = f"items/{designation_file}/{filename}"
        members.append((member, ciphertext))
        items.append({
            "uuid": thing.submission_uuid,
            "source_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, thing.source)),
            "source_designation": thing.source,
            "kind": thing.kind,
            "path": member,
            "filename": filename,
            "size": ciphertext.stat().st_size,
            "sha256": _sha256_file(ciphertext),
            "received_on": thing.received_at[:10],
            "receipt": receipt_ref,
        })
    manifest = {
        "format": "skrynka-transfer-bundle",
        "version": 1,
        "instance_id": INSTANCE_ID,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "signing_key": signer.fingerprint,
        "items": items,
    }
    write_bundle(path, manifest_bytes(manifest), signer, members)
    return path


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_bundle(path: Path, manifest: bytes, signer: Signer,
                 members: list[tuple[str, Path]], signature: bytes | None = None) -> None:
    sig = signature if signature is not None else base64.b64encode(signer.sign(manifest)) + b"\n"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, source in members:
            archive.write(source, name)
        archive.writestr("manifest.json", manifest)
        archive.writestr("manifest.json.sig", sig)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite_bundle(source: Path, target: Path, members: dict[str, bytes],
                   extra: list[tuple[str, bytes]] | None = None) -> Path:
    """Write `members` (name → bytes, in order) and any `extra` entries to a new ZIP."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, data in extra or []:
            archive.writestr(name, data)
    return target


# Version 2: trusted timestamps, built from docs/bundle-format.md with openssl, not the server.


def _leaf(file_sha256_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(file_sha256_hex)).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH over leaf hashes, written from the RFC's definition."""
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def merkle_path(leaves: list[bytes], index: int) -> list[bytes]:
    """RFC 6962 PATH(m, D[n])."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*merkle_path(leaves[:k], index), merkle_root(leaves[k:])]
    return [*merkle_path(leaves[k:], index - k), merkle_root(leaves[:k])]


def openssl_token(tsa_url: str, data: bytes, work_dir: Path, digest: str = "sha256") -> bytes:
    """A token over ``data`` from the authority at ``tsa_url``: `openssl ts -query`, HTTP POST."""
    import subprocess
    import urllib.request

    work_dir.mkdir(parents=True, exist_ok=True)
    data_path = work_dir / f"{uuid.uuid4()}.bin"
    query_path = data_path.with_suffix(".tsq")
    data_path.write_bytes(data)
    subprocess.run(["openssl", "ts", "-query", "-data", str(data_path), f"-{digest}", "-cert",
                    "-out", str(query_path)], check=True, capture_output=True)
    request = urllib.request.Request(tsa_url, data=query_path.read_bytes(),
                                     headers={"Content-Type": "application/timestamp-query"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return bytes(answer.read())


def stamp_bundle(source: Path, target: Path, signer: Signer, tsa_url: str, work_dir: Path,
                 *, tree_id: int = 7) -> dict[str, Any]:
    """Rewrite a version 1 bundle as version 2 with every item in one stamped tree.

    Returns the new manifest (already signed into ``target``).
    """
    members = read_members(source)
    manifest = json.loads(members.pop("manifest.json"))
    members.pop("manifest.json.sig")
    files: list[str] = []
    for item in manifest["items"]:
        files.append(item["sha256"])
        if item["receipt"] is not None:
            files.append(item["receipt"]["sha256"])
    leaves = [_leaf(sha) for sha in files]
    root = merkle_root(leaves)
    token = openssl_token(tsa_url, root, work_dir)
    token_path = f"timestamps/tree-{tree_id}/1.tsr"
    for item in manifest["items"]:
        index = files.index(item["sha256"])
        stamp: dict[str, Any] = {
            "tree": tree_id,
            "ciphertext": {"index": index, "path": [p.hex() for p in merkle_path(leaves, index)]},
            "receipt": None,
        }
        if item["receipt"] is not None:
            receipt_index = files.index(item["receipt"]["sha256"])
            stamp["receipt"] = {"index": receipt_index,
                                "path": [p.hex() for p in merkle_path(leaves, receipt_index)]}
        item["timestamp"] = stamp
    manifest["version"] = 2
    manifest["trees"] = [{
        "id": tree_id, "root": root.hex(), "size": len(leaves),
        "tokens": [{"tsa": tsa_url, "path": token_path, "size": len(token),
                    "sha256": hashlib.sha256(token).hexdigest()}],
    }]
    members[token_path] = token
    write_members(target, manifest, signer, members)
    return manifest


def write_members(target: Path, manifest: dict[str, Any], signer: Signer,
                  members: dict[str, bytes]) -> None:
    data = manifest_bytes(manifest)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        archive.writestr("manifest.json", data)
        archive.writestr("manifest.json.sig", base64.b64encode(signer.sign(data)) + b"\n")
