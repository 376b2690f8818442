"""The source interface's first pages pass axe-core's WCAG 2.1 A/AA rules with JavaScript off."""

from collections.abc import Callable
from typing import Any

import pytest

from core.instance import Instance
from tests.support.accessibility import assert_accessible, find_violations

pytestmark = pytest.mark.browser


def test_axe_runs_in_a_page_without_javascript_and_finds_a_planted_violation(
    nojs_page: Any,
) -> None:
    # An image without alternative text must be reported, or a clean result means nothing.
    nojs_page.set_content("<!doctype html><html lang=en><title>t</title><img src=x.png></html>")
    rules = {violation.rule for violation in find_violations(nojs_page)}
    assert "image-alt" in rules


@pytest.mark.only_on("sqlite")  # slow and about the browser, not the database (database_backend)
@pytest.mark.parametrize("language", ["be", "ru", "en"])
def test_the_landing_and_codename_pages_have_no_wcag_violations(
    instance: Instance, make_gunicorn: Callable[..., str], nojs_page: Any, language: str
) -> None:
    base_url = make_gunicorn("source_app:create_app()", instance.settings.data_dir)
    nojs_page.goto(f"{base_url}/?l={language}")
    assert_accessible(nojs_page)
    nojs_page.locator("form[action='/generate'] button").click()
    nojs_page.wait_for_url(f"{base_url}/generate")
    assert_accessible(nojs_page)
