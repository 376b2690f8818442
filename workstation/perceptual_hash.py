"""Perceptual hashes (PDQ) of images and videos, so the same scene sent by several sources is found.

Flow of `record_perceptual_hash`: the original's first bytes say whether it is an image or a
media file (`converters.sniff_type`).
- An image: the system Python's Pillow *inside the sandbox*, restricted to the sniffed format,
  checks the pixel count before decoding, applies the EXIF orientation and writes the picture as
  exactly 512 × 512 raw RGB bytes (`PIXELS_SCRIPT`).
- A video: ffmpeg inside the sandbox samples up to `video_frames.MAX_FRAMES` frames at a fixed
  interval, each as 512 × 512 raw RGB (`workstation.video_frames`). A media file without a
  video stream (audio) gets no hash.
Our own process never decodes an image or a video: it checks that the output is exactly whole
frames of that many bytes and hands them as arrays to `pdqhash`, which computes the 256-bit PDQ
hash, its quality (0–100) and, for an image, the hashes of the eight rotations and mirror
images. One `perceptual-hash` custody entry stores them (the log is the only store; `hashes_of`
reads them back); a video's entry holds the hash, quality and time of each sampled frame. A file
the sandbox refuses (malformed, truncated, too many pixels, too slow) gets an entry with
`problem` and no hash, and the import goes on.

Similarity (`similar_to`, `clusters`): the Hamming distance between two items is the smallest
distance between any usable hash of one and any hash of the other (an image offers its eight
rotations and mirror images, a video its sampled frames), taken both ways, so rotated and
mirrored copies of a photo match, a video matches a re-encoded copy of itself, and a photo
matches a video one of whose frames it shows. Thresholds (bits of 256, measured by
bench/bench_similarity.py):
- `DISTANCE_THRESHOLD` (31, as PDQ's authors suggest) between two images;
- `VIDEO_DISTANCE_THRESHOLD` whenever a video is involved: the minimum over many pairs of
  frames is smaller by chance than one pair's distance, so the threshold is stricter.
Hashes (or frames) of quality below `MIN_QUALITY` (flat or nearly blank pictures, black frames,
whose hashes look alike) are kept but never matched. Every item meets every other, so the
distances are computed as numpy matrices (XOR and popcount, a block of items against all at a
time) rather than pair by pair: clustering 600 photos takes a tenth of a second instead of
fifteen (bench/bench_similarity.py), and tests/workstation/test_similarity_matrix.py holds the
matrices to the pair-by-pair definition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdqhash

from workstation.catalogue import Item, find_item
from workstation.converters import IMAGE_FORMATS, SNIFF_BYTES, sniff_type
from workstation.custody import CustodyLog, Entry
from workstation.errors import ConversionRefused
from workstation.sandbox import INPUT_DIR, MIB, OUTPUT_DIR, Sandbox, SandboxLimits
from workstation.store import EvidenceStore
from workstation.video_frames import read_frames

ACTION = "perceptual-hash"
ALGORITHM = "pdq"
IMAGE = "image"
VIDEO = "video"
SIDE = 512
PIXEL_BYTES = SIDE * SIDE * 3
DISTANCE_THRESHOLD = 31
VIDEO_DISTANCE_THRESHOLD = 24
MIN_QUALITY = 50
MAX_PIXELS = 50_000_000
PIXELS_LIMITS = SandboxLimits(
    cpu_seconds=30,
    wall_seconds=60.0,
    memory_bytes=1536 * MIB,
    file_bytes=4 * MIB,
    output_bytes=4 * MIB,
    tmp_bytes=64 * MIB,
    stdout_bytes=64 * 1024,
)
PIXELS_SCRIPT = """\
import sys
from PIL import Image, ImageOps
source, fmt, target = sys.argv[1], sys.argv[2], sys.argv[5]
limit, side = int(sys.argv[3]), int(sys.argv[4])
Image.MAX_IMAGE_PIXELS = None  # checked below, before any pixel is decoded
image = Image.open(source, formats=[fmt])
width, height = image.size
if width * height > limit:
    print(f"pixels {width} {height}")
    sys.exit(3)
image.seek(0)
image.load()
image = ImageOps.exif_transpose(image).convert("RGB").resize((side, side), Image.BILINEAR)
with open(target, "wb") as out:
    out.write(image.tobytes())
