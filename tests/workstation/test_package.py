"""Verifying a handover package as its recipient does: bag, signed statement, custody extract."""

from __future__ import annotations

import base64
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from crypto.signing import Signer, generate_signing_seed
from tests.support.workstation import MakeBundle, Workstation, first_submission
from workstation.bagging import build_bag
from workstation.errors import PackageInvalid
from workstation.handover import STATEMENT_FORMAT, STATEMENT_VERSION, TAG_DIR
from workstation.package import opened_package, verify_package


def exported_package(workstation: Workstation, make_bundle: MakeBundle, out: Path) -> Path:
    assert workstation.run("import", str(make_bundle(first_submission(["platform", "un"]))))[0] == 0
    _code, listing, _err = workstation.run("list", "--json")
    ids = [item["id"] for item in json.loads(listing)]
    assert workstation.run("case", "create", "akrestsina-2020")[0] == 0
    assert workstation.run("case", "add", "akrestsina-2020", *ids)[0] == 0
    out.mkdir()
    code, _out, err = workstation.run("export", "--case", "akrestsina-2020", "--to", "un",
                                      "--out", str(out))
    assert code == 0, err
    [package] = list(out.iterdir())
    return package


def self_signed_bag(tmp_path: Path, statement: Any, signer: Signer | None = None) -> Path:
    """A valid bag whose statement is signed by the key it ships, as any forger can make."""
    signer = signer or Signer(generate_signing_seed())
    bag = tmp_path / "package"
    bag.mkdir()
    (bag / "README.txt").write_text("hello\n")
    tags = tmp_path / "tags"
    (tags / TAG_DIR).mkdir(parents=True)
    data = json.dumps(statement).encode()
    (tags / TAG_DIR / "statement.json").write_bytes(data)
    (tags / TAG_DIR / "statement.json.sig").write_bytes(base64.b64encode(signer.sign(data)))
    (tags / TAG_DIR / "workstation.pub").write_bytes(base64.b64encode(signer.public_key))
    (tags / TAG_DIR / "custody.jsonl").write_bytes(b"")
    assert build_bag(bag, tags, {}) is None
    return bag


def test_an_exported_package_verifies_as_a_directory_and_as_a_tar(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    package = exported_package(workstation, make_bundle, tmp_path / "to-un")
    report = verify_package(package)
    assert report.statement["destination"] == "un"
    assert report.custody_entries >= len(report.statement["items"]) >= 1
    assert len(report.workstation_key_fingerprint) == 64
    archive = tmp_path / "package.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(package, arcname=package.name)
    assert verify_package(archive) == report


def test_an_encrypted_package_says_how_to_decrypt_it(tmp_path: Path) -> None:
    sealed = tmp_path / "skrynka-case-un.tar.gpg"
    sealed.write_bytes(b"\x85\x01 ciphertext")
    with pytest.raises(PackageInvalid, match=r"gpg --output package\.tar --decrypt"):
        verify_package(sealed)


def test_a_file_that_is_neither_a_bag_nor_a_tar_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "package.zip"
    other.write_bytes(b"PK\x03\x04 not a tar")
    with pytest.raises(PackageInvalid, match="neither a bag directory nor a tar file"):
        verify_package(other)


def test_a_tar_holding_two_things_is_refused(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    archive = tmp_path / "two.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "one", arcname="one")
        tar.add(tmp_path / "two", arcname="two")
    with pytest.raises(PackageInvalid, match="exactly one bag directory"), opened_package(archive):
        pass


def test_a_tar_that_escapes_its_directory_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "escape.tar"
    (tmp_path / "payload").write_text("x")
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "payload", arcname="../../escaped")
    with pytest.raises(PackageInvalid, match="cannot be unpacked safely"):
        verify_package(archive)
    assert not (tmp_path.parent / "escaped").exists()


def test_a_directory_that_is_not_a_bag_is_refused(tmp_path: Path) -> None:
    (tmp_path / "loose.txt").write_text("x")
    with pytest.raises(PackageInvalid) as caught:
        verify_package(tmp_path)
    assert caught.value.check == "bag"


@pytest.mark.parametrize(
    "statement",
    [
        [],
        "statement",
        {"format": STATEMENT_FORMAT, "version": 2},
    ],
)
def test_a_self_signed_statement_of_the_wrong_shape_is_refused(tmp_path: Path,
                                                              statement: Any) -> None:
    with pytest.raises(PackageInvalid, match="not a version 1 skrynka handover statement"):
        verify_package(self_signed_bag(tmp_path, statement))


def test_a_statement_naming_another_key_is_refused(tmp_path: Path) -> None:
    statement = {"format": STATEMENT_FORMAT, "version": STATEMENT_VERSION,
                 "workstation_key_fingerprint": "0" * 64}
    with pytest.raises(PackageInvalid, match="names another workstation key"):
        verify_package(self_signed_bag(tmp_path, statement))


@pytest.mark.parametrize(
    "fields",
    [
        {"items": [{"path": "data/README.txt"}]},
        {"items": "all of them"},
        {"readme": {"path": "data/README.txt"}},
        {"items": [], "custody_extract": None},
    ],
)
def test_a_self_signed_statement_with_missing_fields_is_a_clear_refusal(
    tmp_path: Path, fields: dict[str, Any]
) -> None:
    signer = Signer(generate_signing_seed())
    statement = {"format": STATEMENT_FORMAT, "version": STATEMENT_VERSION,
                 "workstation_key_fingerprint": signer.fingerprint, **fields}
    with pytest.raises(PackageInvalid) as caught:
        verify_package(self_signed_bag(tmp_path, statement, signer))
    assert caught.value.check in ("statement", "statement vs payload", "custody extract")
