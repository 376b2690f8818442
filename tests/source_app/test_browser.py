"""A source in Chromium with JavaScript off: codename, submit, log out, log in, acknowledgement."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from core.instance import Instance
from core.models import InstanceConfig, Submission

pytestmark = pytest.mark.browser


def test_a_source_submits_and_comes_back_without_javascript(
    instance: Instance,
    make_gunicorn: Callable[..., str],
    nojs_page: Any,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    base_url = make_gunicorn("source_app:create_app()", instance.settings.data_dir)
    page = nojs_page
    shots = artifacts_dir / "source-browser"
    shots.mkdir(exist_ok=True)

    page.goto(base_url + "/?l=en")
    page.screenshot(path=str(shots / "1-index.png"), full_page=True)
    page.get_by_role("button", name="Get a codename").click()
    codename = page.locator("#codename").inner_text().strip()
    assert len(codename.split()) == 7
    page.screenshot(path=str(shots / "2-codename.png"), full_page=True)
    page.get_by_role("button", name="I have saved my codename").click()
    page.wait_for_url(base_url + "/lookup")

    evidence = tmp_path / "evidence.txt"
    evidence.write_bytes(b"a small file from the browser\n" * 100)
    page.fill("#msg", "They took him from the square at 14:00.")
    page.set_input_files("#fh", str(evidence))
    page.screenshot(path=str(shots / "3-lookup-filled.png"), full_page=True)
    page.get_by_role("button", name="Submit").click()
    # The answer comes back to /lookup, the address already shown: wait for its content.
    expect(page.locator("body")).to_contain_text("We received your submission")
    page.screenshot(path=str(shots / "4-submitted.png"), full_page=True)

    page.get_by_role("button", name="Log out").click()
    expect(page.locator("body")).to_contain_text("You are logged out")
    page.screenshot(path=str(shots / "5-logged-out.png"), full_page=True)

    page.goto(base_url + "/login")
    page.fill("#codename", codename)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(base_url + "/lookup")
    received = page.locator("#received")
    expect(received).to_contain_text("received 1 message")
    expect(received).to_contain_text("received 1 file")
    page.screenshot(path=str(shots / "6-acknowledged.png"), full_page=True)

    with instance.sessions() as db:
        kinds = list(db.scalars(select(Submission.kind).order_by(Submission.id)))
    assert kinds == ["message", "file"]


def test_a_file_over_the_limit_shows_the_friendly_page_not_a_connection_error(
    instance: Instance,
    make_gunicorn: Callable[..., str],
    nojs_page: Any,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    with instance.sessions() as db:
        db.execute(update(InstanceConfig).values(max_upload_bytes=1024 * 1024))
        db.commit()
    base_url = make_gunicorn("source_app:create_app()", instance.settings.data_dir)
    page = nojs_page
    page.goto(base_url + "/?l=en")
    page.get_by_role("button", name="Get a codename").click()
    page.get_by_role("button", name="I have saved my codename").click()
    page.wait_for_url(base_url + "/lookup")

    for attempt in range(3):
        # Three times on the same browser, which keeps connections alive between requests.
        evidence = tmp_path / f"too-large-{attempt}.bin"
        evidence.write_bytes(os.urandom(6 * 1024 * 1024))
        page.goto(base_url + "/lookup")
        page.set_input_files("#fh", str(evidence))
        page.get_by_role("button", name="Submit").click()
        expect(page.locator("body")).to_contain_text("Your upload is too large")
    page.screenshot(path=str(artifacts_dir / "source-upload-too-large.png"), full_page=True)
    # The browser goes on as usual afterwards, and nothing was stored.
    page.goto(base_url + "/lookup")
    page.fill("#msg", "a message after the refusal")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("body")).to_contain_text("We received your submission")
    with instance.sessions() as db:
        kinds = list(db.scalars(select(Submission.kind)))
    assert kinds == ["message"]
