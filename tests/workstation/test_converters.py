"""Each converter on a small benign file of its kind, chosen by content, never by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workstation import documents
from workstation.converters import (
    KIND_AUDIO,
    KIND_IMAGE,
    KIND_NONE,
    KIND_PAGES,
    KIND_TEXT,
    KIND_VIDEO,
    Converted,
    Converter,
    clean_text,
    convert_file,
    png_size,
)
from workstation.sandbox import Sandbox, SandboxLimits


def convert(tmp_path: Path, name: str, data: bytes, limits: SandboxLimits | None = None
            ) -> Converted:
    source = tmp_path / name
    source.write_bytes(data)
    work = tmp_path / f"work-{name}"
    work.mkdir()
    return convert_file(Sandbox(), source, work, limits or SandboxLimits())


def test_a_pdf_becomes_one_png_per_page(tmp_path: Path) -> None:
    converted = convert(tmp_path, "report.pdf", documents.pdf_with_pages(3))
    assert converted.kind == KIND_PAGES
    assert len(converted.files) == 3
    assert [png_size(path) for path in converted.files] == [(1131, 1600)] * 3
    assert converted.details == {"pages_total": 3, "pages_rendered": 3}
    assert converted.note is None


def test_pages_beyond_the_limit_are_named_not_rendered(tmp_path: Path) -> None:
    converted = convert(tmp_path, "long.pdf", documents.pdf_with_pages(12),
                        SandboxLimits(max_pages=4))
    assert len(converted.files) == 4
    assert converted.note == "only the first 4 of 12 pages are shown"


def test_a_pdf_named_as_a_photo_is_still_a_pdf(tmp_path: Path) -> None:
    converted = convert(tmp_path, "holiday.jpg", documents.pdf_with_pages(1))
    assert converted.kind == KIND_PAGES


@pytest.mark.slow
@pytest.mark.parametrize(("name", "data"), [
    ("letter.docx", documents.docx()),
    ("letter.odt", documents.odt()),
    ("table.xlsx", documents.xlsx()),
    ("note.rtf", documents.rtf()),
])
def test_office_documents_become_pages_through_libreoffice(tmp_path: Path, name: str,
                                                           data: bytes) -> None:
    converted = convert(tmp_path, name, data)
    assert converted.kind == KIND_PAGES
    assert converted.tools == ("soffice", "pdfinfo", "pdftoppm")
    assert len(converted.files) == 1
    size = png_size(converted.files[0])
    assert size is not None
    assert max(size) == 1600


@pytest.mark.parametrize("name", ["photo.jpg", "photo.png", "photo.webp", "photo.tiff",
                                  "photo.gif"])
def test_images_are_decoded_and_re_encoded_as_png(tmp_path: Path, name: str) -> None:
    data = documents.pattern_image(tmp_path, name, 320, 240)
    converted = convert(tmp_path, "renamed.bin", data)
    assert converted.kind == KIND_IMAGE
    assert [png_size(path) for path in converted.files] == [(320, 240)]
    assert converted.tools == ("pillow",)


def test_heic_is_decoded_by_libheif(tmp_path: Path) -> None:
    jpeg = tmp_path / "source.jpg"
    jpeg.write_bytes(documents.pattern_image(tmp_path, "pattern.jpg", 320, 240))
    heic = documents.encode_heic(jpeg, tmp_path / "photo.heic")
    converted = convert(tmp_path, "photo", heic)
    assert converted.kind == KIND_IMAGE
    assert [png_size(path) for path in converted.files] == [(320, 240)]
    assert converted.tools == ("heif-info", "heif-convert", "pillow")


def test_a_video_gets_keyframes_and_a_small_webm_copy(tmp_path: Path) -> None:
    data = documents.encode_with_ffmpeg(
        tmp_path, "clip.mp4", "-f", "lavfi", "-i", "testsrc=size=640x480:rate=25", "-f",
        "lavfi", "-i", "sine=frequency=440", "-t", "4", "-pix_fmt", "yuv420p", "-c:v",
        "libx264", "-g", "25", "-c:a", "aac")
    converted = convert(tmp_path, "clip", data)
    assert converted.kind == KIND_VIDEO
    keyframes = [path for path in converted.files if path.suffix == ".png"]
    assert 1 <= len(keyframes) <= 12
    assert all(png_size(path) == (640, 480) for path in keyframes)
    copy = converted.files[-1]
    assert copy.name == "video.webm"
    assert copy.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
    assert converted.details["duration_seconds"] == pytest.approx(4, abs=0.2)


def test_audio_gets_an_opus_copy(tmp_path: Path) -> None:
    data = documents.encode_with_ffmpeg(tmp_path, "voice.wav", "-f", "lavfi", "-i",
                                        "sine=frequency=300", "-t", "2")
    converted = convert(tmp_path, "voice.bin", data)
    assert converted.kind == KIND_AUDIO
    [copy] = converted.files
    assert copy.name == "audio.ogg"
    assert copy.read_bytes()[:4] == b"OggS"


def test_text_is_decoded_without_controls_or_direction_tricks(tmp_path: Path) -> None:
    data = "Звіт\r\nfile\u202egpj.exe\x1b[31m red\x07\n".encode() + b"\xff end"
    converted = convert(tmp_path, "message", data)
    assert converted.kind == KIND_TEXT
    assert converted.text == "Звіт\nfilegpj.exe[31m red\n\ufffd end"
    assert clean_text("\ufeffa\u2066b\u2069".encode()) == "ab"


def test_unknown_content_gets_no_rendition(tmp_path: Path) -> None:
    converted = convert(tmp_path, "document.pdf", b"\x00\x01binary\x00" * 100)
    assert converted.kind == KIND_NONE
    assert converted.note is not None
    assert "no safe rendition for this type" in converted.note
    assert converted.files == ()


def test_a_tool_gets_the_environment_its_converter_passes(tmp_path: Path) -> None:
    converter = Converter(Sandbox(), SandboxLimits(), tmp_path)
    result = converter.run(["/usr/bin/env"], None, "nothing",
                           environment={"OMP_THREAD_LIMIT": "1"})
    shown = result.stdout.decode().splitlines()
    assert "OMP_THREAD_LIMIT=1" in shown
    assert "LANG=C.UTF-8" in shown  # the sandbox's own environment stays
