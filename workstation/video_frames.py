"""Frames of a video for its perceptual hash, sampled by ffmpeg inside the sandbox.

Flow of `read_frames`: `ffprobe` (in the sandbox, allowed only the demuxers of ordinary media
files and the `file` protocol, as for renditions) says whether the file has a video stream and
how long it is. `ffmpeg` (in a second sandbox) then decodes the first `MAX_SECONDS` of the first
video stream and keeps the first frame, then the first frame at least `interval` seconds after
the last one kept, at most `MAX_FRAMES` of them, each scaled to exactly SIDE × SIDE raw RGB, all
in one file. Our own process never decodes video: it
checks that the output is a whole number of frames of that size and slices it.

Why frames at a fixed interval and not the codec's keyframes: a copy re-encoded at another
bitrate or size has its keyframes elsewhere, so two copies of one video would be sampled at
different moments; frames taken at the same times from the start line up in both copies.

Failure: a file with no video stream gives `None` (audio has no picture to compare); a file
ffprobe or ffmpeg cannot read (truncated, garbage, built to exhaust the decoder) raises
`ConversionRefused` with the reason, which the caller records as the hash's problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from workstation.converters import MEDIA_INPUT_OPTIONS, MEDIA_PATHS
from workstation.errors import ConversionRefused
from workstation.sandbox import INPUT_DIR, MIB, OUTPUT_DIR, Sandbox, SandboxLimits
from workstation.store import EvidenceStore

SIDE = 512
FRAME_BYTES = SIDE * SIDE * 3
MAX_FRAMES = 24
MIN_INTERVAL_SECONDS = 1.0
# Past this much of a video nothing is sampled: a longer recording is compared by its first
# ten minutes (decoding every frame of hours of video would hold the import for as long).
MAX_SECONDS = 600
FRAMES_NAME = "frames.rgb"
PROBE_LIMITS = SandboxLimits(
    cpu_seconds=20,
    wall_seconds=40.0,
    memory_bytes=768 * MIB,
    file_bytes=1 * MIB,
    output_bytes=1 * MIB,
    tmp_bytes=16 * MIB,
    stdout_bytes=1 * MIB,
)
# Decoding up to ten minutes of (say) 1080p video is seconds to a couple of minutes of CPU.
FRAME_LIMITS = SandboxLimits(
    cpu_seconds=180,
    wall_seconds=300.0,
    memory_bytes=2048 * MIB,
    file_bytes=FRAME_BYTES * MAX_FRAMES + MIB,
    output_bytes=FRAME_BYTES * MAX_FRAMES + MIB,
    tmp_bytes=64 * MIB,
    stdout_bytes=64 * 1024,
)


@dataclass(frozen=True)
class SampledFrames:
    """Raw SIDE × SIDE RGB frames, the seconds between them and the video's stated length."""

    frames: tuple[bytes, ...]
    interval: float
    duration: float


def _number(value: object) -> float:
    try:
        number = float(str(value))
    except ValueError:
        return 0.0
    return number if number == number and 0 < number < float("inf") else 0.0


def probe_video(store: EvidenceStore, source: Path, sandbox: Sandbox,
                limits: SandboxLimits = PROBE_LIMITS) -> float | None:
    """The video's duration in seconds (0 if unstated), or None if it has no video stream."""
    name = "media"
    with store.staging_dir("pdq-probe") as staging:
        output = staging / "output"
        output.mkdir()
        result = sandbox.run(
            ["/usr/bin/ffprobe", "-v", "error", *MEDIA_INPUT_OPTIONS, "-print_format", "json",
             "-show_format", "-show_streams", f"{INPUT_DIR}/{name}"],
            input_file=source, output_dir=output, limits=limits, input_name=name,
            extra_paths=MEDIA_PATHS,
        ).require_success()
    try:
        described = json.loads(result.stdout)
    except ValueError as exc:
        raise ConversionRefused("ffprobe could not describe the media file") from exc
    if not isinstance(described, dict):
        raise ConversionRefused("ffprobe could not describe the media file")
    streams = described.get("streams") or []
    video = [s for s in streams if isinstance(s, dict) and s.get("codec_type") == "video"
             and not (s.get("disposition") or {}).get("attached_pic")]
    if not video:
        return None
    return _number((described.get("format") or {}).get("duration"))


def sampling_interval(duration: float) -> float:
    """Seconds between sampled frames: MAX_FRAMES spread over the video, one a second at most."""
    return max(MIN_INTERVAL_SECONDS, min(duration, MAX_SECONDS) / MAX_FRAMES)


def read_frames(store: EvidenceStore, source: Path, sandbox: Sandbox,
                probe_limits: SandboxLimits = PROBE_LIMITS,
                frame_limits: SandboxLimits = FRAME_LIMITS) -> SampledFrames | None:
    """The sampled frames of the video (see the module docstring); None if it has no video."""
    duration = probe_video(store, source, sandbox, probe_limits)
    if duration is None:
        return None
    interval = sampling_interval(duration)
    name = "media"
    with store.staging_dir("pdq-frames") as staging:
        output = staging / "output"
        output.mkdir()
        result = sandbox.run(
            ["/usr/bin/ffmpeg", "-nostdin", "-hide_banner", "-v", "error", *MEDIA_INPUT_OPTIONS,
             "-t", str(MAX_SECONDS), "-i", f"{INPUT_DIR}/{name}", "-map", "0:v:0", "-an", "-sn",
             "-dn", "-vf",
             f"select='isnan(prev_selected_t)+gte(t-prev_selected_t,{interval:.3f})',"
             f"scale={SIDE}:{SIDE}:flags=bilinear",
             "-fps_mode", "vfr", "-frames:v", str(MAX_FRAMES), "-pix_fmt", "rgb24",
             "-f", "rawvideo",
             f"{OUTPUT_DIR}/{FRAMES_NAME}"],
            input_file=source, output_dir=output, limits=frame_limits, input_name=name,
            extra_paths=MEDIA_PATHS,
        ).require_success()
        files = [path for path in result.files if path.name == FRAMES_NAME]
        size = files[0].stat().st_size if files else 0
        if size == 0:
            raise ConversionRefused("ffmpeg decoded no frame of the video")
        if size % FRAME_BYTES or size > FRAME_BYTES * MAX_FRAMES:
            raise ConversionRefused("ffmpeg's frames were not whole frames of the expected size")
        data = files[0].read_bytes()
    frames = tuple(data[start:start + FRAME_BYTES] for start in range(0, size, FRAME_BYTES))
    return SampledFrames(frames, interval, duration)
