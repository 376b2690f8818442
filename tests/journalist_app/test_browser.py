"""The staff interface in a real browser under real gunicorn, with JavaScript on and off."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.instance import Instance
from core.models import Journalist, Reply, Submission
from tests.support.staff import (
    StaffAccount,
    fresh_code,
    make_source,
    make_staff_account,
    sign_in_browser,
    start_staff_server,
)

pytestmark = pytest.mark.browser


@pytest.fixture(params=[True, False], ids=["js-on", "js-off"])
def page(
    browser: Any, request: pytest.FixtureRequest, artifacts_dir: Path
) -> Iterator[Any]:
    context = browser.new_context(java_script_enabled=request.param, accept_downloads=True)
    opened = context.new_page()
    yield opened
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.nodeid)
        opened.screenshot(path=str(artifacts_dir / f"{safe}.png"), full_page=True)
    context.close()


@pytest.fixture
def server(make_gunicorn: Callable[..., str], instance: Instance) -> str:
    return start_staff_server(make_gunicorn, instance)


@pytest.fixture
def admin(instance: Instance) -> StaffAccount:
    return make_staff_account(instance, "ada", is_admin=True)


def test_sign_in_with_totp_and_out(
    page: Any, server: str, instance: Instance, admin: StaffAccount
) -> None:
    page.goto(f"{server}/login")
    page.fill("#username", admin.username)
    page.fill("#passphrase", admin.passphrase)
    page.fill("#code", "000000" if fresh_code(instance, admin) != "000000" else "111111")
    page.click("#sign-in")
    expect(page.locator("[role=alert]")).to_contain_text("Sign-in failed")
    sign_in_browser(page, server, instance, admin)
    assert page.inner_text("h1") == "Inbox"
    page.click("#sign-out")
    page.wait_for_url(f"{server}/login?notice=signed-out")
    page.goto(f"{server}/")
    assert page.url.startswith(f"{server}/login")


def test_inbox_source_page_download_and_reply(
    page: Any, server: str, instance: Instance, admin: StaffAccount
) -> None:
    seeded = make_source(instance, "A first message", files=(("scan.pdf", b"%PDF-1" * 100),))
    sign_in_browser(page, server, instance, admin)
    assert seeded.designation in page.inner_text("table.sources")
    page.click(f"text={seeded.designation}")
    page.wait_for_url(f"{server}/source/{seeded.uuid}")
    with instance.sessions() as db:
        doc = db.scalars(select(Submission).where(Submission.kind == "file")).one()
        expected = instance.store.path_of(doc.source.filesystem_id, doc.filename).read_bytes()
    with page.expect_download() as info:
        page.click(f"a.download:has-text('{doc.filename}')")
    download = info.value
    assert download.suggested_filename == doc.filename
    assert Path(download.path()).read_bytes() == expected
    page.fill("#reply", "Thank you. We will be in touch.")
    page.click("#send-reply")
    page.wait_for_url(f"{server}/source/{seeded.uuid}?notice=reply-sent")
    assert "Your reply was encrypted and sent." in page.inner_text("[role=status]")
    assert f"Reply by {admin.username}" in page.inner_text("ol.conversation")
    with instance.sessions() as db:
        assert len(db.scalars(select(Reply)).all()) == 1


def test_bundle_download_from_a_selection(
    page: Any, server: str, instance: Instance, admin: StaffAccount
) -> None:
    seeded = make_source(instance, "bundle me")
    sign_in_browser(page, server, instance, admin)
    page.goto(f"{server}/source/{seeded.uuid}")
    page.check("ol.conversation input[type=checkbox]")
    page.select_option("#item-action", "bundle")
    with page.expect_download() as info:
        page.click("#items-go")
    assert info.value.suggested_filename.startswith("skrynka-bundle-")


def test_admin_creates_a_user_who_then_signs_in(
    page: Any, server: str, instance: Instance, admin: StaffAccount, browser: Any
) -> None:
    sign_in_browser(page, server, instance, admin)
    page.click("text=Users")
    page.click("#add-user")
    page.fill("#username", "nina")
    page.fill("#first_name", "Nina")
    page.click("#create-user")
    # The answer comes back to the form's own address: wait for the new account's page.
    expect(page.locator("h1")).to_have_text("Account created: nina")
    passphrase = page.inner_text("#passphrase")
    secret = page.inner_text("#otp-secret")
    expect(page.locator(".qr svg")).to_have_count(1)
    assert len(passphrase.split()) == 7
    with instance.sessions() as db:
        nina = db.scalars(select(Journalist).where(Journalist.username == "nina")).one()
    other = browser.new_context(java_script_enabled=False)
    try:
        newcomer = other.new_page()
        sign_in_browser(newcomer, server, instance,
                        StaffAccount("nina", passphrase, secret, nina.uuid, False))
        assert newcomer.inner_text("h1") == "Inbox"
        assert newcomer.locator("text=Users").count() == 0
    finally:
        other.close()
