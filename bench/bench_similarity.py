"""Near-duplicate detection (PDQ): recall on shared variants of a photo, false matches on others.

Photo-like scenes are drawn (tests/support/pictures.py) and each goes through the variants a
photo meets when people pass it on: resized to half, recompressed at JPEG quality 30, cropped by
10 % (5 % off every side), framed like a phone screenshot (bars above and below), mirrored.
Every picture is decoded and brought to 512 × 512 exactly as the sandbox's decoder does, then
hashed with `workstation.perceptual_hash.hash_pixels`. Recall is the share of (original,
variant) pairs within the threshold, per variant; the false-match rate is the share of pairs of
different scenes (every original against every variant of every other scene) within it. Both
are reported at the workstation's threshold and at a few others, so the choice can be checked.
One image through the real sandbox gives the cost per image at import.

Videos: each of `VIDEO_SCENES` scenes becomes an 8-second video (the camera pans slowly over two
drawn scenes, cut in the middle), and ffmpeg makes the copies a video meets when it is
passed on: re-encoded at a low bitrate, at half size, cropped by 10 %, framed with bars like a
screen recording, mirrored, and a still photo of one moment (between two sampled frames). Every
video goes through the real sandbox (`video_frames.read_frames`), so the cost per video is
measured too. Recall and false matches are reported at the video threshold and a few others.

Clustering (the desk's "Similar items" page, `skrynka-workstation similar`): every item against
every other. Random image hashes (each with eight rotations and mirror images, as an imported
photo has) are clustered by `clusters`, and the same set by the pair-by-pair definition
(`distance` for every pair), the baseline, in the same run; then `clusters` alone over a
larger set.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Protocol

from tests.support.pictures import VARIANTS, draw_pictures, picture
from workstation.perceptual_hash import (
    DISTANCE_THRESHOLD,
    SIDE,
    VIDEO,
    VIDEO_DISTANCE_THRESHOLD,
    Frame,
    PerceptualHash,
    clusters,
    distance,
    hash_frame,
    hash_pixels,
    image_kind,
    read_pixels,
)
from workstation.sandbox import Sandbox
from workstation.store import EvidenceStore
from workstation.video_frames import read_frames

SCENES = 24
CLUSTER_BASELINE_ITEMS = 600
CLUSTER_ITEMS = 10_000
THRESHOLDS = (16, 24, DISTANCE_THRESHOLD, 40, 48)
VIDEO_SCENES = 6
VIDEO_THRESHOLDS = (16, 20, VIDEO_DISTANCE_THRESHOLD, 28, DISTANCE_THRESHOLD)
FFMPEG = ("ffmpeg", "-nostdin", "-v", "error", "-y")
# What people do to a video before it reaches us, as ffmpeg output options.
VIDEO_VARIANTS: dict[str, tuple[str, ...]] = {
    "original": ("-c:v", "libx264", "-crf", "20"),
    "low bitrate": ("-c:v", "libx264", "-crf", "42"),
    "half size": ("-vf", "scale=320:240", "-c:v", "libx264", "-crf", "30"),
    "webm": ("-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8"),
    "cropped": ("-vf", "crop=iw*0.9:ih*0.9", "-c:v", "libx264", "-crf", "28"),
    "screen recording": ("-vf", "pad=iw:ih*1.4:0:ih*0.2:0x121212", "-c:v", "libx264",
                         "-crf", "28"),
    "mirrored": ("-vf", "hflip", "-c:v", "libx264", "-crf", "28"),
}
STILL_SECONDS = "2.5"


class Reporter(Protocol):
    def measure(self, name: str, value: float, unit: str, *, at_most: float | None = None,
                at_least: float | None = None) -> float: ...

    def ratio(self, name: str, numerator: float, denominator: float, *,
              at_least: float | None = None) -> float: ...


def _hashes(root: Path) -> dict[tuple[int, str], PerceptualHash]:
    requests = [(seed, variant, root / f"{seed}-{variant}.rgb")
                for seed in range(SCENES) for variant in VARIANTS]
    draw_pictures(requests, SIDE)
    hashes = {}
    for seed, variant, path in requests:
        hash_hex, quality, dihedral = hash_pixels(path.read_bytes())
        hashes[(seed, variant)] = PerceptualHash(f"{seed}-{variant}", hash_hex, quality,
                                                 dihedral, None)
    return hashes


def _sandboxed_seconds(root: Path) -> float:
    """Wall time of decoding one 960 × 720 JPEG in the sandbox and hashing it (median of 3)."""
    (root / "store" / "tmp").mkdir(parents=True)
    store = EvidenceStore(root / "store")
    source = root / "photo.jpg"
    source.write_bytes(picture(1, "original", root))
    kind = image_kind(source)
    assert kind is not None
    times = []
    for _ in range(3):
        started = time.monotonic()
        hash_pixels(read_pixels(store, source, kind, Sandbox()))
        times.append(time.monotonic() - started)
    return statistics.median(times)


def _scene_video(root: Path, seed: int) -> Path:
    """An 8 s 640×480 video: a slow pan across one drawn scene, a cut, a tilt over another (no
    zoom: a zooming camera would make a cropped copy look like a later frame of itself)."""
    first, second = root / f"scene-{seed}-a.jpg", root / f"scene-{seed}-b.jpg"
    first.write_bytes(picture(seed, "original", root))
    second.write_bytes(picture(seed + 1000, "original", root))
    target = root / f"video-{seed}.mkv"
    subprocess.run([
        *FFMPEG, "-loop", "1", "-t", "4", "-i", str(first), "-loop", "1", "-t", "4",
        "-i", str(second), "-filter_complex",
        "[0]zoompan=z='1.15':x='on*1.2':y='ih/2-ih/zoom/2':d=1:s=640x480:fps=25[a];"
        "[1]zoompan=z='1.2':x='iw/2-iw/zoom/2':y='on*0.8':d=1:s=640x480:fps=25[b];"
        "[a][b]concat=n=2:v=1[v]",
        "-map", "[v]", "-t", "8", "-c:v", "ffv1", str(target)], check=True)
    return target


def _video_hash(store: EvidenceStore, path: Path, name: str) -> tuple[PerceptualHash, float]:
    started = time.monotonic()
    sampled = read_frames(store, path, Sandbox())
    assert sampled is not None
    frames = []
    for number, pixels in enumerate(sampled.frames):
        hash_hex, quality = hash_frame(pixels)
        frames.append(Frame(number * sampled.interval, hash_hex, quality))
    seconds = time.monotonic() - started
    return (PerceptualHash(name, None, max(f.quality for f in frames), (), None, VIDEO,
                           tuple(frames)), seconds)


def _video_hashes(root: Path) -> tuple[dict[tuple[int, str], PerceptualHash], list[float]]:
    (root / "vstore" / "tmp").mkdir(parents=True)
    store = EvidenceStore(root / "vstore")
    hashes: dict[tuple[int, str], PerceptualHash] = {}
    seconds = []
    for seed in range(VIDEO_SCENES):
        source = _scene_video(root, 100 + seed)
        for variant, options in VIDEO_VARIANTS.items():
            suffix = "webm" if variant == "webm" else "mp4"
            target = root / f"video-{seed}-{variant.replace(' ', '-')}.{suffix}"
            subprocess.run([*FFMPEG, "-i", str(source), *options, "-pix_fmt", "yuv420p",
                            str(target)], check=True)
            hashes[(seed, variant)], took = _video_hash(store, target, f"{seed}-{variant}")
            seconds.append(took)
        still = root / f"still-{seed}.jpg"
        subprocess.run([*FFMPEG, "-ss", STILL_SECONDS, "-i", str(source), "-frames:v", "1",
                        "-q:v", "4", str(still)], check=True)
        hash_hex, quality, dihedral = hash_pixels(read_pixels(store, still, "jpeg", Sandbox()))
        hashes[(seed, "still photo")] = PerceptualHash(f"{seed}-still", hash_hex, quality,
                                                       dihedral, None)
    return hashes, seconds


def _report_videos(report: Reporter, hashes: dict[tuple[int, str], PerceptualHash],
                   seconds: list[float]) -> None:
    variants = [v for v in (*VIDEO_VARIANTS, "still photo") if v != "original"]
    same = {v: [distance(hashes[(s, "original")], hashes[(s, v)]) for s in range(VIDEO_SCENES)]
            for v in variants}
    different = [distance(hashes[(a, "original")], hashes[(b, v)])
                 for a in range(VIDEO_SCENES) for b in range(VIDEO_SCENES) if a != b
                 for v in ("original", *variants)]
    for variant in variants:
        recall = sum(d <= VIDEO_DISTANCE_THRESHOLD for d in same[variant]) / VIDEO_SCENES
        report.measure(f"video recall, {variant} (threshold {VIDEO_DISTANCE_THRESHOLD})",
                       recall * 100, "%")
        report.measure(f"video median distance, {variant}", statistics.median(same[variant]),
                       "bits")
    for threshold in VIDEO_THRESHOLDS:
        pairs = [d for distances in same.values() for d in distances]
        recall = sum(d <= threshold for d in pairs) / len(pairs)
        false = sum(d <= threshold for d in different) / len(different)
        target = {"at_most": 0.5} if threshold == VIDEO_DISTANCE_THRESHOLD else {}
        report.measure(f"video recall, all variants (threshold {threshold})", recall * 100, "%")
        report.measure(f"video false-match rate, {len(different)} unrelated pairs"
                       f" (threshold {threshold})", false * 100, "%", **target)
    report.measure("closest unrelated video pair", min(different), "bits")
    report.measure("sample and hash frames in the sandbox, one 8 s video", statistics.median(
        seconds), "s", at_most=10)


def run(report: Reporter) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-similarity-") as temp:
        root = Path(temp)
        hashes = _hashes(root)
        per_image = _sandboxed_seconds(root)
        video_hashes, video_seconds = _video_hashes(root)
    variants = [v for v in VARIANTS if v != "original"]
    same = {v: [distance(hashes[(s, "original")], hashes[(s, v)]) for s in range(SCENES)]
            for v in variants}
    different = [distance(hashes[(a, "original")], hashes[(b, v)])
                 for a in range(SCENES) for b in range(SCENES) if a != b for v in VARIANTS]
    for variant in variants:
        recall = sum(d <= DISTANCE_THRESHOLD for d in same[variant]) / SCENES
        report.measure(f"recall, {variant} (threshold {DISTANCE_THRESHOLD})", recall * 100, "%")
        report.measure(f"median distance, {variant}", statistics.median(same[variant]), "bits")
    for threshold in THRESHOLDS:
        pairs = [d for distances in same.values() for d in distances]
        recall = sum(d <= threshold for d in pairs) / len(pairs)
        false = sum(d <= threshold for d in different) / len(different)
        target = {"at_most": 0.1} if threshold == DISTANCE_THRESHOLD else {}
        report.measure(f"recall, all variants (threshold {threshold})", recall * 100, "%")
        report.measure(f"false-match rate, {len(different)} unrelated pairs"
                       f" (threshold {threshold})", false * 100, "%", **target)
    report.measure("closest unrelated pair", min(different), "bits")
    report.measure("decode in the sandbox and hash, one 960x720 JPEG", per_image, "s",
                   at_most=2)
    _report_videos(report, video_hashes, video_seconds)
    _report_clustering(report)


def _random_images(count: int, seed: int) -> dict[str, PerceptualHash]:
    draw = random.Random(seed)

    def one() -> str:
        return f"{draw.getrandbits(256):064x}"

    hashes = {}
    for number in range(count):
        own = one()
        hashes[f"item-{number}"] = PerceptualHash(
            f"item-{number}", own, 100, (own, *(one() for _ in range(7))), None)
    return hashes


def _clusters_pair_by_pair(hashes: dict[str, PerceptualHash]) -> int:
    ids = sorted(hashes)
    return sum(distance(hashes[a], hashes[b]) <= DISTANCE_THRESHOLD
               for index, a in enumerate(ids) for b in ids[index + 1:])


def _report_clustering(report: Reporter) -> None:
    few = _random_images(CLUSTER_BASELINE_ITEMS, seed=1)
    started = time.perf_counter()
    _clusters_pair_by_pair(few)
    pair_by_pair = time.perf_counter() - started
    started = time.perf_counter()
    clusters(few)
    matrix = time.perf_counter() - started
    report.measure(f"clusters of {CLUSTER_BASELINE_ITEMS} images, pair by pair", pair_by_pair,
                   "s")
    report.measure(f"clusters of {CLUSTER_BASELINE_ITEMS} images, as matrices", matrix, "s")
    report.ratio("clustering speed-up, matrices over pair by pair", pair_by_pair, matrix,
                 at_least=10)
    many = _random_images(CLUSTER_ITEMS, seed=2)
    started = time.perf_counter()
    clusters(many)
    report.measure(f"clusters of {CLUSTER_ITEMS} images, as matrices",
                   time.perf_counter() - started, "s", at_most=120)
