"""Converters: turn one untrusted original into something safe to show, inside the sandbox.

`convert_file` reads the first bytes of the original and decides what it is by its content
(`sniff_type`); the file's name is never asked. Then one function per kind:

- PDF: `pdfinfo` counts the pages, `pdftoppm` renders at most `max_pages` of them as PNG,
  scaled so the longer side is 1600 px whatever size the page claims;
- office documents (DOC/XLS/PPT, DOCX/XLSX/PPTX, ODT/ODS/ODP, RTF): LibreOffice headless
  converts to PDF with a fresh profile in the sandbox's /tmp, then that PDF goes through the
  PDF converter in a second sandbox (LibreOffice's output is no more trusted than its input);
- images (JPEG, PNG, WebP, TIFF, GIF; HEIC/HEIF through libheif's `heif-convert`): the system
  Python's Pillow, restricted to the one format sniffed, checks the pixel count before decoding
  and re-encodes the first frame as PNG;
- video and audio: `ffprobe` (allowed only the demuxers of ordinary media files and only the
  `file` protocol, so playlists cannot pull in other files) says which streams there are;
  video gets up to `max_keyframes` keyframe PNGs and a 360p, 15 frames/s WebM (VP9 + Opus)
  copy, audio an Ogg/Opus copy,
  both of at most `max_media_seconds`;
- text and messages: decoded here as UTF-8 with replacement, control and bidirectional
  formatting characters removed (no parser runs on them, so no sandbox is needed);
- anything else: no rendition, only its size and type.

Every tool runs through `Sandbox.run` with the limits given; a tool stopped by a limit or
failing raises a `ConversionRefused` subclass (see `workstation.errors`) whose message is
recorded as the reason. What a tool leaves in /output is checked before it is believed: page
and frame PNGs must carry the PNG signature and dimensions within the pixel limit.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import struct
import unicodedata
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from workstation.errors import ConversionRefused
from workstation.sandbox import INPUT_DIR, OUTPUT_DIR, Sandbox, SandboxLimits, SandboxResult

KIND_PAGES = "pages"
KIND_IMAGE = "image"
KIND_VIDEO = "video"
KIND_AUDIO = "audio"
KIND_TEXT = "text"
KIND_NONE = "none"
KINDS = (KIND_PAGES, KIND_IMAGE, KIND_VIDEO, KIND_AUDIO, KIND_TEXT, KIND_NONE)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SNIFF_BYTES = 64 * 1024
PAGE_LONG_SIDE = 1600
KEYFRAME_WIDTH = 640
VIDEO_HEIGHT = 360
VIDEO_FPS = 15
# Paths besides /usr that the tools read: fonts for rendering, LibreOffice's registry (a link
# into /etc), and the alternatives some shared libraries are reached through.
FONT_PATHS = ("/etc/fonts", "/etc/alternatives")
OFFICE_PATHS = (*FONT_PATHS, "/etc/libreoffice")
MEDIA_PATHS = ("/etc/alternatives",)
# ffmpeg's demuxers for ordinary media files; playlists (hls, concat), image sequences and
# network formats are not among them.
MEDIA_DEMUXERS = (
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,wav,ogg,mp3,flac,flv,mpegts,mpeg,amr,aac,asf,"
    "caf,aiff,w64"
)
MEDIA_INPUT_OPTIONS = ("-format_whitelist", MEDIA_DEMUXERS, "-protocol_whitelist", "file")
OFFICE_EXTENSIONS = {
    "ole": "doc", "docx": "docx", "xlsx": "xlsx", "pptx": "pptx",
    "odt": "odt", "ods": "ods", "odp": "odp", "rtf": "rtf",
}
IMAGE_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF", "gif": "GIF"}
# Bidirectional formatting characters reorder what is shown (a file name or a sentence can be
# made to read backwards); they are removed from text renditions.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_PAGES_LINE = re.compile(rb"^Pages:\s+(\d+)\s*$", re.MULTILINE)

# Run by the system Python inside the sandbox: it has no access to anything but the image.
PILLOW_SCRIPT = """
import json, sys
from PIL import Image, ImageOps
source, fmt, limit, target = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
Image.MAX_IMAGE_PIXELS = None  # checked below, before any pixel is decoded
image = Image.open(source, formats=[fmt])
width, height = image.size
if width * height > limit:
    print(f"pixels {width} {height}")
    sys.exit(3)
