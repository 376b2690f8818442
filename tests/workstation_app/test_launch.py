"""Attack tests for the desk's front door: the launch secret works once, nothing works without
its cookie, forms from another origin change nothing, and only the printed address answers."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.support.workstation import MakeBundle, first_submission
from tests.workstation_app.conftest import HOST, Desk, Officer, token_of
from workstation_app import create_app
from workstation_app.launch import LaunchGate


def test_the_launch_url_trades_its_secret_for_a_cookie_and_a_clean_address(desk: Desk) -> None:
    with desk.app.test_client() as client:
        response = client.get(f"/launch/{desk.secret}")
        assert response.status_code == 303
        assert response.headers["Location"] == "/"
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert desk.secret not in cookie
        assert client.get("/", follow_redirects=True).status_code == 200


def test_the_launch_secret_works_only_once(desk: Desk) -> None:
    with desk.app.test_client() as first:
        assert first.get(f"/launch/{desk.secret}").status_code == 303
    with desk.app.test_client() as second:
        refused = second.get(f"/launch/{desk.secret}")
        assert refused.status_code == 403
        assert "already been used" in refused.text
        assert "Set-Cookie" not in refused.headers
        assert second.get("/").status_code == 403


def test_a_wrong_secret_opens_nothing_and_does_not_use_up_the_right_one(desk: Desk) -> None:
    with desk.app.test_client() as client:
        assert client.get("/launch/guess").status_code == 403
        assert client.get(f"/launch/{desk.secret[:-1]}x").status_code == 403
        assert client.get(f"/launch/{desk.secret}").status_code == 303


def test_every_page_refuses_a_request_without_the_cookie(desk: Desk) -> None:
    with desk.app.test_client() as client:
        for url in ("/", "/who", "/sources", "/cases", "/custody", "/import",
                    "/items/" + "0" * 64):
            page = client.get(url)
            assert page.status_code == 403, url
            assert "Open the desk with the address" in page.text
        assert client.post("/cases", data={"name": "x"}).status_code == 403


def test_a_cookie_from_an_earlier_launch_opens_nothing(desk: Desk) -> None:
    with desk.app.test_client() as client:
        client.get(f"/launch/{desk.secret}")
        cookie = client.get_cookie("skrynka_desk")
        assert cookie is not None
        gate, _secret = LaunchGate.create()
        restarted = create_app(desk.service, gate, hosts={HOST})
    with restarted.test_client() as later:
        later.set_cookie("skrynka_desk", cookie.value)
        assert later.get("/").status_code == 403


def test_another_host_name_is_refused_even_with_the_cookie(officer: Officer) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own name; the desk does not answer it.
    page = officer.client.get("/", headers={"Host": "evil.example:8765"})
    assert page.status_code == 421
    assert officer.client.get(
        f"/launch/{officer.desk.secret}", headers={"Host": "evil.example"}).status_code == 421


def test_a_form_from_another_origin_changes_nothing(
    officer: Officer, make_bundle: MakeBundle
) -> None:
    # Another site's page can make the browser post, cookie and all, but cannot read the token.
    bundle = make_bundle(first_submission(["platform", "un"]))
    client: FlaskClient = officer.client
    entries = officer.desk.service.custody_entries()

    no_token = client.post("/import", data={"path": str(bundle)})
    forged = client.post("/cases", data={"name": "forged", "csrf_token": "forged.token"})
    ended = client.post("/who/end", data={})

    assert (no_token.status_code, forged.status_code, ended.status_code) == (400, 400, 400)
    assert "security token" in no_token.text
    assert officer.desk.service.list_items().total == 0
    assert officer.desk.service.cases() == []
    assert officer.desk.service.custody_entries() == entries
    assert "Working: Anna Petrova" in officer.get("/").text


def test_a_token_from_another_launch_is_refused(desk: Desk, officer: Officer) -> None:
    gate, secret = LaunchGate.create()
    other = create_app(desk.service, gate, hosts={HOST})
    with other.test_client() as client:
        client.get(f"/launch/{secret}")
        foreign_token = token_of(client.get("/who").text)
    response = officer.client.post("/cases", data={"name": "c1", "csrf_token": foreign_token})
    assert response.status_code == 400
    assert desk.service.cases() == []


def test_pages_carry_a_strict_policy_and_load_nothing_from_elsewhere(officer: Officer) -> None:
    for url in ("/", "/sources", "/cases", "/custody", "/import", "/who"):
        page = officer.get(url)
        policy = page.headers["Content-Security-Policy"]
        assert policy.startswith("default-src 'none'")
        assert "script-src" not in policy
        assert "'unsafe-inline'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert page.headers["Cache-Control"].startswith("no-store")
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "<script" not in page.text
        assert "http://" not in page.text.replace(
            'xmlns="http://', "")
