"""PostgreSQL dumps for backups: `pg_dump` into a backup, `pg_restore` out of one.

The flow of a backup: ``libpq_connection`` turns the SQLAlchemy URL the instance uses
(``postgresql+psycopg://user:password@host/db?sslmode=...``) into a libpq connection string
without the password, plus an environment holding the password as ``PGPASSWORD``: a command
line is visible to every user on the machine (``ps``), a process's environment only to its owner
and root. ``dump_database`` runs ``pg_dump --format=custom`` into a 0600 file (one consistent
snapshot: pg_dump reads everything in one repeatable-read transaction). The restore checks that
the target database is empty (``check_database_empty``: no tables, sequences or views outside
PostgreSQL's own schemas), then ``restore_dump`` runs ``pg_restore --single-transaction
--exit-on-error``, so a failed restore leaves the database as empty as it was.

On failure (the tool missing, a server that cannot be reached, a pg_dump older than the server)
DumpError carries pg_dump's or pg_restore's own words and what to do; the callers turn it into
BackupError or RestoreError and remove what they wrote.
"""

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from server.errors import DumpError

#: libpq fails fast on a server that does not answer instead of waiting for TCP to give up.
CONNECT_TIMEOUT_SECONDS = "15"
# Long enough for a large database on a slow disk; a hung server must not hang a cron job.
DUMP_TIMEOUT_SECONDS = 6 * 3600
#: The last lines of pg_dump's complaints are the ones that say what went wrong.
_STDERR_LINES = 6
_COUNT_USER_RELATIONS = text(
    "SELECT count(*) FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
)


@dataclass(frozen=True)
class LibpqConnection:
    """How pg_dump and pg_restore reach a database: arguments for argv, secrets for the env."""

    conninfo: str
    password: str | None

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        env = dict(base)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


def libpq_connection(database_url: str) -> LibpqConnection:
    """The libpq connection string (no password in it) and the password of ``database_url``."""
    url = make_url(database_url)
    password = url.password if url.password is None else str(url.password)
    keywords: dict[str, str] = {}
    if url.host:
        keywords["host"] = url.host
    if url.port:
        keywords["port"] = str(url.port)
    if url.username:
        keywords["user"] = url.username
    if url.database:
        keywords["dbname"] = url.database
    # psycopg hands the URL's query to libpq as keywords (host=/run/postgresql, sslmode, ...).
    for key, value in url.query.items():
        joined = value if isinstance(value, str) else ",".join(value)
        if key == "password":
            password = joined
        else:
            keywords[key] = joined
    keywords.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    conninfo = " ".join(f"{key}={_quoted(value)}" for key, value in keywords.items())
    return LibpqConnection(conninfo, password)


def dump_command(tool: str, connection: LibpqConnection, out: Path) -> list[str]:
    """pg_dump's argv: a custom-format dump (compressed, for pg_restore) of one database."""
    return [
        tool,
        "--format=custom",
        "--no-password",
        f"--file={out}",
        f"--dbname={connection.conninfo}",
    ]


def restore_command(tool: str, connection: LibpqConnection, dump: Path) -> list[str]:
    """pg_restore's argv: all or nothing, owned by whoever restores, no grants of the old server."""
    return [
        tool,
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        "--no-password",
        f"--dbname={connection.conninfo}",
        str(dump),
    ]


def dump_database(database_url: str, out: Path) -> None:
    """Dump the database at ``database_url`` into the new file ``out`` (0600)."""
    tool = _find("pg_dump", "back up")
    connection = libpq_connection(database_url)
    # pg_dump would create the file with the umask's mode; it holds every row in clear.
    os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    _run(
        dump_command(tool, connection, out),
        connection,
        "pg_dump",
        "dumped",
        "the pg_dump of the server's major version (package postgresql-client-N)",
    )


def check_database_empty(database_url: str) -> None:
    """Raise DumpError unless the database exists, answers and holds no tables."""
    safe = make_url(database_url).render_as_string(hide_password=True)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            count = connection.execute(_COUNT_USER_RELATIONS).scalar_one()
    except SQLAlchemyError as exc:
        raise DumpError(
            f"The database {safe} cannot be reached ({_first_line(exc)}); create it "
            "(createdb), start PostgreSQL, or fix SKRYNKA_DATABASE_URL, then restore again."
        ) from exc
    finally:
        engine.dispose()
    if count:
        raise DumpError(
            f"The database {safe} is not empty ({count} tables, sequences or views); restore "
            "only into a new, empty database (createdb NAME, then point SKRYNKA_DATABASE_URL "
            "at it), so that nothing of another instance is mixed in or overwritten."
        )


def restore_dump(database_url: str, dump: Path) -> None:
    """Restore ``dump`` into the (empty) database at ``database_url``, in one transaction."""
    tool = _find("pg_restore", "restore")
    connection = libpq_connection(database_url)
    _run(
        restore_command(tool, connection, dump),
        connection,
        "pg_restore",
        "restored",
        "pg_restore of the same or a newer major version than the dump's pg_dump",
    )


def _run(argv: list[str], connection: LibpqConnection, name: str, done: str, newer: str) -> None:
    try:
        result = subprocess.run(
            argv,
            env=connection.environment(os.environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=DUMP_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DumpError(f"{name} could not be run ({exc}); nothing was {done}.") from exc
    if result.returncode != 0:
        said = result.stderr.decode("utf-8", "replace").strip().splitlines()[-_STDERR_LINES:]
        raise DumpError(
            f"{name} failed: {' / '.join(said) or f'exit status {result.returncode}'}. "
            f"Check that PostgreSQL runs and the database URL is right; on a version mismatch "
            f"install {newer}. Nothing was {done}."
        )


def _find(tool: str, verb: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise DumpError(
            f"{tool} is not installed (or not on PATH), and it is needed to {verb} a PostgreSQL "
            f"database: install the Debian package postgresql-client (its major version at "
            "least the server's), then try again."
        )
    return found


def _quoted(value: str) -> str:
    # libpq's keyword=value syntax: single quotes, with backslash escaping ' and \.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