animated = bool(getattr(image, "is_animated", False))
image.seek(0)
image.load()
image = ImageOps.exif_transpose(image)
if image.mode not in ("RGB", "RGBA", "L", "LA"):
    has_alpha = "A" in image.mode or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
image.save(target, format="PNG", compress_level=1)
print(json.dumps({"width": image.size[0], "height": image.size[1], "animated": animated}))
"""


@dataclasses.dataclass(frozen=True)
class Converted:
    """What a converter made: files in the work directory, or text, and what it used."""

    kind: str
    files: tuple[Path, ...] = ()
    text: str | None = None
    tools: tuple[str, ...] = ()
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclasses.dataclass
class Converter:
    """The sandbox, the limits and a work directory; `run` gives each tool a fresh /output."""

    sandbox: Sandbox
    limits: SandboxLimits
    work: Path
    used: list[str] = field(default_factory=list)
    _runs: int = 0

    def output_dir(self) -> Path:
        self._runs += 1
        path = self.work / f"run-{self._runs}"
        path.mkdir(mode=0o700)
        return path

    def run(self, command: list[str], source: Path | None, input_name: str,
            extra_paths: tuple[str, ...] = FONT_PATHS,
            limits: SandboxLimits | None = None,
            environment: Mapping[str, str] | None = None) -> SandboxResult:
        """Run one tool; `ConversionRefused` if it hit a limit or failed."""
        return self.run_unchecked(command, source, input_name, extra_paths,
                                  limits=limits, environment=environment).require_success()

    def run_unchecked(self, command: list[str], source: Path | None, input_name: str,
                      extra_paths: tuple[str, ...] = FONT_PATHS,
                      tool: str | None = None,
                      limits: SandboxLimits | None = None,
                      environment: Mapping[str, str] | None = None) -> SandboxResult:
        tool = tool or Path(command[0]).name
        if tool not in self.used:
            self.used.append(tool)
        result = self.sandbox.run(
            command, input_file=source, output_dir=self.output_dir(),
            limits=limits or self.limits, input_name=input_name, extra_paths=extra_paths,
            environment=environment,
        )
        return dataclasses.replace(result, tool=tool)


# Sniffing ------------------------------------------------------------------------------------


def sniff_type(head: bytes, path: Path) -> str:
    """The type of a file by its first bytes: pdf, an office format, an image format, media,
    text or unknown. `path` is read only for ZIP-based formats, to see which one it is."""
    if head[:1024].find(b"%PDF-") != -1:
        return "pdf"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path)
    image = _sniff_image(head)
    if image is not None:
        return image
    if _looks_like_media(head):
        return "media"
    if _looks_like_text(head):
        return "text"
    return "unknown"


def _sniff_image(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim",
                                                  b"heis", b"hevc", b"hevx", b"heif"):
        return "heif"
    return None


def _looks_like_media(head: bytes) -> bool:
    if head[4:8] == b"ftyp":
        return True  # ISO media (MP4, MOV, M4A, 3GP); HEIF brands were taken above
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"WAVE"):
        return True
    if head[:4] in (b"\x1a\x45\xdf\xa3", b"OggS", b"fLaC", b"FLV\x01", b"#!AM", b"FORM",
                    b"caff", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75"):
        return True
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return True  # MP3 (tagged or a bare frame) and ADTS AAC
    return len(head) > 376 and head[0] == head[188] == head[376] == 0x47  # MPEG-TS


def _sniff_zip(path: Path) -> str:
    """Which ZIP-based office format, from its member names and ODF's `mimetype`."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    mimetype = member.read(100).decode("ascii", "replace")
                for suffix, kind in (("text", "odt"), ("spreadsheet", "ods"),
                                     ("presentation", "odp")):
                    if mimetype.startswith(f"application/vnd.oasis.opendocument.{suffix}"):
                        return kind
            if "[Content_Types].xml" in names:
                for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
                    if any(name.startswith(prefix) for name in names):
                        return kind
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
        return "unknown"
    return "unknown"


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    sample = head.decode("utf-8", "replace")
    bad = sum(1 for ch in sample if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\n\r\t\f"))
    return bad <= max(4, len(sample) // 20)


# Converters ----------------------------------------------------------------------------------


def convert_file(sandbox: Sandbox, source: Path, work: Path, limits: SandboxLimits,
                 *, is_message: bool = False) -> Converted:
    """Choose the converter by content and run it; `ConversionRefused` if a tool is stopped."""
    converter = Converter(sandbox, limits, work)
    with source.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    kind = "text" if is_message else sniff_type(head, source)
    handlers: dict[str, Callable[[], Converted]] = {
        "pdf": lambda: convert_pdf(converter, source),
        "media": lambda: convert_media(converter, source),
        "text": lambda: convert_text(source, limits),
        **{office: functools.partial(convert_office, converter, source, extension)
           for office, extension in OFFICE_EXTENSIONS.items()},
        **{image: functools.partial(convert_image, converter, source, image)
           for image in (*IMAGE_FORMATS, "heif")},
    }
    if kind in handlers:
        try:
            return handlers[kind]()
        except ConversionRefused as exc:
            exc.tools = tuple(converter.used)
            raise
    return Converted(KIND_NONE, note="no safe rendition for this type; only its metadata is"
                                     " shown", details={"type": kind})


def convert_pdf(converter: Converter, source: Path, *, tools: tuple[str, ...] = ()) -> Converted:
    name = "document.pdf"
    info = converter.run(["/usr/bin/pdfinfo", f"{INPUT_DIR}/{name}"], source, name)
    match = _PAGES_LINE.search(info.stdout)
    if match is None:
        raise ConversionRefused("pdfinfo found no page count in the PDF; it may be damaged")
    total = int(match.group(1))
    if total == 0:
        raise ConversionRefused("the PDF has no pages")
    count = min(total, converter.limits.max_pages)
    pages = converter.run_unchecked(
        ["/bin/sh", "-c", pdftoppm_script(count, converter.limits.render_processes)],
        source, name, tool="pdftoppm",
    ).require_success()
    files = _checked_pngs(pages.files, converter.limits, "page")
    if len(files) != count:
        raise ConversionRefused(
            f"pdftoppm made {len(files)} of the {count} pages asked for; the PDF may be damaged"
        )
    note = None
    if total > count:
        note = f"only the first {count} of {total} pages are shown"
    return Converted(KIND_PAGES, files, tools=(*tools, "pdfinfo", "pdftoppm"), note=note,
                     details={"pages_total": total, "pages_rendered": count})


def pdftoppm_script(count: int, processes: int) -> str:
    """A shell script running pdftoppm on `processes` page ranges at once (one per core), and
    failing with the first failure. Only numbers and fixed paths go into it."""
    processes = max(1, min(processes, count))
    bounds = [count * n // processes for n in range(processes + 1)]
    lines = []
    for n in range(processes):
        lines.append(
            f"/usr/bin/pdftoppm -png -scale-to {PAGE_LONG_SIDE} -f {bounds[n] + 1}"
            f" -l {bounds[n + 1]} {INPUT_DIR}/document.pdf {OUTPUT_DIR}/page & p{n}=$!")
    for n in range(processes):
        lines.append(f"wait $p{n} || exit $?")
    return "\n".join(lines)


def convert_office(converter: Converter, source: Path, extension: str) -> Converted:
    name = f"document.{extension}"
    result = converter.run(
        ["/usr/bin/soffice", "--headless", "--norestore", "--nolockcheck", "--nodefault",
         "--nologo", "-env:UserInstallation=file:///tmp/profile", "--convert-to", "pdf",
         "--outdir", OUTPUT_DIR, f"{INPUT_DIR}/{name}"],
        source, name, extra_paths=OFFICE_PATHS,
    )
    pdfs = [path for path in result.files if path.name == "document.pdf"]
    if not pdfs:
        raise ConversionRefused("LibreOffice could not read the document (it made no PDF);"
                                " it may be damaged or not really an office file")
    return convert_pdf(converter, pdfs[0], tools=("soffice",))


def convert_image(converter: Converter, source: Path, kind: str) -> Converted:
    limits = converter.limits
    tools: tuple[str, ...] = ()
    fmt = IMAGE_FORMATS.get(kind, "PNG")
    if kind == "heif":
        source = _decode_heif(converter, source)
        tools = ("heif-info", "heif-convert")
    name = f"image.{kind}"
    result = converter.run_unchecked(
        ["/usr/bin/python3", "-I", "-c", PILLOW_SCRIPT, f"{INPUT_DIR}/{name}", fmt,
         str(limits.max_pixels), f"{OUTPUT_DIR}/image.png"],
        source, name, extra_paths=(), tool="pillow",
    )
    claimed = re.match(rb"pixels (\d+) (\d+)", result.stdout)
    if result.limit_hit is None and result.exit_status == 3 and claimed:
        _check_pixels(int(claimed.group(1)), int(claimed.group(2)), limits)
    result.require_success()
    report = _json_line(result.stdout)
    if report is None:
        raise ConversionRefused("the image decoder gave no report on the image")
    files = _checked_pngs(result.files, limits, "image")
    note = "an animated image: only its first frame is shown" if report.get("animated") else None
    return Converted(KIND_IMAGE, files, tools=(*tools, "pillow"), note=note,
                     details={"width": report["width"], "height": report["height"],
                              "type": kind})


def _decode_heif(converter: Converter, source: Path) -> Path:
    name = "image.heic"
    info = converter.run(["/usr/bin/heif-info", f"{INPUT_DIR}/{name}"], source, name,
                         extra_paths=())
    sizes = re.findall(rb"image: (\d+)x(\d+)", info.stdout)
    if not sizes:
        raise ConversionRefused("heif-info found no image in the HEIF file")
    width, height = (int(value) for value in sizes[0])
    _check_pixels(width, height, converter.limits)
    result = converter.run(
        ["/usr/bin/heif-convert", f"{INPUT_DIR}/{name}", f"{OUTPUT_DIR}/decoded.png"],
        source, name, extra_paths=(),
    )
    decoded = [path for path in result.files if path.name == "decoded.png"]
    if not decoded:
        raise ConversionRefused("heif-convert made no image from the HEIF file")
    return _checked_pngs(decoded, converter.limits, "image")[0]


def convert_media(converter: Converter, source: Path) -> Converted:
    limits = converter.limits
    name = "media"
    probe = converter.run(
        ["/usr/bin/ffprobe", "-v", "error", *MEDIA_INPUT_OPTIONS, "-print_format", "json",
         "-show_format", "-show_streams", f"{INPUT_DIR}/{name}"],
        source, name, extra_paths=MEDIA_PATHS,
    )
    try:
        described = json.loads(probe.stdout)
    except ValueError as exc:
        raise ConversionRefused("ffprobe could not describe the media file") from exc
    streams = described.get("streams") or []
    video = [s for s in streams if s.get("codec_type") == "video"
             and not (s.get("disposition") or {}).get("attached_pic")]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    duration = _float((described.get("format") or {}).get("duration"))
    details: dict[str, Any] = {"duration_seconds": duration,
                               "format": (described.get("format") or {}).get("format_name")}
    note = None
    if duration > limits.max_media_seconds:
        note = f"only the first {limits.max_media_seconds} s of {duration:.0f} s are shown"
    head = ["/usr/bin/ffmpeg", "-nostdin", "-hide_banner", "-v", "error", *MEDIA_INPUT_OPTIONS]
    if video:
        interval = max(1.0, min(duration, limits.max_media_seconds) / limits.max_keyframes)
        frames = converter.run(
            [*head, "-skip_frame", "nokey", "-t", str(limits.max_media_seconds),
             "-i", f"{INPUT_DIR}/{name}", "-map", "0:v:0", "-an",
             "-vf", f"select='isnan(prev_selected_t)+gte(t-prev_selected_t,{interval:.3f})',"
                    f"scale='min({KEYFRAME_WIDTH},iw)':-2",
             "-fps_mode", "vfr", "-frames:v", str(limits.max_keyframes),
             f"{OUTPUT_DIR}/keyframe-%03d.png"],
            source, name, extra_paths=MEDIA_PATHS,
        )
        keyframes = _checked_pngs(frames.files, limits, "keyframe")
        copy = converter.run(
            [*head, "-t", str(limits.max_media_seconds), "-i", f"{INPUT_DIR}/{name}",
             "-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn", "-map_metadata", "-1",
             "-vf", f"scale=-2:'min({VIDEO_HEIGHT},ih)',fps={VIDEO_FPS}", "-c:v", "libvpx-vp9",
             "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-b:v", "500k",
             "-c:a", "libopus", "-b:a", "64k", "-ac", "2", f"{OUTPUT_DIR}/video.webm"],
            source, name, extra_paths=MEDIA_PATHS, limits=_transcoding(limits),
        )
        videos = [path for path in copy.files if path.name == "video.webm"]
        if not videos:
            raise ConversionRefused("ffmpeg made no video copy")
        details["keyframes"] = len(keyframes)
        return Converted(KIND_VIDEO, (*keyframes, videos[0]), tools=("ffprobe", "ffmpeg"),
                         note=note, details=details)
    if audio:
        copy = converter.run(
            [*head, "-t", str(limits.max_media_seconds), "-i", f"{INPUT_DIR}/{name}",
             "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1", "-c:a", "libopus",
             "-b:a", "64k", "-ac", "2", f"{OUTPUT_DIR}/audio.ogg"],
            source, name, extra_paths=MEDIA_PATHS, limits=_transcoding(limits),
        )
        sounds = [path for path in copy.files if path.name == "audio.ogg"]
        if not sounds:
            raise ConversionRefused("ffmpeg made no audio copy")
        return Converted(KIND_AUDIO, (sounds[0],), tools=("ffprobe", "ffmpeg"), note=note,
                         details=details)
    return Converted(KIND_NONE, tools=("ffprobe",),
                     note="no safe rendition: the media file has no audio or video stream",
                     details=details)


def _transcoding(limits: SandboxLimits) -> SandboxLimits:
    """Re-encoding minutes of media costs minutes of CPU: it gets the media budget."""
    return dataclasses.replace(limits, cpu_seconds=max(limits.cpu_seconds,
                                                       limits.media_cpu_seconds),
                               wall_seconds=max(limits.wall_seconds, limits.media_wall_seconds))


def convert_text(source: Path, limits: SandboxLimits) -> Converted:
    with source.open("rb") as handle:
        data = handle.read(limits.max_text_bytes + 1)
    note = None
    if len(data) > limits.max_text_bytes:
        data = data[: limits.max_text_bytes]
        note = f"only the first {limits.max_text_bytes // 1024} KiB of the text are shown"
    return Converted(KIND_TEXT, text=clean_text(data), note=note)


def clean_text(data: bytes) -> str:
    """Decode text for display: UTF-8 (or UTF-16 with a byte-order mark) with replacement
    characters, line ends made \\n, control and bidirectional formatting characters removed.
    HTML escaping is left to whoever puts it in a page (templates escape every value)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", "replace")
    else:
        text = data.decode("utf-8", "replace").removeprefix("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _BIDI.sub("", text)
    return "".join(
        ch for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co")
    )


# Checks of what a tool produced --------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR, or None if the file is not a PNG."""
    with path.open("rb") as handle:
        head = handle.read(24)
    if len(head) < 24 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def _checked_pngs(files: tuple[Path, ...] | list[Path], limits: SandboxLimits,
                  what: str) -> tuple[Path, ...]:
    checked = []
    for path in sorted(files):
        if path.suffix != ".png":
            continue
        size = png_size(path)
        if size is None:
            raise ConversionRefused(f"the converter produced a {what} that is not a PNG image")
        _check_pixels(*size, limits)
        checked.append(path)
    return tuple(checked)


def _check_pixels(width: int, height: int, limits: SandboxLimits) -> None:
    if width * height > limits.max_pixels:
        raise ConversionRefused(
            f"the image claims {width} × {height} pixels, more than the"
            f" {limits.max_pixels // 1_000_000} million allowed; it may be a decompression bomb"
        )


def _json_line(stdout: bytes) -> dict[str, Any] | None:
    for line in reversed(stdout.decode("utf-8", "replace").splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _float(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0
