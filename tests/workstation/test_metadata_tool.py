"""mat2 through its command line: what it shows, what it strips, and what it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workstation.media import jpeg_with_gps, png_with_text
from workstation.errors import MetadataToolError
from workstation.metadata_tool import FormatNotSupported, MetadataTool, parse_show_output


@pytest.fixture(scope="module")
def mat2() -> MetadataTool:
    return MetadataTool()


def test_a_missing_mat2_says_which_package_to_install() -> None:
    with pytest.raises(MetadataToolError, match="apt install mat2"):
        MetadataTool("mat2-that-is-not-installed")


def test_the_version_is_reported_without_the_name(mat2: MetadataTool) -> None:
    version = mat2.version()
    assert version[0].isdigit()
    assert "mat2" not in version


def test_gps_and_camera_are_shown(mat2: MetadataTool, tmp_path: Path) -> None:
    photo = tmp_path / "IMG_2041.jpg"
    photo.write_bytes(jpeg_with_gps(camera="TestCam Z9"))
    report = mat2.show(photo)
    assert report.supported
    assert report.fields["Make"] == "TestCam Z9"
    assert any(key.startswith("GPS") for key in report.fields)


def test_cleaning_removes_what_was_shown(mat2: MetadataTool, tmp_path: Path) -> None:
    for name, data in (("IMG_2041.jpg", jpeg_with_gps()), ("scan.png", png_with_text("Ivan"))):
        path = tmp_path / name
        path.write_bytes(data)
        assert mat2.show(path).fields
        mat2.clean_in_place(path)
        after = mat2.show(path)
        assert after.supported
        assert not any(key.startswith("GPS") or key == "Make" for key in after.fields)
        assert "Ivan" not in path.read_bytes().decode("latin-1")


def test_a_format_mat2_does_not_know_is_reported_not_raised(mat2: MetadataTool,
                                                           tmp_path: Path) -> None:
    odd = tmp_path / "molecule.xyz"
    odd.write_bytes(b"3\nwater\nO 0 0 0\n")
    report = mat2.show(odd)
    assert not report.supported
    assert report.note == "format not supported by mat2"
    with pytest.raises(FormatNotSupported):
        mat2.clean_in_place(odd)
    assert odd.read_bytes() == b"3\nwater\nO 0 0 0\n"


def test_a_damaged_file_of_a_known_format_is_not_cleaned(mat2: MetadataTool,
                                                        tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(jpeg_with_gps()[:40])
    with pytest.raises(FormatNotSupported):
        mat2.clean_in_place(broken)


def test_the_show_output_becomes_fields_with_member_prefixes() -> None:
    text = (
        "[+] Metadata for /tmp/x.docx:\n"
        "  - docProps/core.xml:\n"
        "    creator: Ivan Ivanov\n"
        "    lastModifiedBy: unit 3214\n"
        "  word/settings.xml:\n"
        "    rsid: 00A1\n"
        "Comment: top level: with a colon\n"
        "No metadata found\n"
    )
    assert parse_show_output(text) == {
        "docProps/core.xml/creator": "Ivan Ivanov",
        "docProps/core.xml/lastModifiedBy": "unit 3214",
        "word/settings.xml/rsid": "00A1",
        "word/settings.xml/Comment": "top level: with a colon",
    }
