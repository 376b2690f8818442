"""The rest of a refused request body: read after the answer, within a budget of bytes and time.

When the source app refuses an upload (too large, logged out, malformed) it answers before the
browser has sent the whole body. A server that then closes a socket holding unread data makes
the kernel send a reset, and a browser that gets a reset while uploading may throw away the page
it was sent and show "connection reset" instead: the source never learns why nothing arrived.

So a refused request ends like this. The answer is written in full; then the connection's write
side is shut (the browser gets our page and a clean end of it at once, whatever else happens);
then the remaining body is read and dropped, for at most ``max_bytes`` and ``seconds``, so that a
browser which reads the answer only after sending everything can finish sending. A client
that stalls or sends without end costs one thread for ``seconds`` at most, never more.

The answer says ``Connection: close``, so that no client sends its next request into this
connection: a kept-alive client that did so found the connection shut without an answer.
gunicorn drops a ``Connection`` header set by an application (it is hop-by-hop), so
:class:`ClosingAnswers` wraps the app and asks gunicorn itself to close (it then sends the
header and closes the socket after the drain); Werkzeug's server honours the header as it is.
The write side is shut through the socket the server hands over (gunicorn's
``gunicorn.socket``, Werkzeug's ``werkzeug.socket``).
"""

import contextlib
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from flask import request
from werkzeug.wrappers import Response

from source_app.context import source_context
from source_app.upload import FORM_OVERHEAD_BYTES

#: Long enough for a browser over Tor to receive the page and finish a modest upload.
DRAIN_SECONDS = 30.0
_READ_BYTES = 64 * 1024
_SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")

AnyResponse = TypeVar("AnyResponse", bound=Response)


@dataclass(frozen=True)
class DrainBudget:
    """How much of a refused body is read after the answer: bytes, and seconds in all."""

    max_bytes: int
    seconds: float = DRAIN_SECONDS


def refuse_upload(response: AnyResponse) -> AnyResponse:
    """``response`` answers a refused upload: send it now, read the rest of the body after it."""
    settings = source_context().instance.settings
    # Up to twice the largest upload any source may send: enough for a browser that reads
    # the answer only once it has sent everything, and bounded in time as well.
    budget = DrainBudget(max_bytes=2 * (settings.max_upload_bytes + FORM_OVERHEAD_BYTES))
    return drain_after(response, request.environ, budget)


def drain_after(
    response: AnyResponse, environ: Mapping[str, Any], budget: DrainBudget
) -> AnyResponse:
    """Make ``response`` the last answer on its connection, reading up to ``budget`` after it.

    Runs when the server closes the response, that is once every byte of it has been written.
    """
    response.headers["Connection"] = "close"
    response.call_on_close(partial(drain_request_body, environ, budget))
    return response


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ClosingAnswers:
    """WSGI wrapper: an answer that says ``Connection: close`` really is the connection's last.

    gunicorn hands the app its response object's ``start_response``; that object's
    ``force_close`` makes gunicorn announce the close and close after the answer (and after the
    drain, which runs while the answer is closed). Other servers are left to read the header.
    """

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if _says_close(headers):
                force_close = getattr(
                    getattr(start_response, "__self__", None), "force_close", None
                )
                if callable(force_close):
                    force_close()
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def _says_close(headers: Iterable[tuple[str, str]]) -> bool:
    return any(
        name.lower() == "connection" and value.strip().lower() == "close" for name, value in headers
    )


def drain_request_body(
    environ: Mapping[str, Any],
    budget: DrainBudget,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """End the answer on this connection, then read and drop the unread body; bytes read."""
    connection = _connection_socket(environ)
    if connection is not None:
        try:
            connection.shutdown(socket.SHUT_WR)
        except OSError:
            return 0  # the client is gone already
    if not _has_body(environ):
        return 0
    stream = environ.get("wsgi.input")
    if stream is None:
        return 0
    previous_timeout = connection.gettimeout() if connection is not None else None
    try:
        return _read_and_drop(stream, connection, budget, clock)
    finally:
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.settimeout(previous_timeout)


def _read_and_drop(
    stream: Any,
    connection: socket.socket | None,
    budget: DrainBudget,
    clock: Callable[[], float],
) -> int:
    deadline = clock() + budget.seconds
    drained = 0
    while drained < budget.max_bytes:
        remaining = deadline - clock()
        if remaining <= 0:
            break
        if connection is not None:
            # Every read is bounded by what is left of the time: a stalled client ends it.
            connection.settimeout(remaining)
        try:
            chunk = stream.read(min(_READ_BYTES, budget.max_bytes - drained))
        except Exception:  # noqa: BLE001 (a timeout, a reset, a cut-off chunk: all end the drain)
            return drained
        if not chunk:
            break
        drained += len(chunk)
    return drained


def _connection_socket(environ: Mapping[str, Any]) -> socket.socket | None:
    for key in _SOCKET_KEYS:
        candidate = environ.get(key)
        if isinstance(candidate, socket.socket):
            return candidate
    return None


def _has_body(environ: Mapping[str, Any]) -> bool:
    # Reading a body that does not exist would wait for bytes that never come.
    if "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
        return True
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False
