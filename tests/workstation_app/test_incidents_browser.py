"""An officer records an incident in a real browser with JavaScript off: from the item page, a
proposed form, the incident page and the timeline; every one of them passes axe-core."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.incident_story import PHOTO, two_sources
from tests.workstation_app.desk_browser import DeskPage, new_page, running_desk

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BUTTONS = {
    "en": ("Start working", "Record the incident"),
    "be": ("Пачаць працу", "Запісаць інцыдэнт"),
    "ru": ("Начать работу", "Записать инцидент"),
}
NEW_INCIDENT = {"en": "Start a new incident from this item",
                "be": "Пачаць новы інцыдэнт з гэтага матэрыялу",
                "ru": "Начать новый инцидент с этого материала"}


@pytest.mark.parametrize("language", ["en", "be", "ru"])
def test_an_incident_is_recorded_from_an_item_without_javascript(
    browser: Any, workstation: Workstation, make_bundle: MakeBundle, language: str
) -> None:
    code, _out, err = workstation.run("import", str(make_bundle(two_sources(["platform"],
                                                                            ["platform"]))))
    assert code == 0, err
    start, record = BUTTONS[language]
    with running_desk(workstation.store, language) as desk:
        officer = DeskPage(new_page(browser), desk, None)
        officer.page.goto(desk.launch_url)
        officer.page.fill("#name", "Test Person")
        officer.submit(start)
        officer.open("/timeline")
        officer.check("timeline-empty")
        officer.open("/?q=" + PHOTO)
        officer.follow(PHOTO)
        officer.check("item-with-incidents")
        officer.follow(NEW_INCIDENT[language])
        officer.check("incident-proposed")
        assert officer.page.input_value("#date_from") == "2020-08-10"
        assert officer.page.is_checked("input[value='torture_or_ill_treatment']")
        officer.page.fill("#title", "Night in the yard")
        officer.submit(record)
        officer.check("incident")
        assert "Night in the yard" in officer.text()
        officer.open("/timeline")
        officer.check("timeline")
        assert "2020-08-10 21:40:00" in officer.text()
    entries = [e for e in (workstation.store / "custody.log").read_text().splitlines()
               if '"action":"incident"' in e]
    assert len(entries) == 2  # created, and the photo linked
    assert all('"actor":"Test Person"' in e for e in entries)
