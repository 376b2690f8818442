"""BagIt packaging in a child process: bags carry SHA-256 and SHA-512 fixity and our tag files."""

from __future__ import annotations

import os
from pathlib import Path

import bagit
import pytest

from workstation.bagging import CHECKSUMS, build_bag, validate_bag


def payload(tmp_path: Path) -> tuple[Path, Path]:
    bag = tmp_path / "skrynka-case-un"
    (bag / "items" / "photo").mkdir(parents=True)
    (bag / "items" / "photo" / "IMG_2041.jpg").write_bytes(b"\xff\xd8 photo bytes")
    (bag / "README.txt").write_text("Check with skrynka-workstation verify.\n")
    tags = tmp_path / "tags"
    (tags / "skrynka").mkdir(parents=True)
    (tags / "skrynka" / "statement.json").write_text('{"items": []}\n')
    return bag, tags


def test_a_built_bag_is_valid_with_both_manifests_and_our_tags(tmp_path: Path) -> None:
    bag_dir, tags = payload(tmp_path)
    cwd = os.getcwd()
    assert build_bag(bag_dir, tags, {"Source-Organization": "Skrynka"}) is None
    # bagit changes the working directory while it runs: only the child's, never ours.
    assert os.getcwd() == cwd
    bag = bagit.Bag(str(bag_dir))
    assert set(CHECKSUMS) <= set(bag.algorithms)
    assert bag.info["Source-Organization"] == "Skrynka"
    assert (bag_dir / "data" / "items" / "photo" / "IMG_2041.jpg").is_file()
    tag_manifest = (bag_dir / "tagmanifest-sha512.txt").read_text()
    assert "skrynka/statement.json" in tag_manifest
    assert not any(tags.iterdir())
    assert validate_bag(bag_dir) is None


def test_an_edited_payload_file_is_named(tmp_path: Path) -> None:
    bag_dir, tags = payload(tmp_path)
    assert build_bag(bag_dir, tags, {}) is None
    photo = bag_dir / "data" / "items" / "photo" / "IMG_2041.jpg"
    photo.write_bytes(b"\xff\xd8 PHOTO BYTES")  # same length: only the digests can tell
    problem = validate_bag(bag_dir)
    assert problem is not None
    assert "IMG_2041.jpg" in problem
    photo.write_bytes(b"\xff\xd8 shorter")
    assert validate_bag(bag_dir) is not None


def test_an_edited_tag_file_is_caught(tmp_path: Path) -> None:
    bag_dir, tags = payload(tmp_path)
    assert build_bag(bag_dir, tags, {}) is None
    (bag_dir / "skrynka" / "statement.json").write_text('{"items": ["added"]}\n')
    assert validate_bag(bag_dir) is not None


def test_a_bag_with_one_checksum_only_is_refused(tmp_path: Path) -> None:
    bag_dir, _tags = payload(tmp_path)
    bagit.make_bag(str(bag_dir), checksums=["sha256"])
    assert validate_bag(bag_dir) == "the bag has no sha512 manifest"


@pytest.mark.parametrize("what", ["missing", "not a bag"])
def test_something_that_is_not_a_bag_is_a_problem_not_a_crash(tmp_path: Path, what: str) -> None:
    target = tmp_path / "target"
    if what == "not a bag":
        target.mkdir()
        (target / "file.txt").write_text("loose file")
    assert validate_bag(target) is not None
    assert build_bag(tmp_path / "no-payload", tmp_path / "no-tags", {}) is not None
