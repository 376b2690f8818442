"""Machine-readable facts about this instance: /metadata and /public-key."""

import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from core.instance_config import read_instance_config
from core.settings import Settings
from source_app.context import source_context

bp = Blueprint("info", __name__)

_ONION_HOSTNAME = re.compile(r"[a-z2-7]{56}\.onion")


@bp.get("/metadata")
def metadata() -> Response:
    """What SecureDrop-compatible tools read about the instance, and nothing about the machine.

    SecureDrop also publishes ``server_os``; it is left out here: the operating system and its
    release tell an attacker which exploits to try and say nothing a source or a client needs.
    ``sd_version`` (Skrynka's version) stays, so clients and directories can tell which
    features an instance has and whether it is out of date (docs/threat-model.md).
    """
    context = source_context()
    instance = context.instance
    with instance.sessions() as db:
        config = read_instance_config(db)
    document: dict[str, Any] = {
        "organization_name": config.organization_name if config else "Skrynka",
        "allow_document_uploads": config.allow_document_uploads if config else True,
        "gpg_fpr": instance.submission_fingerprint,
        "sd_version": context.version,
        "supported_languages": list(current_app.config["SUPPORTED_LANGUAGES"]),
        "v3_source_url": source_onion_url(instance.settings),
    }
    return jsonify(document)


@bp.get("/public-key")
def public_key() -> Response:
    return Response(source_context().public_key, mimetype="application/pgp-keys")


def source_onion_url(settings: Settings) -> str | None:
    """The source onion service's address once one exists (the tor HiddenServiceDir layout)."""
    hostname_file = settings.onion_dir / "source" / "hostname"
    try:
        hostname = Path(hostname_file).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return f"http://{hostname}" if _ONION_HOSTNAME.fullmatch(hostname) else None
