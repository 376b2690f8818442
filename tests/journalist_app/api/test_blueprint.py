"""Everything under /api/ is JSON, sets no cookie and needs no CSRF token; the web stays HTML."""

import json

from flask.testing import FlaskClient
from sqlalchemy import text

from tests.support.api import Seeded
from tests.support.staff import make_staff_account, sign_in_client


def assert_json_error(response, status: int, phrase: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["error"] == phrase
    assert isinstance(document["message"], str)


def test_index_needs_no_token(client: FlaskClient) -> None:
    for path in ("/api/v1/", "/api/v1"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.get_json() == {
            "sources_url": "/api/v1/sources",
            "current_user_url": "/api/v1/user",
            "all_users_url": "/api/v1/users",
            "submissions_url": "/api/v1/submissions",
            "replies_url": "/api/v1/replies",
            "seen_url": "/api/v1/seen",
            "auth_token_url": "/api/v1/token",
        }


def test_unknown_paths_trailing_slashes_and_double_slashes_are_json_404s(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    for path in (
        "/api/v1/nothing-here",
        "/api/v2/sources",
        "/api/",
        "/api/v1/sources/",
        "/api/v1/user/",
        "/api/v1/sources//submissions/abc",
    ):
        assert_json_error(client.get(path, headers=auth), 404, "Not Found")


def test_wrong_methods_are_json_405s_with_allow(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.put("/api/v1/sources", headers=auth)
    assert_json_error(response, 405, "Method Not Allowed")
    assert "GET" in response.headers["Allow"]
    assert_json_error(client.get("/api/v1/token"), 405, "Method Not Allowed")
    assert_json_error(client.get("/api/v1/logout", headers=auth), 405, "Method Not Allowed")
    assert_json_error(client.options("/api/v1/sources", headers=auth), 405, "Method Not Allowed")


def test_a_server_error_is_a_json_500_without_details(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    with seeded.instance.engine.begin() as connection:
        connection.execute(text("DROP TABLE seen_submissions"))
    response = client.get("/api/v1/submissions", headers=auth)
    assert_json_error(response, 500, "Internal Server Error")
    assert "seen_submissions" not in response.get_data(as_text=True)


def test_the_web_interface_keeps_its_html_errors(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_no_cookie_is_set_under_api_even_for_a_signed_in_browser(
    client: FlaskClient, seeded: Seeded, auth: dict[str, str]
) -> None:
    account = make_staff_account(seeded.instance, "cookie-test")
    assert sign_in_client(client, seeded.instance, account).status_code == 302
    web_page = client.get("/")
    assert web_page.status_code == 200
    for response in (
        client.get("/api/v1/"),
        client.get("/api/v1/sources", headers=auth),
        client.get("/api/v1/nothing", headers=auth),
        client.post("/api/v1/token", data=b"{}"),
    ):
        assert "Set-Cookie" not in response.headers


def test_posts_need_no_csrf_token_and_bodies_are_read_whatever_the_content_type(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    source = client.get("/api/v1/sources", headers=auth).get_json()["sources"][0]
    for content_type in ("", "text/plain", "application/x-www-form-urlencoded"):
        response = client.post(
            "/api/v1/seen",
            data=json.dumps({"messages": [], "files": [], "replies": []}),
            headers={**auth, "Content-Type": content_type},
        )
        # Parsed (an empty selection is refused with a JSON 400, not a CSRF or form error).
        assert response.get_json()["message"] == "Please specify the resources to mark seen."
    star = client.post(source["add_star_url"], headers=auth)
    assert star.status_code == 201


def test_security_headers_are_on_api_responses(client: FlaskClient) -> None:
    response = client.get("/api/v1/")
    assert response.headers["Cache-Control"].startswith("no-store")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
