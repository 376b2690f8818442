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
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Protocol

from tests.support.pictures import VARIANTS, draw_pictures, picture
from workstation.perceptual_hash import (
    DISTANCE_THRESHOLD,
    SIDE,
    PerceptualHash,
    distance,
    hash_pixels,
    image_kind,
    read_pixels,
)
from workstation.sandbox import Sandbox
from workstation.store import EvidenceStore

SCENES = 24
THRESHOLDS = (16, 24, DISTANCE_THRESHOLD, 40, 48)


class Reporter(Protocol):
    def measure(self, name: str, value: float, unit: str, *, at_most: float | None = None,
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


def run(report: Reporter) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-similarity-") as temp:
        root = Path(temp)
        hashes = _hashes(root)
        per_image = _sandboxed_seconds(root)
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