"""


@dataclass(frozen=True)
class Frame:
    """One sampled frame of a video: seconds from the start, its PDQ hash and quality."""

    time: float
    hash_hex: str
    quality: int


@dataclass(frozen=True)
class PerceptualHash:
    item_id: str
    hash_hex: str | None
    quality: int
    dihedral: tuple[str, ...]
    problem: str | None
    media: str = IMAGE
    frames: tuple[Frame, ...] = ()

    @property
    def own_hashes(self) -> tuple[str, ...]:
        """The hashes good enough to compare: the image's, or the video's usable frames'."""
        if self.media == VIDEO:
            return tuple(f.hash_hex for f in self.frames if f.quality >= MIN_QUALITY)
        if self.hash_hex is None or self.quality < MIN_QUALITY:
            return ()
        return (self.hash_hex,)

    @property
    def compared_hashes(self) -> tuple[str, ...]:
        """What another item's hash is compared against: an image's eight rotations and mirror
        images (or its hash), a video's usable frames."""
        if self.media == VIDEO or not self.own_hashes:
            return self.own_hashes
        return self.dihedral or self.own_hashes

    @property
    def matchable(self) -> bool:
        return bool(self.own_hashes)

    def summary(self) -> dict[str, object]:
        """The shape `show --json` prints."""
        return {"algorithm": ALGORITHM, "media": self.media, "hash": self.hash_hex,
                "quality": self.quality, "problem": self.problem,
                "frames": [{"time": f.time, "hash": f.hash_hex, "quality": f.quality}
                           for f in self.frames]}


@dataclass(frozen=True)
class Match:
    item_id: str
    distance: int


def _hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def hash_frame(pixels: bytes) -> tuple[str, int]:
    """PDQ of one SIDE × SIDE RGB frame of a video: (hash hex, quality)."""
    if len(pixels) != PIXEL_BYTES:
        raise ValueError(f"expected {PIXEL_BYTES} bytes of pixels, got {len(pixels)}")
    bits, quality = pdqhash.compute(np.frombuffer(pixels, dtype=np.uint8).reshape(SIDE, SIDE, 3))
    return _hex(bits), int(quality)


def hash_pixels(pixels: bytes) -> tuple[str, int, tuple[str, ...]]:
    """PDQ of SIDE × SIDE RGB bytes: (hash hex, quality, the eight dihedral hashes hex)."""
    if len(pixels) != PIXEL_BYTES:
        raise ValueError(f"expected {PIXEL_BYTES} bytes of pixels, got {len(pixels)}")
    array = np.frombuffer(pixels, dtype=np.uint8).reshape(SIDE, SIDE, 3)
    bits, quality = pdqhash.compute(array)
    dihedral, _qualities = pdqhash.compute_dihedral(array)
    return _hex(bits), int(quality), tuple(_hex(h) for h in dihedral)


