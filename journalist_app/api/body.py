"""Reading request bodies as JSON whatever their Content-Type.

The SecureDrop SDK sends its token request with no Content-Type header at all, so Flask's
`request.json` (which insists on application/json) cannot be used: the raw body is parsed instead.
"""

import json
from typing import Any

from flask import Request

from journalist_app.api.errors import BodyTooLarge, InvalidBody

# Large enough for a long armored reply or a bundle selection of thousands of uuids; small
# enough that no client can make a worker hold a large body in memory.
MAX_BODY_BYTES = 8 * 1024 * 1024


def read_body_json(request: Request, *, allow_empty: bool = False) -> Any:
    """The parsed JSON body; `None` for an empty body when `allow_empty`, else InvalidBody."""
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise BodyTooLarge(f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
    if not raw.strip():
        if allow_empty:
            return None
        raise InvalidBody("Please send requests in valid JSON.")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidBody("Please send requests in valid JSON.") from exc


def read_body_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (the token, reply and seen requests all send one)."""
    document = read_body_json(request)
    if not isinstance(document, dict):
        raise InvalidBody("Please send requests in valid JSON: a JSON object is expected.")
    return document
