"""Fixtures for the attacks: both real apps on one fresh instance, and their clients."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

import journalist_app
import source_app
from core.instance import Instance
from source_app.i18n import CONFIG_KEY as DEFAULT_LOCALE_CONFIG
from tests.source_app.pages import SourceClient
from tests.support.staff import StaffAccount, make_staff_account, sign_in_client


@pytest.fixture
def source_web(instance: Instance) -> Flask:
    app = source_app.create_app(instance=instance)
    app.config[DEFAULT_LOCALE_CONFIG] = "en"
    return app


@pytest.fixture
def staff_web(instance: Instance) -> Flask:
    app = journalist_app.create_app(instance=instance)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def source(source_web: Flask) -> SourceClient:
    """A source that has just got a codename and is logged in."""
    logged_in = SourceClient(source_web.test_client())
    logged_in.create()
    return logged_in


@pytest.fixture
def staff_account(instance: Instance) -> StaffAccount:
    return make_staff_account(instance, "dana")


@pytest.fixture
def staff_client(staff_web: Flask, instance: Instance, staff_account: StaffAccount) -> FlaskClient:
    client = staff_web.test_client()
    response = sign_in_client(client, instance, staff_account)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
