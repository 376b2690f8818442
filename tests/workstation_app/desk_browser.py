"""A running desk for browser tests: `skrynka-workstation desk` as a real process (waitress),
and a page object for the officer's browser with JavaScript off."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.accessibility import assert_accessible

COMMAND = Path(sys.executable).with_name("skrynka-workstation")
VIEWPORT = {"width": 1280, "height": 860}


@dataclass(frozen=True)
class RunningDesk:
    base: str
    launch_url: str


@contextmanager
def running_desk(store: Path, language: str = "en") -> Iterator[RunningDesk]:
    """Start the desk on a free port of 127.0.0.1; stop it (Ctrl+C) when the block ends."""
    process = subprocess.Popen(
        [str(COMMAND), "desk", "--store", str(store), "--port", "0", "--language", language],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        url = ""
        for _ in range(10):
            line = process.stdout.readline()
            if "/launch/" in line:
                url = line.strip()
                break
        if not url:
            error = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"the desk did not start: {error}")
        yield RunningDesk(url.split("/launch/")[0], url)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class DeskPage:
    """The officer's browser tab; `check` runs axe-core and saves a screenshot."""

    def __init__(self, page: Any, desk: RunningDesk, shots: Path | None) -> None:
        self.page = page
        self.desk = desk
        self.shots = shots
        self.count = 0
        self.checked: list[str] = []

    def open(self, path: str) -> None:
        self.page.goto(f"{self.desk.base}{path}")

    def submit(self, button: str) -> None:
        """Press a button by its text and wait for the page that answers."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button).click()

    def follow(self, link: str) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("link", name=link).first.click()

    def check(self, name: str) -> None:
        """No WCAG 2.1 A/AA violation on this page; a screenshot of it if asked for."""
        assert_accessible(self.page)
        self.checked.append(self.page.url)
        if self.shots is not None:
            self.count += 1
            self.shots.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(self.shots / f"{self.count:02d}-{name}.png"),
                                 full_page=True)

    def text(self) -> str:
        return str(self.page.inner_text("main"))


def new_page(browser: Any) -> Any:
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORT)
    return context.new_page()
