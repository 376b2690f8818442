"""Working copies: metadata stripped by mat2, the original untouched, the provenance recorded."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from tests.support.workstation import PHOTO_NAME, MakeBundle, Workstation, first_submission
from tests.workstation.bundles import Sent
from tests.workstation.media import jpeg_with_gps, png_with_text


def import_and_find(workstation: Workstation, make_bundle: MakeBundle, sent: list[Sent],
                    name: str) -> str:
    workstation.run("import", str(make_bundle(sent)))
    items = json.loads(workstation.run("list", "--json")[1])
    return str(next(item["id"] for item in items if item["name"] == name))


def copy_record(store: Path, item_id: str) -> tuple[Path, dict[str, object]]:
    [directory] = (store / "copies" / item_id).iterdir()
    return directory, json.loads((directory / "copy.json").read_text())


def exif(path: Path) -> str:
    return subprocess.run(["exiftool", "-a", str(path)], capture_output=True, text=True,
                          check=True).stdout


def test_gps_and_camera_are_stripped_and_the_original_is_untouched(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = import_and_find(workstation, make_bundle, first_submission(["platform"]), PHOTO_NAME)
    original = workstation.store / "originals" / photo / "content"
    before_bytes, before_stat = original.read_bytes(), original.stat()

    code, out, err = workstation.run("working-copy", photo[:8])

    assert code == 0, err
    directory, record = copy_record(workstation.store, photo)
    copy = directory / PHOTO_NAME
    assert "GPS Latitude" in exif(original.parent / "content")
    assert "GPS" not in exif(copy)
    assert "TestCam" not in exif(copy)
    assert record["stripped"] is True
    assert record["original_sha256"] == photo
    assert record["tool"] == "mat2"
    assert str(record["tool_version"])[0].isdigit()
    removed = record["removed"]
    assert isinstance(removed, dict)
    assert {"GPSLatitude", "GPSLongitude", "Make"} <= set(removed)
    assert record["copy_sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert "GPSLatitude" in out
    # The original: same bytes, same mode, same inode, still read-only.
    assert original.read_bytes() == before_bytes
    after_stat = original.stat()
    assert (after_stat.st_mode, after_stat.st_ino, after_stat.st_mtime_ns) == (
        before_stat.st_mode, before_stat.st_ino, before_stat.st_mtime_ns)
    assert oct(after_stat.st_mode & 0o777) == "0o444"


def test_png_text_chunks_are_stripped(workstation: Workstation, make_bundle: MakeBundle) -> None:
    item = import_and_find(workstation, make_bundle,
                           [Sent("file", png_with_text("Ivan Ivanov"), name="scan.png")],
                           "scan.png")

    workstation.run("working-copy", item)

    directory, record = copy_record(workstation.store, item)
    assert b"Ivan Ivanov" not in (directory / "scan.png").read_bytes()
    assert record["removed"] == {"Author": "Ivan Ivanov"}


def test_a_format_mat2_does_not_handle_gets_a_flagged_byte_copy(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    data = os.urandom(2048)
    item = import_and_find(workstation, make_bundle,
                           [Sent("file", data, name="recording.xyz")], "recording.xyz")

    code, out, _ = workstation.run("working-copy", item)

    assert code == 0
    assert "NOT STRIPPED" in out
    directory, record = copy_record(workstation.store, item)
    assert (directory / "recording.xyz").read_bytes() == data
    assert record["stripped"] is False
    assert record["method"] == "byte copy"
    assert "not supported" in str(record["not_stripped_reason"])


def test_a_hostile_original_name_cannot_escape_the_copies_directory(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    item = import_and_find(workstation, make_bundle,
                           [Sent("file", jpeg_with_gps(), name="../../etc/x.jpg")],
                           "../../etc/x.jpg")

    workstation.run("working-copy", item)

    directory, record = copy_record(workstation.store, item)
    assert record["file_name"] == "x.jpg"
    assert (directory / "x.jpg").is_file()


def test_working_copy_of_an_unknown_item_is_a_clear_error(workstation: Workstation) -> None:
    code, _, err = workstation.run("working-copy", "abcdef123456")

    assert code == 5
    assert "skrynka-workstation list" in err
