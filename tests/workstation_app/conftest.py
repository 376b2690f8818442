"""Fixtures for the evidence desk: an initialised store (the workstation's own fixtures), the
desk app built over it for one launch, and a person's browser as a Flask test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.workstation import Workstation
from tests.workstation.conftest import (  # noqa: F401 (fixtures shared with the workstation tests)
    make_bundle,
    secret_key_file,
    server_key_file,
    server_signer,
    short_dir,
    workstation,
)
from workstation.service import WorkstationService
from workstation.store import open_store
from workstation_app import create_app
from workstation_app.launch import LaunchGate

HOST = "localhost"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Desk:
    app: Flask
    service: WorkstationService
    secret: str
    store: Path


@pytest.fixture
def desk(workstation: Workstation) -> Desk:  # noqa: F811 (the fixture, not the package)
    service = WorkstationService(open_store(workstation.store))
    gate, secret = LaunchGate.create()
    app = create_app(service, gate, hosts={HOST})
    return Desk(app, service, secret, workstation.store)


class Officer:
    """One person's browser: launched, named, and able to send forms with their token."""

    def __init__(self, client: FlaskClient, desk: Desk) -> None:
        self.client = client
        self.desk = desk
        self.token = ""

    def launch(self) -> TestResponse:
        return self.client.get(f"/launch/{self.desk.secret}")

    def sign_in(self, name: str = "Anna Petrova", language: str = "en") -> TestResponse:
        page = self.client.get("/who")
        return self.client.post("/who", data={"name": name, "language": language,
                                              "csrf_token": token_of(page.text)})

    def get(self, url: str) -> TestResponse:
        response = self.client.get(url)
        found = _TOKEN.search(response.text)
        if found:
            self.token = found.group(1)
        return response

    def post(self, url: str, data: dict[str, str | list[str]] | None = None) -> TestResponse:
        if not self.token:
            self.get("/")
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token})


def token_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.fixture
def officer(desk: Desk) -> Iterator[Officer]:
    with desk.app.test_client() as client:
        person = Officer(client, desk)
        assert person.launch().status_code == 303
        assert person.sign_in().status_code == 303
        yield person
