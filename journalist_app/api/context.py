"""What every API view shares: its context (journalist_app.context, on the API channel), token
checks and JSON responses."""

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, Concatenate, ParamSpec, TypeVar

from flask import Response, request
from sqlalchemy.orm import Session

from core.audit_actions import Channel
from core.inbox import Page
from core.models import Journalist
from core.staff_sessions import resolve_session
from journalist_app.api.errors import InvalidField, TokenInvalid, TokenMissing
from journalist_app.context import StaffContext, context_for

P = ParamSpec("P")
Row = TypeVar("Row")
# A view behind a token receives the request's database session and the signed-in journalist.
AuthenticatedView = Callable[Concatenate[Session, Journalist, P], Response]

# Pagination is a Skrynka extension: without these parameters a list is returned whole, as
# SecureDrop does, so existing clients keep working.
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000


def api() -> StaffContext:
    """The API's context for the app serving this request."""
    return context_for(Channel.API)


def authenticated(view: AuthenticatedView[P]) -> Callable[P, Response]:
    """Wrap a view so it runs only with a valid API token, inside one transaction."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        token = read_token(request.headers.get("Authorization"))
        context = api()
        with context.instance.sessions() as db:
            journalist = resolve_session(db, token, kind="api", lifetime=context.session_lifetime)
            if journalist is None:
                raise TokenInvalid("API token is invalid or expired.")
            response = view(db, journalist, *args, **kwargs)
            # Commits the token's renewal together with whatever the view changed.
            db.commit()
            return response

    return wrapper


def read_token(header: str | None) -> str:
    """The token of an `Authorization: Token <token>` header (exactly two parts)."""
    if not header:
        raise TokenMissing("API token not found in Authorization header.")
    parts = header.split()
    if len(parts) != 2 or parts[0] != "Token":
        raise TokenMissing("Malformed authorization header: send 'Authorization: Token <token>'.")
    return parts[1]


def json_response(payload: Mapping[str, Any], status: int = HTTPStatus.OK) -> Response:
    """A JSON response, encoded compactly (lists of 40,000 submissions are common)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json")


def read_page(args: Mapping[str, str]) -> Page | None:
    """`?page=N&per_page=M` (either may be left out), or None when neither is given."""
    if "page" not in args and "per_page" not in args:
        return None
    number = _positive_int(args, "page", 1)
    size = _positive_int(args, "per_page", DEFAULT_PER_PAGE)
    if size > MAX_PER_PAGE:
        raise InvalidField(f"per_page must be at most {MAX_PER_PAGE}.")
    return Page(number=number, size=size)


def _positive_int(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise InvalidField(f"{name} must be a whole number of at least 1.")
    return int(raw)


def pagination(page: Page, total: int) -> dict[str, int]:
    """The extension key added to a paginated list."""
    return {"page": page.number, "per_page": page.size, "total": total}


def list_response(
    key: str,
    rows: Iterable[Row],
    serialize: Callable[[Row], dict[str, Any]],
    page: Page | None,
    count_total: Callable[[], int],
) -> Response:
    """A list under `key`, with the pagination extension only when a page was asked for.

    `count_total` runs only then: an unpaginated list needs no count query.
    """
    payload: dict[str, object] = {key: [serialize(row) for row in rows]}
    if page is not None:
        payload["pagination"] = pagination(page, count_total())
    return json_response(payload)
