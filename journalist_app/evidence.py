"""Handing evidence over in the web interface: transfer bundles, and damaged-file refusals.

The actions themselves (checking, logging, marking) are ``core.staff_actions``; this module
turns their outcome into the response a browser gets.
"""

from collections.abc import Sequence
from http import HTTPStatus

from flask import Response, abort, render_template
from flask_babel import lazy_gettext

from core.errors import BundleError, BundleItemMissing, StoredFileDamaged
from core.models import Reply, Submission
from core.staff_actions import StaffActor, deliver_bundle

# The stored bytes disagree with the record: retrying will not help until someone restores them.
DAMAGED_STATUS = HTTPStatus.CONFLICT
DAMAGED_TITLE = lazy_gettext("Damaged evidence: nothing was downloaded")


def damaged_response(error: StoredFileDamaged) -> Response:
    """Explain a refusal (already logged by the staff action) to staff."""
    body = render_template(
        "error.html", code=DAMAGED_STATUS, title=str(DAMAGED_TITLE), message=str(error)
    )
    return Response(body, status=DAMAGED_STATUS, mimetype="text/html")


def bundle_response(actor: StaffActor, items: Sequence[Submission | Reply]) -> Response:
    """Stream a transfer bundle of ``items`` once every file checked out and was logged."""
    try:
        stream = deliver_bundle(actor, items)
    except StoredFileDamaged as exc:
        return damaged_response(exc)
    except BundleItemMissing as exc:
        abort(HTTPStatus.GONE, str(exc))
    except BundleError as exc:
        abort(HTTPStatus.BAD_REQUEST, str(exc))
    response = Response(stream, mimetype="application/zip", direct_passthrough=True)
    response.headers["Content-Disposition"] = f'attachment; filename="{stream.name}"'
    response.call_on_close(stream.close)
    return response
