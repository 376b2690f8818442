"""Running the two web apps under gunicorn, and stopping them cleanly.

Each app runs in its own gunicorn master so the source and journalist interfaces share no
process, port or memory. Core never imports the apps: gunicorn loads them by name in its
workers, and every worker opens the instance itself (`create_app()` reads SKRYNKA_DATA_DIR).
Workers are threaded (`gthread`) with an hour-long timeout because one upload over Tor can take
that long and a sync worker would be killed in the middle of it. Both bind to 127.0.0.1 only:
tor is the only thing in front of them.
"""

import http.client
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from gunicorn.glogging import Logger as GunicornLogger  # type: ignore[import-untyped]
from gunicorn.http import wsgi as gunicorn_wsgi  # type: ignore[import-untyped]

from core.settings import Settings, env_name
from server.errors import ServeError

SOURCE_APP = "source_app:create_app()"
JOURNALIST_APP = "journalist_app:create_app()"
LOOPBACK = "127.0.0.1"
# How long gunicorn lets a worker finish its requests after SIGTERM before killing it.
GRACEFUL_SECONDS = 20
STOP_WAIT_SECONDS = GRACEFUL_SECONDS + 10
# How often `serve` checks that tor still hosts the onion services (after a tor restart).
WATCH_SECONDS = 10.0


class QuietLogger(GunicornLogger):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's logger minus everything that could identify a source.

    The access log stays off (no option enables it here), and error-log lines that carry a
    request line, a client address or an exception message (which may quote the request) are
    rewritten to fixed text (invariant 3).
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.access_log.disabled = True
        self.error_log.addFilter(_scrub_request_details)
        # The master sets this up before it forks the workers, which inherit it.
        hide_server_header()

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


def hide_server_header() -> None:
    """Stop gunicorn from sending `Server: gunicorn` with every response.

    It tells anyone who asks which web server (and so which software stack) runs behind the
    onion address, and gunicorn has no setting to turn it off: its response class writes the
    header itself, so that one method is wrapped to leave the line out. Idempotent.
    """
    if getattr(gunicorn_wsgi.Response, _QUIET_MARK, False):
        return
    original = gunicorn_wsgi.Response.default_headers

    def default_headers(self: Any) -> list[str]:
        return [line for line in original(self) if not line.lower().startswith("server:")]

    gunicorn_wsgi.Response.default_headers = default_headers
    setattr(gunicorn_wsgi.Response, _QUIET_MARK, True)


_QUIET_MARK = "_skrynka_server_header_hidden"


def _scrub_request_details(record: logging.LogRecord) -> bool:
    message = str(record.msg)
    if message.startswith("Error handling request"):
        # Keep where it failed (the stack) and what (the exception type) for the operator, but
        # not the exception's message or the request line, which can quote what a source sent.
        record.msg, record.args = (
            "Error handling a request (details withheld): %s",
            (_withheld_traceback(record.exc_info),),
        )
        record.exc_info, record.exc_text = None, None
    elif message.startswith("Invalid request from"):
        record.msg, record.args = "Invalid request (details withheld)", ()
        record.exc_info, record.exc_text = None, None
    elif message.startswith("Listening at:"):
        # Names only the port: the log then never holds an IP address at all, so a search of
        # it for addresses has nothing to explain.
        port = str(record.args[0] if isinstance(record.args, tuple) and record.args else "")
        record.msg, record.args = "Listening on loopback port %s", (port.rsplit(":", 1)[-1],)
    return True


def _withheld_traceback(exc_info: Any) -> str:
    if not isinstance(exc_info, tuple) or exc_info[0] is None:
        return "no exception"
    exc_type, _value, tb = exc_info
    frames = "".join(traceback.format_tb(tb)).rstrip()
    return f"{exc_type.__name__}\n{frames}" if frames else str(exc_type.__name__)


class ConsoleHandler(logging.StreamHandler[IO[str]]):
    """The handler `configure_logging` installs (a class of its own so it can be replaced)."""


