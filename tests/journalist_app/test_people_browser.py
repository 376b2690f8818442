"""Every staff page in Belarusian and Russian, on a phone and a desktop, JavaScript off: it speaks
the staff member's language, steers files to bundles, reminds that consent to replies is known
only on the workstation, asks before resetting a passphrase, names things in the audit log and
warns before deleting material never bundled; axe-core finds no WCAG 2.1 A/AA violation on any.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from core.instance import Instance
from tests.support.accessibility import assert_accessible
from tests.support.staff import (
    make_source,
    make_staff_account,
    sign_in_browser,
    start_staff_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORTS = {"phone": {"width": 412, "height": 915}, "desktop": {"width": 1280, "height": 900}}
TEXTS = {
    "be": {"inbox": "Уваходныя", "bundle": "станцыя імпартуе толькі пакеты",
           "consent": "вядома толькі на працоўнай станцыі", "own": "Гэта ваш уласны",
           "never": "2 элементы ніколі не траплялі", "reset": "новую парольную фразу?"},
    "ru": {"inbox": "Входящие", "bundle": "станция импортирует только пакеты",
           "consent": "известно только на рабочей станции", "own": "Это ваша собственная",
           "never": "2 элемента ни разу не попадали", "reset": "новую парольную фразу?"},
}


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["be", "ru"])
def test_every_staff_page_in_be_and_ru_is_accessible_and_careful(
    make_gunicorn: Callable[..., str],
    instance: Instance,
    browser: Any,
    artifacts_dir: Path,
    language: str,
    viewport: str,
) -> None:
    server = start_staff_server(make_gunicorn, instance)
    admin = make_staff_account(instance, "ada", is_admin=True)
    source = make_source(instance, "Мяне затрымалі", files=(("scan.pdf", b"%PDF-1" * 100),))
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS[viewport])
    page = context.new_page()
    texts = TEXTS[language]
    shots = artifacts_dir / "people-staff"
    shots.mkdir(exist_ok=True)
    try:
        page.goto(f"{server}/login?l={language}")
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert_accessible(page)
        sign_in_browser(page, server, instance, admin)
        page.goto(f"{server}/")
        expect(page.locator("h1")).to_have_text(texts["inbox"])
        assert_accessible(page)

        page.goto(f"{server}/source/{source.uuid}")
        expect(page.locator("#bundle-advice")).to_contain_text(texts["bundle"])
        expect(page.locator("#reply-consent")).to_contain_text(texts["consent"])
        page.screenshot(path=str(shots / f"source-{language}-{viewport}.png"), full_page=True)
        assert_accessible(page)
        # A single download (audited), to be named in the audit log below.
        href = page.locator("a.download").first.get_attribute("href")
        assert page.request.get(f"{server}{href}").status == 200

        # Deleting the source: the confirmation warns that the workstation never got its items.
        page.locator("form:has(input[name=what][value=source]) button").click()
        expect(page.locator("#never-bundled")).to_contain_text(texts["never"])
        assert_accessible(page)

        for path in ("/account", "/admin/users", "/admin/users/new", "/admin/settings",
                     "/acknowledgements", "/admin/audit"):
            page.goto(f"{server}{path}")
            expect(page.locator("html")).to_have_attribute("lang", language)
            assert_accessible(page)
        # The audit log names the source's item instead of showing only its id.
        expect(page.locator(".object-name").first).to_be_visible()

        page.goto(f"{server}/admin/users")
        page.locator(f"table a:has-text('{admin.username}')").click()
        # A click waits only for the navigation to start; axe must see the page it leads to.
        expect(page.locator("#reset-passphrase")).to_be_visible()
        assert_accessible(page)
        page.locator("#reset-passphrase").click()
        expect(page.locator("h1")).to_contain_text(texts["reset"])
        expect(page.locator("#own-account")).to_contain_text(texts["own"])
        assert_accessible(page)
    finally:
        context.close()
