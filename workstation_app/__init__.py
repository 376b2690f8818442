"""The evidence desk: intake staff work on the air-gapped workstation through their browser.

Build it with :func:`create_app`; nothing happens at import time. Start it with
`skrynka-workstation desk` (`workstation_app.command`), which binds 127.0.0.1 only and prints
the launch URL. Every view reads what the person asked for, calls one method of
`workstation.service.WorkstationService` and renders the outcome; the logic lives there, shared
with the command line.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from workstation.metadata_tool import MetadataTool
from workstation.service import WorkstationService
from workstation_app import (
    assessments,
    cases,
    custody,
    intake,
    items,
    renditions,
    search,
    similar,
    sources,
)
from workstation_app.context import SERVICE_KEY
from workstation_app.display import init_display
from workstation_app.error_page import register_error_pages
from workstation_app.i18n import DEFAULT_LOCALE, init_i18n
from workstation_app.incidents import init_incidents
from workstation_app.launch import LaunchGate, init_launch
from workstation_app.person import init_person
from workstation_app.provenance import init_provenance
from workstation_app.security import harden_desk


def create_app(
    service: WorkstationService,
    gate: LaunchGate,
    *,
    hosts: Collection[str],
    metadata_tool: MetadataTool | None = None,
    default_locale: str = DEFAULT_LOCALE,
) -> Flask:
    """The desk for one store and one launch; `hosts` are the Host values it answers to."""
    app = Flask(__name__)
    # A key per launch: a cookie from an earlier launch of the desk opens nothing.
    app.secret_key = secrets.token_bytes(32)
    harden_desk(app, hosts)
    # The order of these checks is the order of the before-request hooks: wrong Host, then no
    # launch cookie, then a form without its token.
    init_launch(app, gate)
    CSRFProtect(app)
    init_i18n(app, default_locale)
    init_person(app)
    init_display(app)
    init_provenance(app)
    app.extensions[SERVICE_KEY] = service
    app.extensions[items.METADATA_TOOL_KEY] = metadata_tool or MetadataTool("mat2")
    for module in (items, renditions, sources, cases, custody, intake, assessments, similar,
                   search):
        app.register_blueprint(module.bp)
    init_incidents(app)
    register_error_pages(app)
    return app
