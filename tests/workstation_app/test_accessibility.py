"""Every desk page a person can reach passes axe-core's WCAG 2.1 A/AA rules, JavaScript off,
in each language; the refusal and error pages too."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.workstation import MakeBundle, Workstation, first_submission
from tests.workstation_app.desk_browser import DeskPage, new_page, running_desk

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("language", ["en", "be", "ru"])
def test_every_desk_page_has_no_wcag_violations(
    browser: Any, workstation: Workstation, make_bundle: MakeBundle, language: str
) -> None:
    bundle = make_bundle(first_submission(["platform", "un"]))
    with running_desk(workstation.store, language) as desk:
        refused = DeskPage(new_page(browser), desk, None)
        refused.open("/")
        assert "Open the desk with the address" in refused.text()
        refused.check("refused")

        officer = DeskPage(new_page(browser), desk, None)
        officer.page.goto(desk.launch_url)
        officer.check("who")
        officer.page.fill("#name", "Test Person")
        officer.submit({"en": "Start working", "be": "Пачаць працу", "ru": "Начать работу"}[
            language])
        officer.check("items-empty")
        for path in ("/import", "/sources", "/cases", "/custody", "/similar", "/search",
                     "/search?q=%3F%21"):
            officer.open(path)
            officer.check(path.strip("/"))
        officer.open("/import")
        officer.page.fill("#path", str(bundle))
        with officer.page.expect_navigation():
            officer.page.locator("form[action='/import'] button").click()
        officer.check("imported")
        officer.open("/")
        officer.check("items")
        item_links = officer.page.locator("table a").all()
        first_item = item_links[0].get_attribute("href")
        officer.open(first_item)
        officer.check("item")
        # The search index is derived from the store; the command line builds it here.
        assert workstation.run("index", "rebuild")[0] == 0
        officer.open("/search?q=Akrestsina")
        assert officer.page.locator("ol.results li").count() >= 1
        officer.check("search-results")
        officer.open("/sources")
        source = officer.page.locator("table a").first.get_attribute("href")
        officer.open(source)
        officer.check("source")
        officer.open("/items/" + "0" * 64)
        officer.check("error")

        officer.open("/launch/used-or-not")
        officer.check("launch-refused")
    assert (len(refused.checked), len(officer.checked)) == (1, 16)
