"""How pg_dump and pg_restore are told where the database is: the password only in their env."""

from pathlib import Path

from server.database_dump import dump_command, libpq_connection, restore_command


def test_the_password_goes_to_the_environment_and_the_rest_to_a_conninfo() -> None:
    connection = libpq_connection(
        "postgresql+psycopg://skrynka:p%40ss%27word@db.internal:5433/skrynka?sslmode=verify-full"
    )
    assert connection.password == "p@ss'word"
    assert "p@ss" not in connection.conninfo
    assert connection.conninfo == (
        "host='db.internal' port='5433' user='skrynka' dbname='skrynka' "
        "sslmode='verify-full' connect_timeout='15'"
    )
    env = connection.environment({"PATH": "/usr/bin"})
    assert env == {"PATH": "/usr/bin", "PGPASSWORD": "p@ss'word"}
    for argv in (
        dump_command("pg_dump", connection, Path("/backups/x.pgdump")),
        restore_command("pg_restore", connection, Path("/data/db.pgdump")),
    ):
        assert not any("p@ss" in arg for arg in argv)
        assert f"--dbname={connection.conninfo}" in argv


def test_a_unix_socket_and_odd_names_are_quoted_for_libpq() -> None:
    connection = libpq_connection(
        "postgresql+psycopg://skrynka@/evi'dence\\db?host=/run/postgresql&password=secret"
    )
    assert connection.password == "secret"
    assert connection.conninfo == (
        "user='skrynka' dbname='evi\\'dence\\\\db' host='/run/postgresql' connect_timeout='15'"
    )
    # Without a password libpq falls back to ~/.pgpass or peer authentication, as psycopg does.
    assert libpq_connection("postgresql+psycopg://skrynka@/skrynka").environment({}) == {}
