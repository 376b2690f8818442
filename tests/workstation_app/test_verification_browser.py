"""Two officers verify a photo at the desk, in a real browser with JavaScript off.

Two sources sent the same photo (one resized on its way); the command line imported both. The
first officer reads the photo's embedded metadata, sees the similar photo from the other source,
marks the photo corroborated with grounds, and is refused when she tries to confirm it herself.
A second officer takes the desk ("Change person"), confirms, and finds the photo in the clusters
and a message by searching. Every page passes axe-core; screenshots land in
test-artifacts/desk-verification/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.pictures import picture
from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.bundles import Sent
from tests.workstation.media import jpeg_with_gps
from tests.workstation_app.desk_browser import DeskPage, new_page, running_desk

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_two_officers_assess_and_confirm_a_photo_sent_by_two_sources(
    browser: Any, workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    for name, content, source in (
        ("yard.jpg", picture(7, "original", tmp_path), "brave tortoise"),
        ("from-telegram.jpg", picture(7, "resized", tmp_path), "quiet heron"),
        ("camera.jpg", jpeg_with_gps(), "quiet heron"),
    ):
        code, _out, err = workstation.run("import", str(make_bundle([
            Sent("file", content, name=name, source=source)])))
        assert code == 0, err
    code, _out, err = workstation.run("import", str(make_bundle([Sent(
        "message", "Нас затрымалі ля Акрэсціна, у двары было сорак чалавек.".encode(),
        source="brave tortoise")])))
    assert code == 0, err
    ids = {item["name"]: item["id"]
           for item in json.loads(workstation.run("list", "--json")[1])}
    shots = artifacts_dir / "desk-verification"
    for old in shots.glob("*.png") if shots.is_dir() else []:
        old.unlink()

    with running_desk(workstation.store) as desk:
        officer = DeskPage(new_page(browser), desk, shots)
        officer.page.goto(desk.launch_url)
        officer.page.fill("#name", "Anna Petrova")
        officer.submit("Start working")

        officer.open(f"/items/{ids['camera.jpg']}")
        text = officer.text()
        assert "TestCam Z9" in text
        assert "53.9" in text
        officer.check("item-metadata")

        officer.open(f"/items/{ids['yard.jpg']}")
        officer.follow("from-telegram.jpg")
        assert "quiet heron" in officer.text()
        officer.open(f"/items/{ids['yard.jpg']}")
        officer.page.select_option("#status", "corroborated")
        officer.page.fill("#grounds-source", "Two unconnected sources sent it.")
        officer.page.fill("#grounds-technical", "Same PDQ hash family; no edits in EXIF.")
        officer.page.fill("#note", "Ask the second source for the full-size file.")
        officer.submit("Record the assessment")
        text = officer.text()
        assert "Assessment recorded in the custody log." in text
        assert "awaiting a second person’s confirmation" in text
        officer.check("item-assessed")

        officer.submit("Confirm as the second person")
        assert "you cannot confirm it. Nothing was recorded" in officer.text()
        officer.check("item-own-confirmation-refused")

        officer.submit("Change person")
        officer.page.fill("#name", "Boris Ivanou")
        officer.submit("Start working")
        officer.open(f"/items/{ids['yard.jpg']}")
        officer.submit("Confirm as the second person")
        text = officer.text()
        assert "Your confirmation was recorded in the custody log." in text
        assert "Confirmed by Boris Ivanou" in text
        officer.check("item-confirmed")

        officer.follow("Similar items")
        text = officer.text()
        assert "Cluster 1: 2 items from brave tortoise, quiet heron" in text
        officer.check("similar")

        officer.follow("Search")
        officer.page.fill("#search-q", "Akrestsina")
        officer.submit("Search")
        assert "сорак чалавек" in officer.text()
        officer.check("search")

    shown = json.loads(workstation.run("show", ids["yard.jpg"], "--json")[1])
    assert [(a["actor"], a["status"]) for a in shown["assessments"]] == [
        ("Anna Petrova", "corroborated")]
    assert shown["assessments"][0]["confirmed_by"]["actor"] == "Boris Ivanou"
