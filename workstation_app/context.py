"""What views reach through the app: the service layer and the person at the desk."""

from __future__ import annotations

from flask import current_app, session

from workstation.service import WorkstationService

SERVICE_KEY = "skrynka.desk.service"
ACTOR_KEY = "actor"


def desk_service() -> WorkstationService:
    service: WorkstationService = current_app.extensions[SERVICE_KEY]
    return service


def current_actor() -> str:
    """The name the person gave for this session (views behind `require_person` only)."""
    return str(session[ACTOR_KEY])
