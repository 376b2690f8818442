"""Renditions at the desk: made in the sandbox on request, shown page by page, served only as
the rendition's own files with a fixed type; an original never reaches the browser."""

from __future__ import annotations

import re

from tests.support.workstation import MakeBundle
from tests.workstation.bundles import Sent, consent_document
from tests.workstation.documents import pdf_with_pages, png_claiming
from tests.workstation_app.conftest import Officer
from workstation.catalogue_index import ItemFilter

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _import(officer: Officer, make_bundle: MakeBundle, sent: list[Sent]) -> None:
    consent = consent_document(["platform", "un"], "2026-11-27T05:11:16.055418Z")
    for thing in sent:
        thing.consent = consent
    assert officer.post("/import", {"path": str(make_bundle(sent))}).status_code == 200


def _item(officer: Officer, name: str) -> str:
    return officer.desk.service.list_items(ItemFilter(text=name)).rows[0].item_id


def test_a_pdf_is_shown_page_by_page_as_images_made_in_the_sandbox(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    _import(officer, make_bundle, [Sent("file", pdf_with_pages(3), name="протокол.pdf")])
    item_id = _item(officer, "протокол")
    assert "Make a safe rendition" in officer.get(f"/items/{item_id}").text

    made = officer.post(f"/items/{item_id}/rendition")

    assert made.status_code == 303
    page = officer.get(f"/items/{item_id}/rendition").text
    assert "Page 1 of 3" in page
    image = re.search(r'<img src="([^"]+)"', page)
    assert image
    served = officer.client.get(image.group(1))
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.data.startswith(PNG_MAGIC)
    assert "Page 3 of 3" in officer.get(f"/items/{item_id}/rendition?page=3").text
    assert "Page 3 of 3" in officer.get(f"/items/{item_id}/rendition?page=99").text
    render = [e for e in officer.desk.service.custody_entries() if e["action"] == "render"]
    assert [(e["actor"], e["item"]) for e in render] == [("Anna Petrova", item_id)]


def test_a_rendition_is_made_once_and_reused(officer: Officer, make_bundle: MakeBundle) -> None:
    _import(officer, make_bundle, [Sent("file", pdf_with_pages(1), name="one.pdf")])
    item_id = _item(officer, "one.pdf")
    officer.get(f"/items/{item_id}")
    officer.post(f"/items/{item_id}/rendition")
    officer.post(f"/items/{item_id}/rendition")
    render = [e for e in officer.desk.service.custody_entries() if e["action"] == "render"]
    assert len(render) == 1
    assert "Open the safe rendition" in officer.get(f"/items/{item_id}").text


def test_a_file_the_sandbox_refuses_says_so_in_plain_words(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    bomb = png_claiming(100_000, 100_000)
    _import(officer, make_bundle, [Sent("file", bomb, name="huge.png")])
    item_id = _item(officer, "huge.png")
    officer.get(f"/items/{item_id}")
    officer.post(f"/items/{item_id}/rendition")
    page = officer.get(f"/items/{item_id}/rendition")
    assert page.status_code == 200
    assert "There is no safe rendition of this file." in page.text
    assert "Traceback" not in page.text


def test_only_files_the_rendition_lists_are_served(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    _import(officer, make_bundle, [Sent("file", pdf_with_pages(1), name="one.pdf")])
    item_id = _item(officer, "one.pdf")
    officer.get(f"/items/{item_id}")
    officer.post(f"/items/{item_id}/rendition")
    for name in ("rendition.json", "..%2F..%2Foriginals", "content", "page-0009.png"):
        assert officer.client.get(f"/items/{item_id}/rendition/{name}").status_code == 404
    assert officer.client.get(f"/items/{'0' * 64}/rendition/page-0001.png").status_code == 404
