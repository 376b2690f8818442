"""The /api/v1 blueprint and `register_api`, which mounts it on the journalist app.

Everything under /api/ answers JSON, errors included: the SecureDrop SDK calls `.json()` on
every response before it looks at the status, so an HTML error page from the web interface's
handlers would break it. Three layers make sure of that: the API's own errors are exceptions
handled by the blueprint; HTTP errors raised inside API views are handled by the blueprint for
every status code (code-specific handlers, so they win over the app's); and errors raised before
any view is chosen (unknown path, wrong method) are turned into JSON by an app-level
after_request hook limited to /api/ paths.
"""

import logging
import traceback
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException, default_exceptions

from core.audit import AuditLog
from core.audit_actions import Channel
from core.client_throttle import ClientThrottle
from core.instance import Instance
from core.outage import RETRY_AFTER_SECONDS, outage_of
from journalist_app.api.accounts import add_account_routes
from journalist_app.api.acknowledgements import add_acknowledgement_routes
from journalist_app.api.bundles import add_bundle_routes
from journalist_app.api.context import json_response
from journalist_app.api.cookies import strip_api_cookies
from journalist_app.api.description import add_description_routes
from journalist_app.api.errors import ApiError
from journalist_app.api.items import add_item_routes
from journalist_app.api.sources import add_source_routes
from journalist_app.context import StaffContext, install_context

API_PREFIX = "/api/v1"
API_ROOT = "/api/"
logger = logging.getLogger("skrynka.api")


class ApiBlueprint(Blueprint):
    """A blueprint whose routes never merge slashes or answer OPTIONS on their own.

    Werkzeug would otherwise answer `/sources//submissions` and OPTIONS requests itself, with a
    redirect or an empty non-JSON body.
    """

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        options.setdefault("merge_slashes", False)
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options=False, **options)


def error_body(status: int, message: str) -> dict[str, str]:
    return {"error": HTTPStatus(status).phrase, "message": message}


def api_error_response(error: ApiError) -> Response:
    return json_response(error_body(error.status, error.message), error.status)


def http_error_response(error: HTTPException) -> Response:
    status = error.code or HTTPStatus.INTERNAL_SERVER_ERROR
    response = json_response(error_body(status, error.description or ""), status)
    # Keep what the exception adds, such as Allow on a 405.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def unexpected_error_response(error: Exception) -> Response:
    outage = outage_of(error)
    if outage is not None:
        logger.error("API request refused (%s): %s", outage.kind, outage.advice)
        response = json_response(
            error_body(HTTPStatus.SERVICE_UNAVAILABLE, outage.staff_message),
            HTTPStatus.SERVICE_UNAVAILABLE,
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    # The type and the stack only: the message (a database error quotes its query parameters)
    # could hold request data, and the stack's lines are code, not values.
    stack = "".join(traceback.format_tb(error.__traceback__)).rstrip()
    logger.error("Unhandled %s in an API request\n%s", type(error).__name__, stack)
    return json_response(
        error_body(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "The server could not complete the request; try again, and tell the administrator "
            "if it keeps failing.",
        ),
        HTTPStatus.INTERNAL_SERVER_ERROR,
    )


def jsonify_api_errors(response: Response) -> Response:
    """Turn any non-JSON error response under /api/ (from the app's handlers) into JSON."""
    if not request.path.startswith(API_ROOT) or response.status_code < 400:
        return response
    if response.mimetype == "application/json":
        return response
    routing_error = request.routing_exception
    if isinstance(routing_error, HTTPException) and routing_error.code == response.status_code:
        # Unknown path or wrong method: rebuild from the exception (a 405 keeps its Allow).
        return http_error_response(routing_error)
    status = response.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    replacement = json_response({"error": phrase, "message": _default_description(status)}, status)
    for name, value in response.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            replacement.headers[name] = value
    return replacement


def _default_description(status: int) -> str:
    exception = default_exceptions.get(status)
    if exception is not None and exception.description:
        return exception.description
    return "The request failed."


def make_blueprint() -> Blueprint:
    """The API's routes; its views find their context with ``api()`` (see register_api)."""
    bp = ApiBlueprint("api", __name__, url_prefix=API_PREFIX)
    add_description_routes(bp)
    add_account_routes(bp)
    add_source_routes(bp)
    add_item_routes(bp)
    add_bundle_routes(bp)
    add_acknowledgement_routes(bp)
    bp.register_error_handler(ApiError, api_error_response)
    for code in default_exceptions:
        bp.register_error_handler(code, http_error_response)
    bp.register_error_handler(Exception, unexpected_error_response)
    return bp


def register_api(
    app: Flask, instance: Instance, *, sign_in_throttle: ClientThrottle | None = None
) -> Blueprint:
    """Mount the Journalist API v1 on `app` at /api/v1.

    Call it after `core.web.harden_app` (the API must be exempted from the web interface's
    CSRF protection, which harden_app installs). Returns the blueprint.
    """
    csrf = app.extensions.get("csrf")
    if csrf is None:
        raise RuntimeError(
            "register_api(app, instance) was called before core.web.harden_app(app, ...): "
            "call harden_app first, so the API can be exempted from CSRF protection."
        )
    settings = instance.settings
    throttle = sign_in_throttle or ClientThrottle(
        settings.login_attempt_limit, settings.login_attempt_window_seconds
    )
    install_context(
        app,
        StaffContext(
            instance=instance,
            audit=AuditLog(instance.signer),
            channel=Channel.API,
            sign_in_throttle=throttle,
        ),
    )
    bp = make_blueprint()
    # Token-authenticated requests carry no cookie a forged cross-site request could ride on.
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.after_request(jsonify_api_errors)
    strip_api_cookies(app, API_ROOT)
    return bp