def configure_logging(stream: IO[str] | None = None) -> None:
    """Log Skrynka's own messages (onion publishing, start and stop) to ``stream`` (stderr).

    stem logs at INFO on every control-connection open and close, and Alembic on every schema
    check, which buries what matters; only their warnings get through. Called at run time, after
    stem is imported, because stem resets its logger's level when it is first imported.
    """
    handler = ConsoleHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, ConsoleHandler)]:
        root.removeHandler(existing)  # called again (tests, a second command): replace, not add
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for chatty in ("stem", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


@dataclass(frozen=True)
class AppServer:
    """What one gunicorn master serves: an app factory by name on a loopback port."""

    name: str
    app_factory: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"


def gunicorn_command(
    app_factory: str,
    port: int,
    *,
    workers: int = 2,
    threads: int = 8,
    timeout_seconds: int = 3600,
    worker_tmp_dir: Path | None = None,
) -> list[str]:
    """The command line that serves ``app_factory`` (e.g. "source_app:create_app()")."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{LOOPBACK}:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        str(timeout_seconds),
        "--graceful-timeout",
        str(GRACEFUL_SECONDS),
        "--keep-alive",
        "5",
        "--logger-class",
        "server.serve.QuietLogger",
        "--error-logfile",
        "-",
        "--log-level",
        "info",
        "--no-control-socket",
    ]
    if worker_tmp_dir is not None:
        # The heartbeat file is rewritten constantly: keep it in RAM, not on the data disk.
        command += ["--worker-tmp-dir", str(worker_tmp_dir)]
    return [*command, app_factory]


#: glibc's malloc gives each thread that allocates its own arena (up to 8 per core), and each
#: arena keeps the megabyte buffers an upload freed; with a worker's request threads plus an
#: upload's hashing and feeding threads that grew a worker by 5-10 MiB over a few uploads.
#: Two arenas kept the peak RSS of 64 and 256 MiB uploads flat (~86 MiB against ~92-99 MiB)
#: at the same throughput. The operator's own value, if set, wins.
MALLOC_ARENAS = "2"


def server_environment(
    data_dir: Path, base: Mapping[str, str] | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a gunicorn master: the caller's, plus the data dir.

    Workers are forked from the master, so the malloc setting read at its start is theirs too.
    """
    environment = dict(os.environ if base is None else base)
    environment.setdefault("MALLOC_ARENA_MAX", MALLOC_ARENAS)
    environment[env_name("data_dir")] = str(data_dir)
    environment.update(extra)
    return environment


class GunicornProcess:
    """One gunicorn master: start, wait until it answers HTTP, stop with SIGTERM."""

    def __init__(
        self,
        server: AppServer,
        command: Sequence[str],
        env: Mapping[str, str],
        *,
        cwd: Path | None = None,
        stdout: Any = None,
        stderr: Any = None,
    ) -> None:
        self.server = server
        self.command = list(command)
        self.env = dict(env)
        self.cwd = cwd
        self._stdout = stdout
        self._stderr = stderr
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
            # Its own process group: a Ctrl-C in the terminal reaches `skrynka serve`, which
            # then stops each master in order instead of all of them at once.
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def poll(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Return once a worker answers an HTTP request; raise ServeError if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.poll()
            if code is not None:
                raise ServeError(
                    f"The {self.server.name} interface stopped during start-up (exit code "
                    f"{code}); its error is printed above. Run `skrynka check` for details."
                )
            if answers_http(self.server.port):
                return
            time.sleep(0.1)
        raise ServeError(
            f"The {self.server.name} interface did not answer on port {self.server.port} "
            f"within {timeout:.0f} s; see the messages above."
        )

    def send_signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, timeout: float = STOP_WAIT_SECONDS) -> int:
        """SIGTERM (gunicorn's graceful shutdown), then SIGKILL if it hangs; the exit code."""
        if self.process is None:
            return 0
        self.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()


def answers_http(port: int, path: str = "/", timeout: float = 2.0) -> bool:
    """True if something on the loopback port answers an HTTP request (any status)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return True


def app_servers(settings: Settings) -> list[AppServer]:
    return [
        AppServer("source", SOURCE_APP, settings.source_port),
        AppServer("journalist", JOURNALIST_APP, settings.journalist_port),
    ]


def start_servers(
    settings: Settings, servers: Sequence[AppServer], *, env: Mapping[str, str] | None = None
) -> list[GunicornProcess]:
    """Start one gunicorn master per server and wait until each answers."""
    environment = server_environment(settings.data_dir, env)
    processes: list[GunicornProcess] = []
    try:
        for server in servers:
            process = GunicornProcess(
                server,
                gunicorn_command(
                    server.app_factory,
                    server.port,
                    workers=settings.workers,
                    threads=settings.threads,
                    timeout_seconds=settings.worker_timeout_seconds,
                    worker_tmp_dir=settings.ram_dir,
                ),
                environment,
            )
            process.start()
            processes.append(process)
        for process in processes:
            process.wait_ready()
    except BaseException:
        stop_servers(processes)
        raise
    return processes


def stop_servers(processes: Sequence[GunicornProcess]) -> list[int]:
    """Ask every master to stop at once, then wait for each; their exit codes."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    return [process.stop() for process in processes]


class StopRequest:
    """Set by SIGTERM or SIGINT; the serve loop waits on it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_number: int | None = None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        self.signal_number = signum
        self.event.set()

    def install(self) -> Callable[[], None]:
        """Install the handlers; returns a function restoring the previous ones."""
        previous = {
            signum: signal.signal(signum, self.handle) for signum in (signal.SIGTERM, signal.SIGINT)
        }

        def restore() -> None:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

        return restore


def supervise(
    processes: Sequence[GunicornProcess],
    stop: StopRequest,
    *,
    watch: Callable[[], None] | None = None,
    watch_seconds: float = WATCH_SECONDS,
) -> int:
    """Wait until a stop is requested or a master dies; stop everything; the exit code.

    ``watch`` (e.g. keeping the onion services published across a tor restart) runs every
    ``watch_seconds`` meanwhile; it must handle its own errors. 0 after a requested stop; 1 if a
    master died on its own (the operator must look).
    """
    died: GunicornProcess | None = None
    next_watch = time.monotonic() + watch_seconds
    while not stop.event.wait(0.5):
        died = next((p for p in processes if p.poll() is not None), None)
        if died is not None:
            break
        if watch is not None and time.monotonic() >= next_watch:
            watch()
            next_watch = time.monotonic() + watch_seconds
    stop_servers(processes)
    if died is not None:
        print(
            f"The {died.server.name} interface stopped unexpectedly (exit code {died.poll()}); "
            "everything was shut down. See the messages above.",
            file=sys.stderr,
        )
        return 1
    return 0
