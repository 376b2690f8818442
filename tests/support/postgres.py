"""A throw-away PostgreSQL server on a loopback port, for the database tests.

PostgreSQL refuses to run as root; when the tests run as root the server runs as `nobody`
(through runuser) in a directory that user owns.
"""

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

UNPRIVILEGED_USER = "nobody"
SUPERUSER = "skrynka"


def find_postgres_tools() -> tuple[str, str] | None:
    initdb = shutil.which("initdb") or shutil.which("initdb", path="/usr/lib/postgresql/15/bin")
    pg_ctl = shutil.which("pg_ctl") or shutil.which("pg_ctl", path="/usr/lib/postgresql/15/bin")
    return (initdb, pg_ctl) if initdb and pg_ctl else None


@dataclass
class PostgresServer:
    initdb: str
    pg_ctl: str
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "pgdata"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, user=UNPRIVILEGED_USER)
        self._run(
            self.initdb,
            "--pgdata",
            str(self.data_dir),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--no-sync",
            "--encoding",
            "UTF8",
        )
        self.resume()

    def resume(self) -> None:
        """Start the server on its existing data (after :meth:`pause`)."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off"
        )
        self._run(
            self.pg_ctl,
            "start",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.root / "server.log"),
            "--options",
            options,
            "--wait",
        )

    def pause(self) -> None:
        """Stop the server, closing every connection, and keep its data for :meth:`resume`."""
        self._run(self.pg_ctl, "stop", "--pgdata", str(self.data_dir), "--mode", "fast")

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` when given) and return its URL."""
        # FILE_COPY: for a small template it is about twice as fast as the default WAL_LOG.
        copy_of = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        self._execute(f'CREATE DATABASE "{name}"{copy_of}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any connection still open to it (a server a test left up)."""
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(statement)

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl, "stop", "--pgdata", str(self.data_dir), "--mode", "fast")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    tools = find_postgres_tools()
    if tools is None:
        # Loud on purpose: a missing server must fail the PostgreSQL half, never skip it.
        raise RuntimeError(
            "initdb and pg_ctl are needed for the PostgreSQL tests: install the Debian package "
            "postgresql (scripts/install.sh does), or run one backend with --database sqlite"
        )
    # Not under pytest's tmp dir: that is private to the user running the tests.
    root = Path(tempfile.mkdtemp(prefix="skrynka-pg-", dir="/tmp"))
    server = PostgresServer(tools[0], tools[1], root, free_port())
    try:
        server.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server
