"""Skrynka extension: POST /api/v1/acknowledgements, the workstation's signed acknowledgement.

The body is the acknowledgement file exactly as `skrynka-workstation acknowledge` wrote it. The
file, not the token, is the authority: core.staff_actions.accept_acknowledgement checks it
against the pinned workstation key, so a stolen token can delete only what the workstation
signed. The answer names every item and what became of it (deleted, held for the retention
period, unknown, hash mismatch, reply kept). A refused file is a JSON 400 (409 when no
workstation key is pinned), with nothing deleted and the refusal in the audit log.
"""

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from core.errors import AcknowledgementError, NoWorkstationKey
from core.models import Journalist
from core.staff_actions import accept_acknowledgement
from journalist_app.api.body import MAX_BODY_BYTES
from journalist_app.api.context import api, authenticated, json_response
from journalist_app.api.errors import (
    AcknowledgementNotAccepted,
    BodyTooLarge,
    NoWorkstationKeyPinned,
)


@authenticated
def post_acknowledgement(db: Session, journalist: Journalist) -> Response:
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise BodyTooLarge(f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
    data = request.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
    try:
        outcome = accept_acknowledgement(api().actor(db, journalist), data)
    except NoWorkstationKey as exc:
        raise NoWorkstationKeyPinned(str(exc)) from exc
    except AcknowledgementError as exc:
        raise AcknowledgementNotAccepted(str(exc)) from exc
    return json_response(
        {
            "bundle_manifest_sha256": outcome.bundle,
            "items": [
                {
                    "uuid": result.uuid,
                    "outcome": result.outcome.value,
                    "message": result.outcome.explanation,
                }
                for result in outcome.results
            ],
        }
    )


def add_acknowledgement_routes(bp: Blueprint) -> None:
    bp.post("/acknowledgements")(post_acknowledgement)
