"""`skrynka-workstation fixity`: every original and working copy re-read, SHA-256 and SHA-512
checked against the store, and a signed summary entry recording what was checked and what
failed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.support.workstation import PHOTO_NAME, MakeBundle, Workstation, first_submission
from workstation.fixity import hash_file


def last_entry(workstation: Workstation) -> dict[str, Any]:
    lines = (workstation.store / "custody.log").read_bytes().splitlines()
    entry: dict[str, Any] = json.loads(lines[-1])
    return entry


def stocked(workstation: Workstation, make_bundle: MakeBundle) -> tuple[str, Path]:
    """A store with a message, a photo and a working copy of the photo."""
    assert workstation.run("import", str(make_bundle(first_submission(["un"]))))[0] == 0
    items = json.loads(workstation.run("list", "--json")[1])
    photo = next(item["id"] for item in items if item["name"] == PHOTO_NAME)
    assert workstation.run("working-copy", photo)[0] == 0
    [copy_dir] = (workstation.store / "copies" / photo).iterdir()
    return photo, copy_dir / PHOTO_NAME


def test_hashing_reads_once_and_gives_both_digests(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40_000  # more than one read
    (tmp_path / "f").write_bytes(data)
    digest = hash_file(tmp_path / "f")
    assert (digest.size, digest.sha256, digest.sha512) == (
        len(data), hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())


def test_an_intact_store_passes_and_the_run_is_recorded(
    workstation: Workstation, make_bundle: MakeBundle,
) -> None:
    photo, copy = stocked(workstation, make_bundle)
    code, out, err = workstation.run("fixity")
    assert code == 0, err
    assert "2 original(s) and 1 working copy read" in out
    entry = last_entry(workstation)
    assert entry["action"] == "fixity"
    details = entry["details"]
    assert photo in details["originals_checked"]
    assert len(details["originals_checked"]) == 2
    assert details["copies_checked"] == [copy.parent.name]
    assert details["failed"] == []
    assert workstation.run("custody", "verify")[0] == 0


def test_a_changed_original_and_a_missing_copy_fail_and_are_recorded(
    workstation: Workstation, make_bundle: MakeBundle,
) -> None:
    photo, copy = stocked(workstation, make_bundle)
    original = workstation.store / "originals" / photo / "content"
    original.chmod(0o644)
    damaged = bytearray(original.read_bytes())
    damaged[100] ^= 0xFF  # one flipped byte, same size: bit rot
    original.write_bytes(bytes(damaged))
    copy.unlink()
    code, out, err = workstation.run("fixity")
    assert code == 4
    assert "Traceback" not in out + err
    assert f"FAILED original {photo}: sha256, sha512 changed" in out
    assert "no longer match the store" in err
    failed = last_entry(workstation)["details"]["failed"]
    assert {f["what"] for f in failed} == {f"original {photo}",
                                           f"working copy {copy.parent.name} of {photo}"}
    bad = next(f for f in failed if f["what"] == f"original {photo}")
    assert bad["found"]["sha256"] == hashlib.sha256(bytes(damaged)).hexdigest()
    assert "cannot be read" in next(f for f in failed if f is not bad)["problem"]
