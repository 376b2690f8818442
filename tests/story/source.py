"""A Russian-speaking source in Chromium with JavaScript off, as at Tor Browser's Safest level.

The locators are the words a source reads on the page, so a missing translation fails here.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

# Tor Browser's User-Agent, so the pages look as a careful source sees them.
TOR_BROWSER = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"


@dataclass(frozen=True)
class Intake:
    """The optional questions a source chose to answer (values as the form sends them)."""

    violations: Sequence[str]
    when_text: str
    when_year: int
    when_month: int
    where_text: str
    region: str
    relation: str


@dataclass
class RussianSource:
    """One source's visits; each visit is a fresh browser context, as after closing Tor Browser."""

    browser: Any
    base_url: str
    codename: str = field(default="")

    def open_browser(self) -> Any:
        context = self.browser.new_context(
            java_script_enabled=False,
            user_agent=TOR_BROWSER,
            viewport={"width": 1024, "height": 768},
        )
        return context.new_page()

    def get_codename(self, page: Any) -> str:
        page.goto(f"{self.base_url}/?l=ru")
        page.get_by_role("button", name="Получить кодовое имя").click()
        self.codename = page.locator("#codename").inner_text().strip()
        return self.codename

    def confirm_codename(self, page: Any) -> None:
        page.get_by_role("button", name="Я запомнил(а) кодовое имя. Далее").click()
        page.wait_for_url(f"{self.base_url}/lookup")

    def fill_first_submission(
        self,
        page: Any,
        message: str,
        files: Sequence[Path],
        destinations: Sequence[str],
        allow_replies: bool,
        intake: Intake | None,
    ) -> None:
        page.fill("#msg", message)
        page.set_input_files("#fh", [str(path) for path in files])
        for destination in destinations:
            page.check(f"input[name=destinations][value={destination}]")
        page.check(f"input[name=replies][value={'yes' if allow_replies else 'no'}]")
        if intake is not None:
            # <details> opens without JavaScript.
            page.get_by_text("Необязательные вопросы о том, что произошло").click()
            for violation in intake.violations:
                page.check(f"input[name=violations][value={violation}]")
            page.fill("#when_text", intake.when_text)
            page.fill("#when_year", str(intake.when_year))
            page.select_option("#when_month", str(intake.when_month))
            page.fill("#where_text", intake.where_text)
            page.select_option("#region", intake.region)
            page.check(f"input[name=relation][value={intake.relation}]")

    def send(self, page: Any) -> None:
        """Submit and wait for the acknowledgement, which comes only once all is stored."""
        page.get_by_role("button", name="Отправить", exact=True).click()
        expect(page.locator("body")).to_contain_text("Спасибо. Мы получили ваше сообщение.")

    def log_out(self, page: Any) -> None:
        page.get_by_role("button", name="Выйти").click()
        expect(page.locator("body")).to_contain_text("Вы вышли")

    def log_in(self, page: Any) -> None:
        page.goto(f"{self.base_url}/?l=ru")
        page.get_by_role("link", name="Войдите с вашим кодовым именем").click()
        page.fill("#codename", self.codename)
        page.get_by_role("button", name="Далее").click()
        page.wait_for_url(f"{self.base_url}/lookup")
