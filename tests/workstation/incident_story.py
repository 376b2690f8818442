"""What the incident tests import: a photo whose EXIF says when and where it was taken, and two
sources who describe the same night in their intake answers."""

from __future__ import annotations

import json
import struct
from typing import Any

from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.bundles import Sent, consent_document, intake_document

PHOTO = "yard-night.jpg"
SECOND_PHOTO = "yard-morning.jpg"
HERON_MESSAGE = "Майго брата забралі з двара на Акрэсціна.\n".encode()


def _ifd(entries: list[tuple[int, int, int, bytes]], start: int) -> tuple[bytes, bytes]:
    """An IFD at `start` (from the TIFF header) and the data its entries point to after it.

    Each entry is (tag, type, count, value bytes); values of more than four bytes are stored
    after the IFD and pointed to, as TIFF wants.
    """
    table = struct.pack(">H", len(entries))
    data = b""
    data_at = start + 2 + 12 * len(entries) + 4
    for tag, kind, count, value in entries:
        if len(value) <= 4:
            table += struct.pack(">HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            table += struct.pack(">HHII", tag, kind, count, data_at + len(data))
            data += value
    return table + struct.pack(">I", 0), data


def _rationals(values: tuple[int, int, int]) -> bytes:
    return b"".join(struct.pack(">II", value, 1) for value in values)


def jpeg_taken(when: str, latitude: tuple[int, int, int], longitude: tuple[int, int, int],
               camera: str = "TestCam Z9") -> bytes:
    """An 8×8 grey JPEG whose EXIF holds DateTimeOriginal (`YYYY:MM:DD HH:MM:SS`) and GPS."""
    make = camera.encode() + b"\0"
    taken = when.encode() + b"\0"
    ifd0_size = 2 + 12 * 3 + 4 + len(make)
    exif_at = 8 + ifd0_size
    exif_size = 2 + 12 + 4 + len(taken)
    gps_at = exif_at + exif_size
    ifd0, ifd0_data = _ifd([
        (0x010F, 2, len(make), make),
        (0x8769, 4, 1, struct.pack(">I", exif_at)),
        (0x8825, 4, 1, struct.pack(">I", gps_at)),
    ], 8)
    exif, exif_data = _ifd([(0x9003, 2, len(taken), taken)], exif_at)
    gps, gps_data = _ifd([
        (0x0001, 2, 2, b"N\0"), (0x0002, 5, 3, _rationals(latitude)),
        (0x0003, 2, 2, b"E\0"), (0x0004, 5, 3, _rationals(longitude)),
    ], gps_at)
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd0 + ifd0_data + exif + exif_data
    tiff += gps + gps_data
    app1 = b"Exif\0\0" + tiff

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    frame = struct.pack(">BHHB", 8, 8, 8, 1) + bytes([1, 0x11, 0])
    return (b"\xff\xd8" + segment(0xE1, app1) + segment(0xDB, b"\x00" + bytes([1] * 64))
            + segment(0xC0, frame)
            + segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
            + segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
            + segment(0xDA, bytes([1, 1, 0x00, 0, 63, 0])) + bytes([0b00111111]) + b"\xff\xd9")


def heron_intake() -> dict[str, Any]:
    return {
        "format": "skrynka-intake",
        "version": 1,
        "violations": ["enforced_disappearance", "arbitrary_detention"],
        "when": {"text": "the second night", "year": 2020, "month": 8},
        "where": {"text": "Akrestsina yard", "region": "minsk_city"},
        "responsible": None,
        "relation": "witness",
    }


def two_sources(tortoise_consent: list[str], heron_consent: list[str]) -> list[Sent]:
    """The tortoise sends a photo taken on 10 August 2020 in Minsk, with intake answers; the
    heron, another source, sends a message about the same yard, with their own answers."""
    return [
        Sent("file", jpeg_taken("2020:08:10 21:40:00", (53, 54, 0), (27, 33, 0)), name=PHOTO,
             consent=consent_document(tortoise_consent, "2026-11-27T05:11:16.055418Z"),
             intake=intake_document()),
        Sent("message", HERON_MESSAGE, source="quiet heron",
             consent=consent_document(heron_consent, "2026-11-28T08:00:00.000000Z"),
             intake=heron_intake(), received_at="2026-11-28T08:00:00.000000Z"),
    ]


def import_two_sources(workstation: Workstation, make_bundle: MakeBundle,
                       tortoise_consent: list[str] | None = None,
                       heron_consent: list[str] | None = None) -> tuple[str, str]:
    """Import both; return (photo id, heron's message id)."""
    bundle = make_bundle(two_sources(tortoise_consent or ["platform", "un"],
                                     heron_consent or ["platform"]))
    code, _out, err = workstation.run("import", str(bundle))
    assert code == 0, err
    return item_named(workstation, PHOTO), item_of_kind(workstation, "message")


def listing(workstation: Workstation) -> list[dict[str, Any]]:
    code, out, err = workstation.run("list", "--json")
    assert code == 0, err
    items: list[dict[str, Any]] = json.loads(out)
    return items


def item_named(workstation: Workstation, name: str) -> str:
    return str(next(i["id"] for i in listing(workstation) if i["name"] == name))


def item_of_kind(workstation: Workstation, kind: str) -> str:
    return str(next(i["id"] for i in listing(workstation) if i["kind"] == kind))


def log_bytes(workstation: Workstation) -> bytes:
    return (workstation.store / "custody.log").read_bytes()


def log_entries(workstation: Workstation) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_bytes(workstation).decode().splitlines()]


def incident_id_from(out: str) -> str:
    """The id `incident create` printed ("incident <id> created by …")."""
    return out.split("incident ", 1)[1].split()[0]
