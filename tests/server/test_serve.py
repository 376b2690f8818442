"""The gunicorn runner: threaded workers on loopback, and logs that identify nobody."""

import io
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from core.instance import Instance
from server.serve import (
    StopRequest,
    configure_logging,
    gunicorn_command,
    server_environment,
    supervise,
)

TINY_APP = "tests.support.tiny_app:create_app()"
MARKER_PATH = "/where-the-source-went-7f3a"
MARKER_AGENT = "SourceBrowser/7f3a"


def test_the_command_uses_threaded_workers_on_loopback_with_long_timeouts() -> None:
    command = gunicorn_command("source_app:create_app()", 8080)
    joined = " ".join(command)
    assert "--bind 127.0.0.1:8080" in joined
    assert "--worker-class gthread" in joined
    assert int(command[command.index("--timeout") + 1]) >= 3600
    assert "--access-logfile" not in command  # gunicorn's default: no access log
    assert "--logger-class server.serve.QuietLogger" in joined
    assert command[-1] == "source_app:create_app()"


def raw_request(base_url: str, data: bytes) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(data)
        connection.recv(4096)


def test_servers_run_with_two_malloc_arenas_and_the_data_dir(tmp_path: Path) -> None:
    # Fewer arenas keep a threaded worker's memory flat across uploads (see MALLOC_ARENAS).
    environment = server_environment(tmp_path, {"PATH": "/usr/bin"})
    assert environment == {
        "PATH": "/usr/bin",
        "MALLOC_ARENA_MAX": "2",
        "SKRYNKA_DATA_DIR": str(tmp_path),
    }


def test_an_operators_malloc_arena_setting_is_kept(tmp_path: Path) -> None:
    environment = server_environment(tmp_path, {"MALLOC_ARENA_MAX": "4"})
    assert environment["MALLOC_ARENA_MAX"] == "4"


def test_neither_paths_nor_agents_nor_addresses_reach_the_log(
    instance: Instance, make_gunicorn: Callable[..., str], tmp_path: Path
) -> None:
    base = make_gunicorn(TINY_APP, instance.settings.data_dir)
    request = urllib.request.Request(base + MARKER_PATH, headers={"User-Agent": MARKER_AGENT})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as crashed:
        urllib.request.urlopen(base + "/crash?" + MARKER_PATH.strip("/"), timeout=10)
    assert crashed.value.code == 500
    raw_request(base, b"NONSENSE " + MARKER_PATH.encode() + b" HTTP/9\r\n\r\n")
    time.sleep(0.5)
    (log_file,) = tmp_path.glob("gunicorn-*.log")
    log = log_file.read_text()
    assert "Error handling a request (details withheld): RuntimeError" in log
    assert "tiny_app.py" in log  # the operator still sees where it failed
    # but not the message (only the source line quoting it), which may quote a request
    assert "RuntimeError: the tiny app crashed" not in log
    assert "Invalid request (details withheld)" in log
    assert MARKER_PATH.strip("/") not in log
    assert MARKER_AGENT not in log
    assert "ip=" not in log
    assert "127.0.0.1" not in log
    assert "Listening on loopback port" in log


def test_stem_and_alembic_chatter_is_dropped_but_their_warnings_and_ours_are_kept() -> None:
    import stem.control  # noqa: F401  (imported first, as `skrynka serve` does: stem resets its level)

    root, before = logging.getLogger(), logging.getLogger().handlers[:]
    level = root.level
    stream = io.StringIO()
    try:
        configure_logging(stream)
        configure_logging(stream)  # a second call replaces the handler instead of doubling lines
        logging.getLogger("stem").info("GETINFO version closed")
        logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
        logging.getLogger("stem").warning("tor answered oddly")
        logging.getLogger("onion.publisher").info("onion services published")
    finally:
        root.handlers[:] = before
        root.setLevel(level)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "tor answered oddly" in lines[0]
    assert "onion services published" in lines[1]


def test_the_serve_loop_runs_its_watch_until_stopped() -> None:
    # What keeps the onion services published across a tor restart while serve runs.
    stop = StopRequest()
    calls: list[float] = []

    def watch() -> None:
        calls.append(time.monotonic())
        if len(calls) == 3:
            stop.event.set()

    assert supervise([], stop, watch=watch, watch_seconds=0.1) == 0
    assert len(calls) == 3
