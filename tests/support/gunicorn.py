"""Running an app factory under real gunicorn for a test, exactly as `skrynka serve` does."""

from collections.abc import Mapping
from pathlib import Path
from typing import IO

from server.serve import AppServer, GunicornProcess, gunicorn_command, server_environment
from tests.support.ports import free_port


class GunicornRunner:
    """Starts gunicorn masters on free loopback ports; stop_all() at teardown."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[GunicornProcess] = []
        self._logs: list[IO[bytes]] = []

    def start(
        self,
        app_factory: str,
        data_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        workers: int = 1,
        threads: int = 4,
        timeout_seconds: int = 3600,
        ready_timeout: float = 30.0,
    ) -> str:
        """Serve ``app_factory`` with SKRYNKA_DATA_DIR=data_dir; return its base URL."""
        port = free_port()
        name = app_factory.split(":", 1)[0]
        log = (self.log_dir / f"gunicorn-{name}-{port}.log").open("wb")
        self._logs.append(log)
        process = GunicornProcess(
            AppServer(name, app_factory, port),
            gunicorn_command(
                app_factory,
                port,
                workers=workers,
                threads=threads,
                timeout_seconds=timeout_seconds,
                worker_tmp_dir=Path("/dev/shm"),
            ),
            server_environment(data_dir, None, **dict(env or {})),
            stdout=log,
            stderr=log,
        )
        process.start()
        self.processes.append(process)
        try:
            process.wait_ready(ready_timeout)
        except Exception as exc:
            log.flush()
            output = Path(log.name).read_text(errors="replace")[-4000:]
            raise AssertionError(f"gunicorn for {app_factory} did not start:\n{output}") from exc
        return process.server.url.rstrip("/")

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()
        self.processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
