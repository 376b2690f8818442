"""openapi.yaml describes exactly the routes the app has, and is served by the API."""

import re
from pathlib import Path

import yaml
from flask import Flask
from flask.testing import FlaskClient

from journalist_app.api.description import OPENAPI_PATH

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def load_description() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


def test_the_description_is_package_data_of_the_api_package() -> None:
    assert Path(__file__).resolve().parents[3] / "journalist_app/api/openapi.yaml" == OPENAPI_PATH
    assert load_description()["openapi"].startswith("3.1")


def test_every_documented_operation_is_a_route_and_every_route_is_documented(app: Flask) -> None:
    documented = {
        (path, method.upper())
        for path, item in load_description()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                routed.add((path, method))
    assert documented == routed


def test_every_operation_documents_its_json_errors() -> None:
    description = load_description()
    for path, item in description["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            secured = operation.get("security", description["security"]) != []
            if secured:
                assert "403" in operation["responses"], (path, method)
            if "{source_uuid}" in path:
                assert "404" in operation["responses"], (path, method)


def test_the_description_is_served(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert response.get_data() == OPENAPI_PATH.read_bytes()
