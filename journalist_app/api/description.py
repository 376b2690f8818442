"""The API's entry points: the index of URLs (GET /api/v1/) and the OpenAPI description."""

from pathlib import Path

from flask import Blueprint, Response

from journalist_app.api.context import json_response
from journalist_app.api.serialization import PREFIX

# openapi.yaml is package data beside this module, so an installed (non-editable) package
# serves it too; README.md tells client authors where to find it in the source tree.
OPENAPI_PATH = Path(__file__).resolve().with_name("openapi.yaml")


def index() -> Response:
    return json_response(
        {
            "sources_url": f"{PREFIX}/sources",
            "current_user_url": f"{PREFIX}/user",
            "all_users_url": f"{PREFIX}/users",
            "submissions_url": f"{PREFIX}/submissions",
            "replies_url": f"{PREFIX}/replies",
            "seen_url": f"{PREFIX}/seen",
            "auth_token_url": f"{PREFIX}/token",
        }
    )


def openapi() -> Response:
    return Response(OPENAPI_PATH.read_bytes(), mimetype="application/yaml")


def add_description_routes(bp: Blueprint) -> None:
    bp.get("/", strict_slashes=False)(index)
    bp.get("/openapi.yaml")(openapi)
