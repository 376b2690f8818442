"""No cookie is ever set under /api/: API clients authenticate with a token, not a cookie.

Other parts of the app may set or refresh cookies in their own after_request hooks, which can
run after the API's; removing Set-Cookie in WSGI middleware catches all of them, whatever the
order in which the app factory registers things.
"""

from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


class CookieStripper:
    def __init__(self, wsgi_app: "WSGIApplication", prefix: str) -> None:
        self.wsgi_app = wsgi_app
        self.prefix = prefix

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith(self.prefix):
            return self.wsgi_app(environ, start_response)

        def start_without_cookies(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> object:
            kept = [(k, v) for k, v in headers if k.lower() != "set-cookie"]
            return start_response(status, kept, exc_info)

        return self.wsgi_app(environ, start_without_cookies)  # type: ignore[arg-type]


def strip_api_cookies(app: Flask, prefix: str) -> None:
    app.wsgi_app = CookieStripper(app.wsgi_app, prefix)  # type: ignore[method-assign]
