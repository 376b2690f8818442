"""Embedded metadata as evidence: read by exiftool in the sandbox at import, signed, kept beside
the original, shown, carried into packages, and a hostile file never stops an import."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from tests.support.workstation import PHOTO_NAME, MakeBundle, Workstation
from tests.workstation.bundles import Sent, consent_document
from tests.workstation.test_handover import export, photo_id, prepare_case
from workstation.catalogue import find_item
from workstation.custody import CustodyLog
from workstation.keys import load_workstation_signer
from workstation.metadata_record import EXIFTOOL_LIMITS, record_metadata, record_path
from workstation.sandbox import MIB, Sandbox, SandboxLimits
from workstation.store import open_store


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_with_looping_exif() -> bytes:
    """A JPEG whose EXIF IFD0 claims 65535 entries and links to itself as the next IFD."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 0xFFFF)
    tiff += struct.pack(">HHII", 0x010F, 2, 0x7FFFFFFF, 0x7FFFFFF0) * 8
    tiff += struct.pack(">I", 8)  # next IFD: itself
    return (b"\xff\xd8" + _segment(0xE1, b"Exif\0\0" + tiff) + b"\xff\xd9")


def png_with_huge_text(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"tEXt", b"Comment\0" + b"A" * size)
            + chunk(b"IDAT", zlib.compress(b"\0\0")) + chunk(b"IEND", b""))


def file_bundle(make_bundle: MakeBundle, content: bytes, name: str) -> Path:
    consent = consent_document(["platform", "un"], "2026-11-27T05:11:16.055418Z")
    return make_bundle([Sent("file", content, name=name, consent=consent)])


def custody_of(workstation: Workstation) -> CustodyLog:
    store = open_store(workstation.store)
    return CustodyLog(store.custody_log_path, store.custody_head_path,
                      load_workstation_signer(store))


def test_import_records_gps_and_device_signed_and_show_prints_them(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform", "un"])

    _code, out, _ = workstation.run("show", photo, "--json")
    record = json.loads(out)["embedded_metadata"]

    assert record["status"] == "read"
    assert record["reader"].startswith("exiftool -json -n -G1")
    assert record["summary"]["gps"]["latitude"] == 53.9
    assert record["summary"]["gps"]["longitude"] == 27.55
    assert record["summary"]["device"] == {"IFD0:Make": "TestCam Z9"}
    assert record["exiftool"]["GPS:GPSLatitudeRef"] == "N"
    # The sandbox's copy is not the evidence: its file-system tags are not kept.
    assert not any(key.startswith("System:") for key in record["exiftool"])
    entries = [e for e in custody_of(workstation).history_of(photo) if e["action"] == "metadata"]
    assert [e["seq"] for e in entries] == [record["custody_seq"]]
    _code, text, _ = workstation.run("show", photo)
    assert "embedded metadata (exiftool" in text
    assert '"latitude": 53.9' in text
    assert "TestCam Z9" in text


def test_the_record_outlives_the_stripped_working_copy_and_goes_to_the_un(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform", "un"])  # makes a working copy

    package, _ = export(workstation, "un", tmp_path / "to-un")

    carried = json.loads((package / "skrynka" / "items" / photo / "metadata.json").read_text())
    assert carried["summary"]["gps"]["latitude"] == 53.9
    [copy] = (package / "data" / "working-copies" / photo).glob("*/" + PHOTO_NAME)
    assert b"TestCam" not in copy.read_bytes()
    assert workstation.run("verify", str(package))[0] == 0


def test_a_changed_record_no_longer_matches_its_signed_entry(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform"])
    path = record_path(open_store(workstation.store), photo)
    path.chmod(0o644)
    path.write_text(path.read_text().replace("53.9", "50.45"))

    _code, out, _ = workstation.run("show", photo)

    assert "does not match its signed custody entry" in out
    assert "50.45" not in out


def test_looping_exif_is_recorded_and_the_import_goes_on(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    code, out, err = workstation.run(
        "import", str(file_bundle(make_bundle, jpeg_with_looping_exif(), "loop.jpg")))

    assert code == 0, err
    assert "metadata" in out
    item = json.loads(workstation.run("list", "--json")[1])[0]["id"]
    record = json.loads(workstation.run("show", item, "--json")[1])["embedded_metadata"]
    # exiftool stops at the broken directory and says so; either way nothing is lost.
    if record["status"] == "read":
        assert record["summary"]["warnings"], record
    else:
        assert record["problem"].startswith("metadata could not be read: ")


def test_a_reader_past_its_time_limit_is_stopped_and_recorded(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    assert workstation.run("import", str(file_bundle(make_bundle, jpeg_with_looping_exif(),
                                                     "slow.jpg")))[0] == 0
    store = open_store(workstation.store)
    item = find_item(store, json.loads(workstation.run("list", "--json")[1])[0]["id"])
    # Perl alone needs longer than this to start exiftool: the clock is what stops it.
    impatient = SandboxLimits(cpu_seconds=1, wall_seconds=0.05, memory_bytes=256 * MIB)

    record = record_metadata(store, item, Sandbox(), custody_of(workstation), "officer-anna",
                             impatient)

    assert record.status == "unreadable"
    assert record.problem is not None
    assert record.problem.startswith("metadata could not be read: the file took more than")
    shown = json.loads(workstation.run("show", item.item_id, "--json")[1])["embedded_metadata"]
    assert shown["problem"] == record.problem
    assert workstation.run("custody", "verify")[0] == 0


def test_metadata_bigger_than_the_reader_may_write_is_refused(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    assert workstation.run("import", str(file_bundle(make_bundle, png_with_huge_text(3 * MIB),
                                                     "big.png")))[0] == 0
    store = open_store(workstation.store)
    item = find_item(store, json.loads(workstation.run("list", "--json")[1])[0]["id"])
    small = SandboxLimits(**{**EXIFTOOL_LIMITS.__dict__, "stdout_bytes": 1 * MIB})

    record = record_metadata(store, item, Sandbox(), custody_of(workstation), "officer-anna",
                             small)

    assert record.status == "unreadable"
    assert record.problem is not None
    assert "more than 1 MiB of metadata" in record.problem


def test_deleting_an_item_removes_its_record(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform"])
    assert record_path(open_store(workstation.store), photo).is_file()
    assert photo_id(workstation) == photo

    assert workstation.run("delete", photo, "--reason", "source asked", "--yes")[0] == 0

    assert not record_path(open_store(workstation.store), photo).exists()
