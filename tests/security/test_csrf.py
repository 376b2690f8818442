"""Forged cross-site requests: every state-changing web route refuses a form without a token."""

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.source_app.pages import SourceClient
from tests.support.staff import StaffAccount

FAKE_UUID = "00000000-0000-4000-8000-000000000000"


def posted_paths(app: Flask) -> list[str]:
    """Every non-API URL that takes POST, with placeholders filled in."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()) or rule.rule.startswith("/api/"):
            continue
        paths.append(re.sub(r"<[^>]+>", FAKE_UUID, rule.rule))
    return sorted(paths)


def test_no_staff_form_is_accepted_without_its_token(
    staff_web: Flask, staff_client: FlaskClient, staff_account: StaffAccount
) -> None:
    paths = posted_paths(staff_web)
    assert "/logout" in paths
    for path in paths:
        answer = staff_client.post(path, data={"confirm": "yes", "what": "source"})
        assert answer.status_code == 400, path
    # The forged logout did nothing: still signed in.
    assert staff_client.get("/").status_code == 200


def test_no_source_form_is_accepted_without_its_token(
    source_web: Flask, source: SourceClient
) -> None:
    paths = posted_paths(source_web)
    assert "/submit" in paths
    for path in paths:
        answer = source.client.post(path, data={"confirm": "yes", "msg": "forged"})
        assert answer.status_code in (400, 413), path
    assert source.lookup().status_code == 200
    assert "forged" not in source.lookup().text
