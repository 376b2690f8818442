"""Near-duplicates: the same photo sent by two sources (one resized and recompressed) is linked
at import, an unrelated photo is not, and a hostile image never stops an import."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from tests.support.pictures import picture
from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.bundles import Sent, consent_document
from tests.workstation.test_handover import export
from tests.workstation.test_metadata_record import custody_of
from workstation.perceptual_hash import DISTANCE_THRESHOLD, clusters, hashes_of, similar_to


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    directory = tmp_path_factory.mktemp("photos")
    return {
        "yard": picture(7, "original", directory),
        "yard-shared": picture(7, "resized", directory),
        "yard-mirrored": picture(7, "mirrored", directory),
        "street": picture(8, "original", directory),
    }


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header for a huge picture with almost no data behind it (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


def ids_by_name(workstation: Workstation) -> dict[str, str]:
    listed = json.loads(workstation.run("list", "--json")[1])
    return {item["name"]: item["id"] for item in listed}


def test_two_sources_sending_the_same_photo_are_linked_and_a_third_is_not(
    workstation: Workstation, make_bundle: MakeBundle, photos: dict[str, bytes]
) -> None:
    code, out, err = workstation.run("import", str(make_bundle([
        Sent("file", photos["yard"], name="yard.jpg", source="brave tortoise"),
        Sent("file", photos["street"], name="street.jpg", source="brave tortoise"),
    ])))
    assert code == 0, err
    code, out, err = workstation.run("import", str(make_bundle([
        Sent("file", photos["yard-shared"], name="from-telegram.jpg", source="quiet heron"),
    ])))
    assert code == 0, err
    ids = ids_by_name(workstation)
    assert f"similar to {ids['yard.jpg'][:16]}" in out

    shown = json.loads(workstation.run("show", ids["yard.jpg"], "--json")[1])
    assert [m["id"] for m in shown["similar_items"]] == [ids["from-telegram.jpg"]]
    assert shown["similar_items"][0]["distance"] <= DISTANCE_THRESHOLD
    assert shown["perceptual_hash"]["quality"] >= 50
    _code, text, _ = workstation.run("show", ids["street.jpg"])
    assert "similar items (PDQ, at most 31 of 256 bits differ; 24 with a video): none" in text

    assert workstation.run("case", "create", "akrestsina-2020")[0] == 0
    assert workstation.run("case", "add", "akrestsina-2020", ids["yard.jpg"])[0] == 0
    code, text, _ = workstation.run("similar")
    assert code == 0
    assert text.startswith("cluster 1: 2 items")
    assert "sources: brave tortoise" in text
    assert "sources: quiet heron" in text
    assert "cases: akrestsina-2020" in text
    assert "street.jpg" not in text


def test_a_mirrored_copy_matches_through_the_dihedral_hashes(
    workstation: Workstation, make_bundle: MakeBundle, photos: dict[str, bytes]
) -> None:
    assert workstation.run("import", str(make_bundle([
        Sent("file", photos["yard"], name="yard.jpg"),
        Sent("file", photos["yard-mirrored"], name="mirrored.jpg"),
    ])))[0] == 0
    ids = ids_by_name(workstation)

    known = hashes_of(custody_of(workstation).entries())

    assert [m.item_id for m in similar_to(ids["yard.jpg"], known)] == [ids["mirrored.jpg"]]
    assert clusters(known) == [sorted([ids["yard.jpg"], ids["mirrored.jpg"]])]
    assert similar_to(ids["yard.jpg"], known, threshold=0) == []


def test_a_pixel_bomb_and_a_broken_jpeg_are_recorded_and_the_import_goes_on(
    workstation: Workstation, make_bundle: MakeBundle, photos: dict[str, bytes]
) -> None:
    code, out, err = workstation.run("import", str(make_bundle([
        Sent("file", png_claiming(60_000, 60_000), name="bomb.png"),
        Sent("file", photos["yard"][:2000], name="cut-short.jpg"),
        Sent("file", photos["street"], name="street.jpg"),
    ])))

    assert code == 0, err
    ids = ids_by_name(workstation)
    bomb = json.loads(workstation.run("show", ids["bomb.png"], "--json")[1])["perceptual_hash"]
    assert bomb["hash"] is None
    assert bomb["problem"].startswith("no perceptual hash: the image claims 60000 60000 pixels")
    broken = json.loads(workstation.run("show", ids["cut-short.jpg"], "--json")[1])
    assert broken["perceptual_hash"]["problem"].startswith("no perceptual hash: ")
    street = json.loads(workstation.run("show", ids["street.jpg"], "--json")[1])
    assert street["perceptual_hash"]["hash"] is not None
    assert "no perceptual hash" in out
    assert workstation.run("custody", "verify")[0] == 0


def test_deleted_items_leave_the_clusters(
    workstation: Workstation, make_bundle: MakeBundle, photos: dict[str, bytes], tmp_path: Path
) -> None:
    assert workstation.run("import", str(make_bundle([
        Sent("file", photos["yard"], name="yard.jpg"),
        Sent("file", photos["yard-shared"], name="shared.jpg"),
    ])))[0] == 0
    ids = ids_by_name(workstation)
    assert workstation.run("delete", ids["shared.jpg"], "--reason", "source asked",
                           "--yes")[0] == 0

    code, text, _ = workstation.run("similar")

    assert code == 0
    assert text.startswith("no similar images or videos among 1 hashed item(s)")


def test_story_two_sources_one_photo_assessed_by_two_officers_and_handed_to_the_un(
    workstation: Workstation, make_bundle: MakeBundle, photos: dict[str, bytes], tmp_path: Path
) -> None:
    consent = consent_document(["platform", "un"], "2026-11-27T05:11:16.055418Z")
    for name, content, source in (("yard.jpg", photos["yard"], "brave tortoise"),
                                  ("shared.jpg", photos["yard-shared"], "quiet heron")):
        assert workstation.run("import", str(make_bundle([
            Sent("file", content, name=name, source=source, consent=consent)])))[0] == 0
    ids = ids_by_name(workstation)
    yard = ids["yard.jpg"]
    shown = json.loads(workstation.run("show", yard, "--json")[1])
    assert shown["embedded_metadata"]["status"] == "read"
    assert [m["id"] for m in shown["similar_items"]] == [ids["shared.jpg"]]
    assert workstation.run("assess", yard, "--status", "corroborated", "--grounds",
                           f"content=the same scene as {ids['shared.jpg'][:16]}",
                           actor="officer-anna")[0] == 0
    assert workstation.run("confirm", yard, actor="officer-boris")[0] == 0
    assert workstation.run("case", "create", "akrestsina-2020")[0] == 0
    assert workstation.run("case", "add", "akrestsina-2020", yard, ids["shared.jpg"])[0] == 0

    package, _ = export(workstation, "un", tmp_path / "to-un")

    extract = [json.loads(line) for line in
               (package / "skrynka" / "custody.jsonl").read_text().splitlines()]
    assert [(e["action"], e["actor"]) for e in extract
            if e["item"] == yard and e["action"] in ("assess", "confirm")] == [
        ("assess", "officer-anna"), ("confirm", "officer-boris")]
    assert {e["action"] for e in extract if e["item"] == yard} >= {"metadata", "perceptual-hash"}
    assert (package / "skrynka" / "items" / yard / "metadata.json").is_file()
    assert workstation.run("verify", str(package))[0] == 0
    assert workstation.run("custody", "verify")[0] == 0
