"""Verifying a handover package: what a recipient runs (`skrynka-workstation verify`).

Checks, in order: the bag (structure and every SHA-256 and SHA-512 fixity, in a child process);
the statement's signature with the workstation public key shipped in the package (whose
fingerprint the recipient compares out of band); that the statement and the bag's payload
describe the same files with the same hashes; the custody extract's hash and every entry's own
hash and signature; and an export entry for every item in the package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto.errors import BadSignature
from crypto.signing import fingerprint_of, verify_signature
from workstation.bagging import validate_bag
from workstation.custody import check_entry, parse_lines
from workstation.errors import CustodyBroken, PackageInvalid
from workstation.handover import STATEMENT_FORMAT, STATEMENT_VERSION, TAG_DIR


@dataclass(frozen=True)
class PackageReport:
    workstation_key_fingerprint: str
    statement: dict[str, Any]
    custody_entries: int


@contextmanager
def opened_package(path: Path) -> Iterator[Path]:
    """A bag directory, or a .tar holding one, extracted with tarfile's `data` filter."""
    if path.is_dir():
        yield path
        return
    if path.name.endswith(".gpg"):
        raise PackageInvalid(
            "container",
            f"{path.name} is encrypted; decrypt it first (gpg --output package.tar --decrypt"
            f" {path.name}) and verify the .tar",
        )
    if not tarfile.is_tarfile(path):
        raise PackageInvalid("container", f"{path} is neither a bag directory nor a tar file")
    with tempfile.TemporaryDirectory(prefix="skrynka-verify-") as temp:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(temp, filter="data")
        except tarfile.TarError as exc:
            # The `data` filter refuses members that leave the directory, links out, devices.
            raise PackageInvalid("container", f"the tar file cannot be unpacked safely ({exc})"
                                 ) from exc
        entries = [p for p in Path(temp).iterdir()]
        if len(entries) != 1 or not entries[0].is_dir():
            raise PackageInvalid("container", "the tar file must hold exactly one bag directory")
        yield entries[0]


def _read_manifest(bag: Path, algorithm: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    path = bag / f"manifest-{algorithm}.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, _, name = line.partition(" ")
            entries[name.strip()] = digest.lower()
    return entries


def verify_bag_dir(bag: Path) -> PackageReport:
    problem = validate_bag(bag)
    if problem is not None:
        raise PackageInvalid("bag", problem)
    tags = bag / TAG_DIR
    try:
        public_key = base64.b64decode((tags / "workstation.pub").read_bytes().strip(),
                                      validate=True)
        statement_bytes = (tags / "statement.json").read_bytes()
        signature = base64.b64decode((tags / "statement.json.sig").read_bytes().strip(),
                                     validate=True)
    except (OSError, binascii.Error, ValueError) as exc:
        raise PackageInvalid("statement", f"statement, signature or key missing ({exc})") from exc
    try:
        fingerprint = fingerprint_of(public_key)
        verify_signature(public_key, statement_bytes, signature)
    except (BadSignature, ValueError) as exc:
        raise PackageInvalid(
            "statement signature", "statement.json is not signed by the package's workstation key"
        ) from exc
    # Signed, but by the key the package itself carries: until the recipient has compared its
    # fingerprint out of band, the statement is read as untrusted input.
    try:
        statement = json.loads(statement_bytes)
    except ValueError as exc:
        raise PackageInvalid("statement", "statement.json is not JSON") from exc
    if not isinstance(statement, dict) or statement.get("format") != STATEMENT_FORMAT or (
        statement.get("version") != STATEMENT_VERSION
    ):
        raise PackageInvalid("statement", "not a version 1 skrynka handover statement")
    if statement.get("workstation_key_fingerprint") != fingerprint:
        raise PackageInvalid("statement", "statement names another workstation key")
    try:
        _compare_payload(bag, statement)
        entries = _check_custody(tags, statement, public_key)
    except (KeyError, TypeError, AttributeError) as exc:
        raise PackageInvalid(
            "statement", f"statement.json lacks a field or has one of the wrong type ({exc!r})"
        ) from exc
    except OSError as exc:
        raise PackageInvalid("custody extract", f"custody.jsonl cannot be read ({exc})") from exc
    return PackageReport(fingerprint, statement, entries)


def _compare_payload(bag: Path, statement: dict[str, Any]) -> None:
    sha256 = _read_manifest(bag, "sha256")
    sha512 = _read_manifest(bag, "sha512")
    described: dict[str, tuple[str, str]] = {}
    readme = statement.get("readme") or {}
    if readme:
        described[readme["path"]] = (readme["sha256"], readme["sha512"])
    for item in statement.get("items", []):
        described[item["path"]] = (item["sha256"], item["sha512"])
        for copy in item.get("working_copies", []):
            described[copy["path"]] = (copy["sha256"], copy["sha512"])
    if set(described) != set(sha256):
        extra = sorted(set(sha256) - set(described))
        missing = sorted(set(described) - set(sha256))
        raise PackageInvalid(
            "statement vs payload",
            f"files not in the statement: {extra}; files in the statement but not the bag:"
            f" {missing}",
        )
    for path, (digest256, digest512) in described.items():
        if sha256[path] != digest256 or sha512.get(path) != digest512:
            raise PackageInvalid(
                "statement vs payload", f"{path} differs from the signed statement"
            )


def _check_custody(tags: Path, statement: dict[str, Any], public_key: bytes) -> int:
    extract_path = tags / "custody.jsonl"
    data = extract_path.read_bytes()
    described = statement.get("custody_extract", {})
    if hashlib.sha256(data).hexdigest() != described.get("sha256"):
        raise PackageInvalid("custody extract", "custody.jsonl differs from the signed statement")
    exported: set[str] = set()
    count = 0
    try:
        for entry in parse_lines(data.splitlines()):
            check_entry(entry, public_key)
            count += 1
            details = entry.get("details") or {}
            if entry["action"] == "export" and details.get("package_id") == statement["package_id"]:
                exported.add(str(entry["item"]))
    except CustodyBroken as exc:
        raise PackageInvalid("custody extract", str(exc)) from exc
    missing = sorted({item["id"] for item in statement.get("items", [])} - exported)
    if missing:
        raise PackageInvalid("custody extract", f"no export entry for items {missing}")
    return count


def verify_package(path: Path) -> PackageReport:
    with opened_package(path) as bag:
        return verify_bag_dir(bag)