def image_kind(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    kind = sniff_type(head, path)
    return kind if kind in IMAGE_FORMATS else None


def is_media(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    return sniff_type(head, path) == "media"


def hash_video(store: EvidenceStore, item: Item, sandbox: Sandbox) -> PerceptualHash | None:
    """The PDQ hashes of a video's sampled frames; None for media without a video stream."""
    try:
        sampled = read_frames(store, item.content_path, sandbox)
    except ConversionRefused as exc:
        return PerceptualHash(item.item_id, None, 0, (), f"no perceptual hash: {exc}", VIDEO)
    if sampled is None:
        return None
    frames = []
    for number, pixels in enumerate(sampled.frames):
        hash_hex, quality = hash_frame(pixels)
        frames.append(Frame(round(number * sampled.interval, 3), hash_hex, quality))
    return PerceptualHash(item.item_id, None, max(f.quality for f in frames), (), None, VIDEO,
                          tuple(frames))


def read_pixels(store: EvidenceStore, source: Path, kind: str, sandbox: Sandbox,
                limits: SandboxLimits = PIXELS_LIMITS) -> bytes:
    """The image as SIDE × SIDE RGB, decoded in the sandbox; `ConversionRefused` if not."""
    name = f"image.{kind}"
    with store.staging_dir("pdq") as staging:
        output = staging / "output"
        output.mkdir()
        result = sandbox.run(
            ["/usr/bin/python3", "-I", "-c", PIXELS_SCRIPT, f"{INPUT_DIR}/{name}",
             IMAGE_FORMATS[kind], str(MAX_PIXELS), str(SIDE), f"{OUTPUT_DIR}/pixels.rgb"],
            input_file=source, output_dir=output, limits=limits, input_name=name,
        )
        if result.exit_status == 3 and result.stdout.startswith(b"pixels "):
            raise ConversionRefused(
                f"the image claims {result.stdout[7:].decode('ascii', 'replace').strip()}"
                f" pixels, more than the {MAX_PIXELS} allowed; it was not decoded")
        result.require_success()
        files = [path for path in result.files if path.name == "pixels.rgb"]
        if len(files) != 1 or files[0].stat().st_size != PIXEL_BYTES:
            raise ConversionRefused("the image decoder did not produce the expected pixels")
        return files[0].read_bytes()


def record_perceptual_hash(store: EvidenceStore, item: Item, sandbox: Sandbox,
                           custody: CustodyLog, actor: str,
                           limits: SandboxLimits = PIXELS_LIMITS) -> PerceptualHash | None:
    """Hash an image or video item and log it; None (and no entry) for anything else."""
    if item.kind != "file":
        return None
    kind = image_kind(item.content_path)
    if kind is None:
        if not is_media(item.content_path):
            return None
        video = hash_video(store, item, sandbox)
        if video is not None:
            custody.append(actor, ACTION, item.item_id, item.sha256, {
                "algorithm": ALGORITHM, "media": VIDEO, "hash": None,
                "quality": video.quality, "dihedral": [], "problem": video.problem,
                "frames": [{"time": f.time, "hash": f.hash_hex, "quality": f.quality}
                           for f in video.frames],
            })
        return video
    problem: str | None = None
    hash_hex: str | None = None
    quality = 0
    dihedral: tuple[str, ...] = ()
    try:
        hash_hex, quality, dihedral = hash_pixels(
            read_pixels(store, item.content_path, kind, sandbox, limits))
    except ConversionRefused as exc:
        problem = f"no perceptual hash: {exc}"
    custody.append(actor, ACTION, item.item_id, item.sha256, {
        "algorithm": ALGORITHM, "hash": hash_hex, "quality": quality,
        "dihedral": list(dihedral), "problem": problem,
    })
    return PerceptualHash(item.item_id, hash_hex, quality, dihedral, problem)


def record_imported_hashes(store: EvidenceStore, item_ids: list[str], sandbox: Sandbox,
                           custody: CustodyLog, actor: str) -> list[PerceptualHash]:
    """The import's third step: a PDQ hash for every new image and video."""
    recorded = []
    for item_id in item_ids:
        result = record_perceptual_hash(store, find_item(store, item_id), sandbox, custody,
                                        actor)
        if result is not None:
            recorded.append(result)
    return recorded


def hashes_of(entries: Iterable[Entry]) -> dict[str, PerceptualHash]:
    """The latest perceptual hash of every item, read back from the custody log."""
    latest: dict[str, PerceptualHash] = {}
    deleted: set[str] = set()
    for entry in entries:
        item_id = entry.get("item")
        if not isinstance(item_id, str):
            continue
        if entry.get("action") == "delete":
            deleted.add(item_id)
            latest.pop(item_id, None)
        elif entry.get("action") == ACTION:
            deleted.discard(item_id)
            details = entry.get("details") or {}
            latest[item_id] = PerceptualHash(
                item_id, details.get("hash"), int(details.get("quality") or 0),
                tuple(details.get("dihedral") or ()), details.get("problem"),
                VIDEO if details.get("media") == VIDEO else IMAGE,
                tuple(Frame(float(f["time"]), str(f["hash"]), int(f["quality"]))
                      for f in details.get("frames") or ()))
    return latest


def _one_way(first: PerceptualHash, second: PerceptualHash) -> int:
    theirs = [int(other, 16) for other in second.compared_hashes]
    return min(bin(int(mine, 16) ^ other).count("1")
               for mine in first.own_hashes for other in theirs)


def distance(first: PerceptualHash, second: PerceptualHash) -> int:
    """Bits that differ between the closest pair of hashes of the two items (an image's
    rotations and mirror images, a video's frames), the smaller of both directions."""
    for item in (first, second):
        if not item.matchable:
            raise ValueError(f"item {item.item_id} has no usable perceptual hash")
    return min(_one_way(first, second), _one_way(second, first))


def threshold_between(first: PerceptualHash, second: PerceptualHash,
                      threshold: int = DISTANCE_THRESHOLD,
                      video_threshold: int = VIDEO_DISTANCE_THRESHOLD) -> int:
    """The threshold that applies to the pair: the video one if either is a video."""
    return video_threshold if VIDEO in (first.media, second.media) else threshold


# Distances are computed as matrices: every usable hash of some items against every compared
# hash of all items, four 64-bit words at a time. A block of items is sized so that one word's
# XOR matrix stays near this many cells (32 MiB of uint64).
BLOCK_CELLS = 4_000_000


@dataclass(frozen=True)
class _HashRows:
    """The hashes of several items as rows of four 64-bit words, each item's rows together."""

    words: np.ndarray
    starts: np.ndarray

    @property
    def count(self) -> int:
        return int(self.words.shape[0])


def _hash_rows(per_item: list[tuple[str, ...]]) -> _HashRows:
    """Rows for items given in order; every item has at least one hash."""
    flat = [value for hashes in per_item for value in hashes]
    words = np.frombuffer(bytes.fromhex("".join(flat)), dtype=">u8").astype(np.uint64)
    lengths = np.array([len(hashes) for hashes in per_item], dtype=np.intp)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.intp)
    return _HashRows(words.reshape(-1, 4), starts)


def _one_way_distances(own: _HashRows, compared: _HashRows) -> np.ndarray:
    """items of ``own`` × items of ``compared``: the smallest distance from any of the first
    item's own hashes to any of the second's compared hashes (as `_one_way`)."""
    total = np.zeros((own.count, compared.count), dtype=np.uint16)
    for word in range(4):
        total += np.bitwise_count(own.words[:, word, None] ^ compared.words[None, :, word])
    per_column_item = np.minimum.reduceat(total, compared.starts, axis=1)
    return np.minimum.reduceat(per_column_item, own.starts, axis=0)


def _distance_rows(ids: list[str], hashes: dict[str, PerceptualHash]
                   ) -> Iterable[tuple[int, np.ndarray]]:
    """For blocks of ``ids`` (all matchable): the index of the block's first item and the
    block × all matrix of `distance` between them."""
    own_all = _hash_rows([hashes[i].own_hashes for i in ids])
    compared_all = _hash_rows([hashes[i].compared_hashes for i in ids])
    widest = max(own_all.count, compared_all.count)
    rows_per_item = max(1, max(own_all.count, compared_all.count) // max(1, len(ids)))
    block = max(1, BLOCK_CELLS // (widest * rows_per_item))
    for first in range(0, len(ids), block):
        chosen = ids[first:first + block]
        own = _hash_rows([hashes[i].own_hashes for i in chosen])
        compared = _hash_rows([hashes[i].compared_hashes for i in chosen])
        there = _one_way_distances(own, compared_all)
        back = _one_way_distances(own_all, compared).T
        yield first, np.minimum(there, back)


def _limits(ids: list[str], hashes: dict[str, PerceptualHash], first: int, rows: int,
            threshold: int, video_threshold: int) -> np.ndarray:
    """rows × all: the threshold that applies to each pair (`threshold_between`)."""
    video = np.array([hashes[i].media == VIDEO for i in ids], dtype=bool)
    either = video[first:first + rows, None] | video[None, :]
    return np.where(either, video_threshold, threshold)


def similar_to(item_id: str, hashes: dict[str, PerceptualHash],
               threshold: int = DISTANCE_THRESHOLD,
               video_threshold: int = VIDEO_DISTANCE_THRESHOLD) -> list[Match]:
    """Other items within the threshold of this one, closest first."""
    mine = hashes.get(item_id)
    if mine is None or not mine.matchable:
        return []
    ids = [item_id, *sorted(i for i, h in hashes.items() if i != item_id and h.matchable)]
    if len(ids) == 1:
        return []
    own = _hash_rows([mine.own_hashes])
    compared = _hash_rows([mine.compared_hashes])
    own_all = _hash_rows([hashes[i].own_hashes for i in ids])
    compared_all = _hash_rows([hashes[i].compared_hashes for i in ids])
    distances = np.minimum(_one_way_distances(own, compared_all),
                           _one_way_distances(own_all, compared).T)[0]
    limits = _limits(ids, hashes, 0, 1, threshold, video_threshold)[0]
    found = [Match(ids[j], int(distances[j])) for j in range(1, len(ids))
             if distances[j] <= limits[j]]
    return sorted(found, key=lambda m: (m.distance, m.item_id))


def clusters(hashes: dict[str, PerceptualHash],
             threshold: int = DISTANCE_THRESHOLD,
             video_threshold: int = VIDEO_DISTANCE_THRESHOLD) -> list[list[str]]:
    """Groups of two or more items linked by matches (single linkage), largest first."""
    ids = sorted(item_id for item_id, h in hashes.items() if h.matchable)
    parent = {item_id: item_id for item_id in ids}

    def root(item_id: str) -> str:
        while parent[item_id] != item_id:
            parent[item_id] = parent[parent[item_id]]
            item_id = parent[item_id]
        return item_id

    if len(ids) > 1:
        for first, distances in _distance_rows(ids, hashes):
            limits = _limits(ids, hashes, first, distances.shape[0], threshold, video_threshold)
            for row, column in zip(*np.nonzero(distances <= limits), strict=True):
                if column > first + row:
                    parent[root(ids[first + row])] = root(ids[column])
    groups: dict[str, list[str]] = {}
    for item_id in ids:
        groups.setdefault(root(item_id), []).append(item_id)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g))
