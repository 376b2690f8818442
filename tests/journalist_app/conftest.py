"""Fixtures for the staff interface: the app, a client, and signed-in staff and admins."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.instance import Instance
from journalist_app import create_app
from tests.support.staff import StaffAccount, make_staff_account, sign_in_client


@pytest.fixture
def staff_app(instance: Instance) -> Flask:
    app = create_app(instance=instance)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(staff_app: Flask) -> FlaskClient:
    return staff_app.test_client()


@pytest.fixture
def staff_account(instance: Instance) -> StaffAccount:
    return make_staff_account(instance, "dana")


@pytest.fixture
def admin_account(instance: Instance) -> StaffAccount:
    return make_staff_account(instance, "ada", is_admin=True)


@pytest.fixture
def staff_client(
    client: FlaskClient, instance: Instance, staff_account: StaffAccount
) -> FlaskClient:
    response = sign_in_client(client, instance, staff_account)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def admin_client(
    client: FlaskClient, instance: Instance, admin_account: StaffAccount
) -> FlaskClient:
    response = sign_in_client(client, instance, admin_account)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
