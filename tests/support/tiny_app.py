"""A WSGI app that only says which data dir it was started for: for testing the server runner
without depending on the real apps."""

import os
from collections.abc import Callable, Iterable
from typing import Any


def create_app() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    data_dir = os.environ["SKRYNKA_DATA_DIR"].encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/crash":
            raise RuntimeError("the tiny app crashed on purpose")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [data_dir]

    return app
