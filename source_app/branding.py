"""Whose drop this is, and the small files every page uses: logo, favicon, stylesheet.

Templates get ``organization`` (the name and whether a logo exists, read from the instance
configuration the admin edits) and ``asset_url(name)``: a static address that carries the
file's content hash, so the browser may keep the stylesheet for a year and still fetches a new
one the moment it changes. Only such hashed static responses are cacheable; every page stays
``no-store`` (core.web). The logo is served from the data directory, where the journalist
interface saved it after checking it is a small PNG; when it is missing the page shows the name
alone. A stylesheet that cannot be read is a broken install and fails at start.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, request, send_file, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from core.models import InstanceConfig
from source_app.context import source_context

#: A hashed static file is immutable at its address: a year is as long as caches keep anything.
CACHE_SECONDS = 365 * 24 * 3600
ASSET_PARAM = "v"
STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Organization:
    name: str
    has_logo: bool


def read_organization() -> Organization:
    with source_context().instance.sessions() as db:
        config = db.scalar(select(InstanceConfig).order_by(InstanceConfig.id).limit(1))
    if config is None:
        return Organization(name="Skrynka", has_logo=False)
    logo = source_context().instance.settings.logo_path
    return Organization(name=config.organization_name, has_logo=config.has_logo and logo.is_file())


def hash_assets(static_dir: Path = STATIC_DIR) -> dict[str, str]:
    """A short content hash of each static file, computed once when the app is built."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for path in sorted(static_dir.iterdir())
        if path.is_file()
    }


def register_branding(app: Flask) -> None:
    hashes = hash_assets()
    blueprint = Blueprint("branding", __name__)

    @blueprint.get("/logo.png")
    def logo() -> ResponseReturnValue:
        if not read_organization().has_logo:
            abort(404)
        return send_file(source_context().instance.settings.logo_path, mimetype="image/png")

    @blueprint.get("/favicon.ico")
    def favicon() -> ResponseReturnValue:
        return send_file(STATIC_DIR / "favicon.ico", mimetype="image/vnd.microsoft.icon")

    app.register_blueprint(blueprint)

    def asset_url(name: str) -> str:
        values: dict[str, Any] = {"filename": name, ASSET_PARAM: hashes[name]}
        return url_for("static", **values)

    @app.context_processor
    def branding_context() -> dict[str, object]:
        return {"organization": read_organization(), "asset_url": asset_url}

    @app.after_request
    def cache_hashed_assets(response: Response) -> Response:
        # Only the exact content the hash names may be cached; an old hash is not.
        if (
            request.endpoint == "static"
            and response.status_code == 200
            and request.view_args is not None
            and request.args.get(ASSET_PARAM) == hashes.get(str(request.view_args.get("filename")))
        ):
            response.cache_control.public = True
            response.cache_control.max_age = CACHE_SECONDS
            response.cache_control.immutable = True
        return response
