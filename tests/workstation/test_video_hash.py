"""Near-duplicate videos: frames sampled by ffmpeg in the sandbox and hashed with PDQ link a
video to its re-encoded copy and to a still taken from it, never to an unrelated video, and a
damaged video is a recorded problem that does not stop the import."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.bundles import Sent
from tests.workstation.test_metadata_record import custody_of
from workstation.custody import Entry
from workstation.perceptual_hash import (
    VIDEO,
    VIDEO_DISTANCE_THRESHOLD,
    Frame,
    PerceptualHash,
    distance,
    hashes_of,
)
from workstation.sandbox import Sandbox
from workstation.store import EvidenceStore
from workstation.video_frames import MAX_FRAMES, read_frames, sampling_interval

FFMPEG = ("ffmpeg", "-nostdin", "-v", "error", "-y")


def make_video(path: Path, source: str, *extra: str) -> bytes:
    subprocess.run([*FFMPEG, "-f", "lavfi", "-i", source, "-t", "6", *extra,
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path.read_bytes()


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    directory = tmp_path_factory.mktemp("videos")
    original = directory / "original.mp4"
    made = {"original": make_video(original, "testsrc2=size=640x480:rate=25")}
    # The same video passed on: half the size, a much lower bitrate.
    smaller = directory / "smaller.mp4"
    subprocess.run([*FFMPEG, "-i", str(original), "-vf", "scale=320:240", "-c:v", "libx264",
                    "-crf", "40", str(smaller)], check=True)
    made["smaller"] = smaller.read_bytes()
    made["unrelated"] = make_video(directory / "unrelated.mp4",
                                   "mandelbrot=size=640x480:rate=25")
    still = directory / "still.jpg"
    subprocess.run([*FFMPEG, "-ss", "3", "-i", str(original), "-frames:v", "1", "-q:v", "5",
                    str(still)], check=True)
    made["still"] = still.read_bytes()
    # Truncated before its index (the moov box is at the end): nothing can be decoded.
    made["truncated"] = made["original"][: len(made["original"]) // 3]
    made["garbage"] = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + os.urandom(50_000)
    audio = directory / "audio.m4a"
    subprocess.run([*FFMPEG, "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                    "-c:a", "aac", str(audio)], check=True)
    made["audio"] = audio.read_bytes()
    return made


def ids_by_name(workstation: Workstation) -> dict[str, str]:
    return {item["name"]: item["id"]
            for item in json.loads(workstation.run("list", "--json")[1])}


def entries_of(workstation: Workstation) -> list[Entry]:
    return custody_of(workstation).entries()


def test_frames_are_sampled_at_a_fixed_interval_inside_the_sandbox(
    videos: dict[str, bytes], tmp_path: Path
) -> None:
    (tmp_path / "store" / "tmp").mkdir(parents=True)
    source = tmp_path / "video.mp4"
    source.write_bytes(videos["original"])
    sampled = read_frames(EvidenceStore(tmp_path / "store"), source, Sandbox())
    assert sampled is not None
    assert (len(sampled.frames), sampled.interval, sampled.duration) == (6, 1.0, 6.0)
    assert {len(frame) for frame in sampled.frames} == {512 * 512 * 3}
    assert sampling_interval(3600) == 600 / MAX_FRAMES


def test_a_reencoded_copy_from_another_source_is_linked_and_an_unrelated_video_is_not(
    workstation: Workstation, make_bundle: MakeBundle, videos: dict[str, bytes]
) -> None:
    code, _out, err = workstation.run("import", str(make_bundle([
        Sent("file", videos["original"], name="yard.mp4", source="brave tortoise"),
        Sent("file", videos["unrelated"], name="other.mp4", source="brave tortoise"),
    ])))
    assert code == 0, err
    code, out, err = workstation.run("import", str(make_bundle([
        Sent("file", videos["smaller"], name="from-telegram.mp4", source="quiet heron"),
        Sent("file", videos["still"], name="still.jpg", source="quiet heron"),
    ])))
    assert code == 0, err
    ids = ids_by_name(workstation)
    assert f"similar to {ids['yard.mp4'][:16]}" in out

    shown = json.loads(workstation.run("show", ids["yard.mp4"], "--json")[1])
    assert shown["perceptual_hash"]["media"] == VIDEO
    assert [f["time"] for f in shown["perceptual_hash"]["frames"]] == [0, 1, 2, 3, 4, 5]
    similar = {m["name"]: m["distance"] for m in shown["similar_items"]}
    assert set(similar) == {"from-telegram.mp4", "still.jpg"}
    assert all(d <= VIDEO_DISTANCE_THRESHOLD for d in similar.values())
    other = json.loads(workstation.run("show", ids["other.mp4"], "--json")[1])
    assert other["similar_items"] == []

    code, text, _ = workstation.run("similar")
    assert code == 0
    assert text.startswith("cluster 1: 3 items")
    assert "sources: quiet heron" in text
    assert "sources: brave tortoise" in text
    assert "other.mp4" not in text
    _code, shown_text, _ = workstation.run("show", ids["yard.mp4"])
    assert "similar items (PDQ of 6 sampled frames, at most 24 of 256 bits differ)" in shown_text


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_video_is_a_recorded_problem_and_the_import_goes_on(
    workstation: Workstation, make_bundle: MakeBundle, videos: dict[str, bytes], damage: str
) -> None:
    code, out, err = workstation.run("import", str(make_bundle([
        Sent("file", videos[damage], name="broken.mp4"),
        Sent("file", videos["original"], name="fine.mp4"),
    ])))
    assert code == 0, err
    assert "Traceback" not in out + err
    ids = ids_by_name(workstation)
    assert "no perceptual hash: ffprobe could not read the file" in out
    hashes = hashes_of(entries_of(workstation))
    broken = hashes[ids["broken.mp4"]]
    assert (broken.media, broken.frames, broken.matchable) == (VIDEO, (), False)
    assert broken.problem
    assert "ffprobe" in broken.problem
    assert hashes[ids["fine.mp4"]].matchable
    shown = json.loads(workstation.run("show", ids["broken.mp4"], "--json")[1])
    assert shown["similar_items"] == []


def test_audio_has_no_perceptual_hash(
    workstation: Workstation, make_bundle: MakeBundle, videos: dict[str, bytes]
) -> None:
    code, _out, err = workstation.run("import", str(make_bundle([
        Sent("file", videos["audio"], name="voice.m4a")])))
    assert code == 0, err
    assert not [e for e in entries_of(workstation) if e["action"] == "perceptual-hash"]


def test_video_distance_is_the_closest_pair_of_usable_frames_either_way() -> None:
    zero, ones = "00" * 32, "ff" * 32
    near = "0f" + "00" * 31  # four bits from zero
    video = PerceptualHash("v", None, 100, (), None, VIDEO,
                           (Frame(0, ones, 100), Frame(1, near, 100), Frame(2, zero, 10)))
    image = PerceptualHash("i", zero, 100, (zero,) * 8, None)
    assert distance(video, image) == distance(image, video) == 4  # the flat frame is not used
    blank = PerceptualHash("b", None, 10, (), None, VIDEO, (Frame(0, zero, 10),))
    assert not blank.matchable
