"""A Belarusian and a Russian source in Chromium with JavaScript off, every page photographed.

The walk: landing page, codename, the first submission with consent, the optional questions and
two files, the acknowledgement, log out, log in again, a consent change, and a guide page. Each
page must be entirely in the chosen language: no English sentence of the interface may show.
"""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect
from sqlalchemy import select

from core.instance import Instance
from core.models import Submission
from crypto.codename import CODENAME_LENGTHS
from source_app.i18n import TRANSLATIONS_DIR

pytestmark = pytest.mark.browser

# Tor Browser's User-Agent, so the pages look as a careful source sees them.
TOR_BROWSER = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"
TEXT: dict[str, dict[str, Any]] = {
    "be": {
        "get": "Атрымаць кодавае імя",
        "saved": "Я запомніў(-ла) кодавае імя. Далей",
        "submit": "Адправіць",
        "thanks": "Дзякуй. Мы атрымалі ваша паведамленне.",
        "logout": "Выйсці",
        "logged_out": "Вы выйшлі",
        "login_again": "Увайсці зноў",
        "continue": "Далей",
        "received": ["Мы атрымалі ад вас 1 паведамленне.", "Мы атрымалі ад вас 2 файлы."],
        "save_consent": "Захаваць мой выбар",
        "saved_consent": "Ваш выбар захаваны.",
        "summary": "Неабавязковыя пытанні пра тое, што адбылося",
        "message": "Нас трымалі трое сутак у ізалятары.",
    },
    "ru": {
        "get": "Получить кодовое имя",
        "saved": "Я запомнил(а) кодовое имя. Далее",
        "submit": "Отправить",
        "thanks": "Спасибо. Мы получили ваше сообщение.",
        "logout": "Выйти",
        "logged_out": "Вы вышли",
        "login_again": "Войти снова",
        "continue": "Далее",
        "received": ["Мы получили от вас 1 сообщение.", "Мы получили от вас 2 файла."],
        "save_consent": "Сохранить мой выбор",
        "saved_consent": "Ваш выбор сохранён.",
        "summary": "Необязательные вопросы о том, что произошло",
        "message": "Нас держали трое суток в изоляторе.",
    },
}


def english_sentences() -> list[str]:
    """The interface's English texts that would betray a missing translation if shown."""
    with (TRANSLATIONS_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    found = []
    for message in catalog:
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        for text in map(str, ids):
            # Whole words of English, long enough not to be a name such as "Tor Browser".
            plain = re.split(r"%\(\w+\)\w", text)[0].strip()
            if len(plain.split()) >= 3:
                found.append(plain)
    return found


@pytest.mark.only_on("sqlite")  # slow and about the browser, not the database (database_backend)
@pytest.mark.parametrize("code", ["be", "ru"])
def test_a_source_walks_through_in_their_language(
    code: str,
    instance: Instance,
    make_gunicorn: Callable[..., str],
    browser: Any,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    words = TEXT[code]
    base_url = make_gunicorn("source_app:create_app()", instance.settings.data_dir)
    shots = artifacts_dir / f"source-{code}"
    shots.mkdir(exist_ok=True)
    english = english_sentences()
    context = browser.new_context(
        java_script_enabled=False, user_agent=TOR_BROWSER, viewport={"width": 1024, "height": 768}
    )
    page = context.new_page()
    number = 0

    def photograph(name: str) -> None:
        nonlocal number
        number += 1
        text = page.inner_text("body")
        leaked = [sentence for sentence in english if sentence in text]
        assert not leaked, f"{name}: English text on a {code} page: {leaked}"
        assert f'<html lang="{code}">' in page.content()
        page.screenshot(path=str(shots / f"{number:02d}-{name}.png"), full_page=True)

    try:
        page.goto(f"{base_url}/?l={code}")
        photograph("landing")
        page.get_by_role("button", name=words["get"]).click()
        codename = page.locator("#codename").inner_text().strip()
        # Codenames in the page's language: as many words as that list needs for ~90 bits.
        assert len(codename.split()) == CODENAME_LENGTHS[code]
        photograph("codename")
        page.get_by_role("button", name=words["saved"]).click()
        page.wait_for_url(f"{base_url}/lookup")
        photograph("lookup-empty")

        first = tmp_path / "протокол.txt"
        first.write_text("протокол задержания\n" * 50, encoding="utf-8")
        second = tmp_path / "photo.jpg"
        second.write_bytes(b"\xff\xd8\xff" + b"\x00" * 5000)
        page.fill("#msg", words["message"])
        page.set_input_files("#fh", [str(first), str(second)])
        page.check("input[name=destinations][value=un]")
        page.check("input[name=replies][value=yes]")
        page.get_by_text(words["summary"]).click()  # <details> opens without JavaScript
        page.check("input[name=violations][value=arbitrary_detention]")
        page.fill("#when_text", "жнівень 2020" if code == "be" else "август 2020")
        page.fill("#when_year", "2020")
        page.select_option("#when_month", "8")
        page.select_option("#region", "minsk_city")
        page.check("input[name=relation][value=witness]")
        photograph("lookup-filled")
        page.get_by_role("button", name=words["submit"], exact=True).click()
        # The answer comes back to /lookup, the address already shown: wait for its content.
        expect(page.locator("body")).to_contain_text(words["thanks"])
        photograph("submitted")

        page.get_by_role("button", name=words["logout"]).click()
        expect(page.locator("body")).to_contain_text(words["logged_out"])
        photograph("logged-out")
        page.get_by_role("link", name=words["login_again"]).click()
        page.wait_for_url(re.compile(re.escape(f"{base_url}/login") + r"(\?.*)?$"))
        photograph("login")
        page.fill("#codename", codename)
        page.get_by_role("button", name=words["continue"]).click()
        page.wait_for_url(f"{base_url}/lookup")
        received = page.locator("#received")
        for sentence in words["received"]:
            expect(received).to_contain_text(sentence)
        photograph("acknowledged")

        page.check("#change-consent input[name=destinations][value=court]")
        page.get_by_role("button", name=words["save_consent"]).click()
        expect(page.locator("body")).to_contain_text(words["saved_consent"])
        photograph("consent-changed")

        page.goto(f"{base_url}/guide/tor")
        photograph("guide-tor")
        page.goto(f"{base_url}/guide/")
        photograph("guide-index")
    finally:
        context.close()

    # A phone-sized screen: nothing may stick out sideways. Measuring needs a script of the
    # test's own (the pages have none), so this context allows it; the pages are the same.
    phone = browser.new_context(viewport={"width": 360, "height": 740}, user_agent=TOR_BROWSER)
    page = phone.new_page()
    try:
        page.goto(f"{base_url}/login?l={code}")
        page.fill("#codename", codename)
        page.get_by_role("button", name=words["continue"]).click()
        # Going on before the login's answer arrives would cancel the login.
        page.wait_for_url(f"{base_url}/lookup")
        for path in ["/lookup", "/", "/guide/", "/guide/tor", "/guide/metadata"]:
            page.goto(base_url + path)
            if path == "/lookup":
                page.get_by_text(words["summary"]).click()
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            name = "phone" + (path.replace("/", "-").rstrip("-") or "-landing")
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            page.screenshot(path=str(shots / f"{name}-top.png"))
            assert overflow <= 0, f"{path} is {overflow}px wider than a 360px screen"
    finally:
        phone.close()

    with instance.sessions() as db:
        kinds = list(db.scalars(select(Submission.kind).order_by(Submission.id)))
    assert kinds == ["message", "file", "file", "consent"]
