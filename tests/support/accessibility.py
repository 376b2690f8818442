"""Accessibility checks with axe-core, run inside the real browser on the page a test is looking at.

axe-core comes from the npm registry (package.json pins it, package-lock.json pins its hash;
`scripts/install.sh` runs `npm ci`). The pages under test run with JavaScript disabled, as at
Tor Browser's Safest level; Chromium runs no timers in such a page, and axe-core needs them, so
axe cannot run in the very page a test drives. It runs on a faithful copy: the
page's current DOM, served at the same address in a second, script-enabled context of the same
browser with the same viewport, so stylesheets and images load from the same server and colour
contrast is judged on what the person sees. Nothing is injected into the page under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

# WCAG 2.0 and 2.1, levels A and AA: what the project promises.
WCAG_21_AA_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


@dataclass(frozen=True)
class Violation:
    """One axe rule that failed, with the elements it failed on."""

    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.rule} ({self.impact}): {self.help} at {', '.join(self.targets)}"


def read_axe_script() -> str:
    if not AXE_SCRIPT.is_file():
        raise RuntimeError(
            f"{AXE_SCRIPT} is missing: run `make install` (it runs `npm ci` for axe-core)"
        )
    return AXE_SCRIPT.read_text(encoding="utf-8")


def find_violations(page: Any, *, tags: tuple[str, ...] = WCAG_21_AA_TAGS) -> list[Violation]:
    """Run axe-core over a copy of the page as it is now and return every violation it finds."""
    html = page.content()
    address = page.url
    viewport = page.viewport_size
    copy_context = page.context.browser.new_context(java_script_enabled=True, viewport=viewport)
    try:
        copy = copy_context.new_page()
        if address.startswith("http"):
            copy.route(
                address,
                lambda route: route.fulfill(
                    status=200, content_type="text/html; charset=utf-8", body=html
                ),
            )
            copy.goto(address)
        else:
            copy.set_content(html)
        copy.evaluate(read_axe_script())
        results = copy.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", list(tags)
        )
    finally:
        copy_context.close()
    return [
        Violation(
            rule=str(found["id"]),
            impact=str(found.get("impact") or "unknown"),
            help=str(found["help"]),
            targets=tuple(str(node["target"]) for node in found["nodes"]),
        )
        for found in results["violations"]
    ]


def assert_accessible(page: Any, *, tags: tuple[str, ...] = WCAG_21_AA_TAGS) -> None:
    """Fail with every violation named when axe-core finds any on the page."""
    violations = find_violations(page, tags=tags)
    if violations:
        where = page.url
        lines = "\n".join(f"- {violation.describe()}" for violation in violations)
        raise AssertionError(f"axe-core found WCAG 2.1 A/AA violations on {where}:\n{lines}")
