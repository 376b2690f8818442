"""Similar items and clusters are computed as matrices of distances; whatever the mix of
photos, videos, broken files and faint pictures, they say exactly what the pair-by-pair
definition (`distance` and `threshold_between` for every pair) says."""

from __future__ import annotations

import random

import pytest

from workstation.perceptual_hash import (
    VIDEO,
    Frame,
    Match,
    PerceptualHash,
    clusters,
    distance,
    similar_to,
    threshold_between,
)


def flipped(value: str, bits: int, draw: random.Random) -> str:
    number = int(value, 16)
    for bit in draw.sample(range(256), bits):
        number ^= 1 << bit
    return f"{number:064x}"


def evidence_hashes(seed: int) -> dict[str, PerceptualHash]:
    """Items around a few scenes: photos (some without rotations, some faint), videos whose
    frames are near the scene or random (some frames too faint), and files that could not be
    hashed."""
    draw = random.Random(seed)
    scenes = [f"{draw.getrandbits(256):064x}" for _ in range(4)]
    hashes: dict[str, PerceptualHash] = {}
    for number in range(draw.randint(2, 40)):
        item_id = f"item-{number:02d}"
        own = flipped(draw.choice(scenes), draw.randint(0, 50), draw)
        kind = draw.random()
        if kind < 0.2:
            frames = tuple(
                Frame(float(second),
                      flipped(own, draw.randint(0, 40), draw) if draw.random() < 0.5
                      else f"{draw.getrandbits(256):064x}",
                      draw.choice([10, 80, 100]))
                for second in range(draw.randint(0, 6)))
            hashes[item_id] = PerceptualHash(
                item_id, frames[0].hash_hex if frames else None, 100, (), None, VIDEO, frames)
        elif kind < 0.3:
            hashes[item_id] = PerceptualHash(item_id, None, 0, (), "the sandbox refused it")
        else:
            # A rotation or mirror image may be what resembles another scene (a mirrored
            # copy): then only one direction finds the pair.
            rotations = (own, *(flipped(draw.choice(scenes), draw.randint(0, 40), draw)
                                if draw.random() < 0.3
                                else flipped(own, draw.randint(64, 128), draw)
                                for _ in range(7)))
            hashes[item_id] = PerceptualHash(
                item_id, own, draw.choice([20, 90, 100]),
                rotations if draw.random() < 0.8 else (), None)
    return hashes


def similar_pair_by_pair(item_id: str, hashes: dict[str, PerceptualHash], threshold: int,
                         video_threshold: int) -> list[Match]:
    mine = hashes[item_id]
    if not mine.matchable:
        return []
    found = []
    for other in hashes.values():
        if other.item_id == item_id or not other.matchable:
            continue
        apart = distance(mine, other)
        if apart <= threshold_between(mine, other, threshold, video_threshold):
            found.append(Match(other.item_id, apart))
    return sorted(found, key=lambda match: (match.distance, match.item_id))


def clusters_pair_by_pair(hashes: dict[str, PerceptualHash], threshold: int,
                          video_threshold: int) -> list[list[str]]:
    groups = [{item_id} for item_id, found in hashes.items() if found.matchable]
    for item_id in sorted(i for i, found in hashes.items() if found.matchable):
        linked = {m.item_id for m in similar_pair_by_pair(item_id, hashes, threshold,
                                                          video_threshold)} | {item_id}
        touching = [group for group in groups if group & linked]
        groups = [group for group in groups if not group & linked]
        groups.append(set().union(*touching))
    return sorted((sorted(g) for g in groups if len(g) > 1), key=lambda g: (-len(g), g))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("threshold", "video_threshold"), [(31, 24), (0, 0), (60, 45)])
def test_matrices_agree_with_the_definition(seed: int, threshold: int,
                                            video_threshold: int) -> None:
    hashes = evidence_hashes(seed)
    assert clusters(hashes, threshold, video_threshold) == clusters_pair_by_pair(
        hashes, threshold, video_threshold)
    for item_id in hashes:
        assert similar_to(item_id, hashes, threshold, video_threshold) == similar_pair_by_pair(
            item_id, hashes, threshold, video_threshold)


def test_an_unknown_item_or_a_lone_one_has_no_similar_items() -> None:
    alone = {"photo": PerceptualHash("photo", "ab" * 32, 100, (), None)}
    assert similar_to("photo", alone) == []
    assert similar_to("elsewhere", alone) == []
    assert clusters(alone) == []
    assert clusters({}) == []
