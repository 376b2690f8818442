"""A Belarusian or Russian source on a phone or a desktop, JavaScript off, through every change
made for the people using the site: a codename in their language, a login that explains it and
forgives the keyboard layout, a refused submission that keeps what was typed, a consent form
that shows the choice, the organisation's name, a quick exit and a welcome. axe-core checks
every page on the way.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from core.instance import Instance
from tests.support.accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORTS = {"phone": {"width": 412, "height": 915}, "desktop": {"width": 1280, "height": 900}}
TEXTS = {
    "be": {"welcome": "Вітаем", "kept": "Ваша паведамленне і адказы засталіся ніжэй",
           "choose_again": "выберыце іх зноў", "known": "выбар, які вы зрабілі падчас гэтага",
           "unknown": "Вы зрабілі выбар падчас папярэдняга візіту", "exit": "Хутка пакінуць сайт"},
    "ru": {"welcome": "Добро пожаловать", "kept": "Ваше сообщение и ответы остались ниже",
           "choose_again": "выберите их снова", "known": "выбор, который вы сделали во время",
           "unknown": "Вы сделали выбор во время прошлого визита", "exit": "Быстро покинуть сайт"},
}
_LATIN_KEYS = {
    "ru": str.maketrans("йцукенгшщзхъфывапролджэячсмитьбю", "qwertyuiop[]asdfghjkl;'zxcvbnm,."),
    "be": str.maketrans("йцукенгшўзх'фывапролджэячсмітьбюё", "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"),
}


@pytest.mark.only_on("sqlite")  # slow and about the browser, not the database (database_backend)
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["be", "ru"])
def test_a_source_in_their_language_loses_nothing(
    instance: Instance,
    make_gunicorn: Callable[..., str],
    browser: Any,
    artifacts_dir: Path,
    tmp_path: Path,
    language: str,
    viewport: str,
) -> None:
    base_url = make_gunicorn("source_app:create_app()", instance.settings.data_dir)
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS[viewport])
    page = context.new_page()
    shots = artifacts_dir / "people"
    shots.mkdir(exist_ok=True)
    tag = f"{language}-{viewport}"
    texts = TEXTS[language]
    try:
        page.goto(f"{base_url}/?l={language}")
        expect(page.locator("a.quick-exit")).to_have_text(texts["exit"])
        expect(page.locator(".brand")).to_contain_text("Skrynka")
        assert page.request.get(f"{base_url}/favicon.ico").status == 200
        assert_accessible(page)

        # 1. A codename in the page's language: eight words of that list, no Latin letters.
        page.locator("form[action='/generate'] button").click()
        codename = page.locator("#codename").inner_text().strip()
        assert len(codename.split(" ")) == 8
        assert not any(letter.isascii() and letter.isalpha() for letter in codename)
        page.screenshot(path=str(shots / f"codename-{tag}.png"), full_page=True)
        assert_accessible(page)

        # 5. "Continue" sent twice lands on the page, not on a claim that the codename expired.
        token = page.locator("form[action='/create'] input[name=csrf_token]").get_attribute("value")
        page.locator("form[action='/create'] button").click()
        page.wait_for_url(base_url + "/lookup")
        # The same form sent again (a double tap on a slow connection), with the same cookie.
        again = page.request.post(f"{base_url}/create", form={"csrf_token": token})
        assert again.url == base_url + "/lookup"
        assert texts["welcome"] in again.text()
        expect(page.locator("h1")).to_have_text(texts["welcome"])
        assert_accessible(page)

        # 2. A refusal (the codename in the message) keeps every field but the file.
        evidence = tmp_path / "фота-плошча.jpg"
        evidence.write_bytes(b"\xff\xd8\xff" + b"not really a photo" * 50)
        message = f"Мяне затрымалі каля плошчы. {codename}"
        page.fill("#msg", message)
        page.set_input_files("#fh", str(evidence))
        page.check("input[name=destinations][value=un]")
        page.check("input[name=replies][value=yes]")
        page.locator("#intake summary").click()
        page.fill("#where_text", "Мінск")
        page.locator("form[action='/submit'] button[type=submit]").click()
        refusal = page.locator("#refusal")
        expect(refusal).to_contain_text(texts["kept"])
        expect(refusal).to_contain_text(texts["choose_again"])
        expect(refusal.locator(".lost-files li")).to_have_text([evidence.name])
        expect(page.locator("#msg")).to_have_value(message)
        expect(page.locator("input[name=destinations][value=un]")).to_be_checked()
        expect(page.locator("input[name=replies][value=yes]")).to_be_checked()
        expect(page.locator("#where_text")).to_have_value("Мінск")
        page.screenshot(path=str(shots / f"refusal-{tag}.png"), full_page=True)
        assert_accessible(page)

        # 3. After sending, the consent form shows the choice made in this login.
        page.fill("#msg", "Мяне затрымалі каля плошчы ў жніўні.")
        page.set_input_files("#fh", str(evidence))
        page.locator("form[action='/submit'] button[type=submit]").click()
        change = page.locator("#change-consent")
        expect(change).to_contain_text(texts["known"])
        expect(change.locator("input[name=destinations][value=un]")).to_be_checked()
        expect(change.locator("input[name=replies][value=yes]")).to_be_checked()
        expect(change.locator("input[name=destinations][value=court]")).not_to_be_checked()
        change.scroll_into_view_if_needed()
        change.screenshot(path=str(shots / f"consent-{tag}.png"))
        assert_accessible(page)

        # 1. Login explains the codename, can show the field, and forgives the layout.
        page.locator("form[action='/logout'] button").click()
        page.goto(f"{base_url}/login?l={language}")
        expect(page.locator("#codename")).to_have_attribute("type", "password")
        assert_accessible(page)
        page.locator("a[href='/login?show=1']").click()
        expect(page.locator("#codename")).to_have_attribute("type", "text")
        assert_accessible(page)
        page.fill("#codename", "  " + codename.translate(_LATIN_KEYS[language]).upper() + " ")
        page.locator("form button[type=submit]").click()
        page.wait_for_url(base_url + "/lookup")
        # A new login: the choice is no longer known, and the page says so plainly.
        expect(page.locator("#change-consent")).to_contain_text(texts["unknown"])
        assert_accessible(page)
    finally:
        context.close()
