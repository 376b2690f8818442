"""Backups: a consistent snapshot of a running instance that restores into a working one."""

import io
import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from core.instance import Instance
from core.settings import Settings, load_settings
from crypto.decryption import decrypt_to
from crypto.submission_key import export_secret_key
from server.backup import DATABASE_MEMBER, POSTGRESQL_MEMBER, write_backup
from server.backup_key import BackupRecipient
from server.cli import main
from server.errors import BackupError
from tests.support.keys import KeyPair, make_key_pair
from tests.support.postgres import PostgresServer
from tests.support.shared_dir import update_instance_settings


@pytest.fixture(autouse=True)
def no_skrynka_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SKRYNKA_"):
            monkeypatch.delenv(name)


def add_staff(data_dir: Path, username: str) -> None:
    assert main(["user", "add", username, "--data-dir", str(data_dir)]) == 0


# Opens or names the SQLite snapshot itself; the PostgreSQL dump has its own tests below.
@pytest.mark.only_on("sqlite")
def test_a_backup_restores_into_an_instance_that_checks_ok(
    instance: Instance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = instance.settings
    data = settings.data_dir
    add_staff(data, "anna")
    stored = settings.store_dir / "a" / "1-brave_otter-msg.gpg"
    stored.parent.mkdir(mode=0o700)
    stored.write_bytes(b"\x85ciphertext stand-in")
    (settings.onion_dir / "source").mkdir(mode=0o700)
    (settings.onion_dir / "source" / "hs_ed25519_secret_key").write_bytes(b"k" * 96)
    (settings.tmp_dir / "upload-in-flight.tmp").write_bytes(b"junk")
    capsys.readouterr()

    out = tmp_path / "backups" / "skrynka.tar"
    out.parent.mkdir()
    assert main(["backup", "--data-dir", str(data), "--out", str(out), "--plaintext"]) == 0
    printed = capsys.readouterr()
    assert "encrypt it" in printed.out
    assert "UNENCRYPTED" in printed.err
    assert out.stat().st_mode & 0o777 == 0o600
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    assert DATABASE_MEMBER in names
    assert "tmp" in names
    assert not any(n.startswith("tmp/") for n in names)  # in-flight uploads are junk
    assert not any(n.startswith("db.sqlite-") for n in names)

    restored = tmp_path / "restored"
    assert main(["restore", "--from", str(out), "--data-dir", str(restored)]) == 0
    assert main(["check", "--data-dir", str(restored)]) == 0
    for secret in ("session.key", "codename.salt", "signing.key"):
        assert (restored / "secrets" / secret).read_bytes() == (
            settings.secrets_dir / secret
        ).read_bytes()
        assert (restored / "secrets" / secret).stat().st_mode & 0o777 == 0o600
    assert (restored / "store" / "a" / "1-brave_otter-msg.gpg").read_bytes() == (
        stored.read_bytes()
    )
    assert (restored / "onion" / "source" / "hs_ed25519_secret_key").read_bytes() == b"k" * 96
    capsys.readouterr()
    assert main(["user", "list", "--data-dir", str(restored)]) == 0
    assert "anna" in capsys.readouterr().out
    assert main(["audit", "verify", "--data-dir", str(restored)]) == 0


# Opens or names the SQLite snapshot itself; the PostgreSQL dump has its own tests below.
@pytest.mark.only_on("sqlite")
def test_a_backup_taken_during_a_write_holds_only_committed_rows(
    instance: Instance, tmp_path: Path
) -> None:
    settings = instance.settings
    add_staff(settings.data_dir, "anna")
    writer = sqlite3.connect(settings.data_dir / "db.sqlite", timeout=30)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM journalists")  # not committed while the backup runs
        summary = write_backup(settings, tmp_path / "during.tar")
    finally:
        writer.rollback()
        writer.close()
    assert summary.database_included
    restored = tmp_path / "restored"
    assert main(["restore", "--from", str(summary.path), "--data-dir", str(restored)]) == 0
    snapshot = sqlite3.connect(restored / DATABASE_MEMBER)
    try:
        (count,) = snapshot.execute("SELECT count(*) FROM journalists").fetchone()
        (integrity,) = snapshot.execute("PRAGMA integrity_check").fetchone()
    finally:
        snapshot.close()
    assert count == 1
    assert integrity == "ok"


def test_a_backup_inside_the_data_dir_is_refused_and_nothing_is_written(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    data = instance.settings.data_dir
    before = sorted(p.name for p in data.rglob("*"))
    for inside in (data / "backup.tar", data / "store" / "backup.tar"):
        argv = ["backup", "--data-dir", str(data), "--out", str(inside), "--plaintext"]
        assert main(argv) == 1
        assert "inside the data directory" in capsys.readouterr().err
    assert sorted(p.name for p in data.rglob("*")) == before


def test_an_existing_file_is_never_overwritten(instance: Instance, tmp_path: Path) -> None:
    out = tmp_path / "old.tar"
    out.write_bytes(b"last week's backup")
    with pytest.raises(BackupError, match="already exists"):
        write_backup(instance.settings, out)
    assert out.read_bytes() == b"last week's backup"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".skrynka")) == []


class FinalizingTarFile(tarfile.TarFile):
    """A tar file that, just as the backup is about to read a pending ciphertext, gives it its
    final name the way the store's finalize does (link, then unlink): the race of a running
    server."""

    pending: Path

    def gettarinfo(self, name=None, arcname=None, fileobj=None):  # type: ignore[no-untyped-def]
        if name is not None and Path(name) == self.pending and self.pending.exists():
            os.link(self.pending, self.pending.with_name("1-brave_otter-msg.gpg"))
            self.pending.unlink()
        return super().gettarinfo(name, arcname, fileobj)


def test_a_file_renamed_while_the_backup_reads_it_is_still_backed_up(
    instance: Instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_dir = instance.settings.store_dir / "a"
    source_dir.mkdir(mode=0o700)
    pending = source_dir / ".pending-x-1-brave_otter-msg.gpg"
    pending.write_bytes(b"\x85committed ciphertext")
    FinalizingTarFile.pending = pending
    monkeypatch.setattr(tarfile, "open", FinalizingTarFile.open)
    summary = write_backup(instance.settings, tmp_path / "race.tar")
    with tarfile.TarFile.open(summary.path) as tar:
        member = tar.extractfile("store/a/1-brave_otter-msg.gpg")
        assert member is not None
        assert member.read() == b"\x85committed ciphertext"


@pytest.fixture(scope="module")
def admin_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    """The administrator's backup key pair; its secret half stays off the server."""
    return make_key_pair(tmp_path_factory.mktemp("admin") / "gnupg", "Skrynka backup admin")


def test_a_backup_is_encrypted_to_the_key_given_at_init_and_restores(
    submission_keypair: KeyPair,
    admin_key: KeyPair,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    key_files = tmp_path / "keys"
    key_files.mkdir()
    (key_files / "submission.asc").write_text(submission_keypair.public_armored)
    (key_files / "admin.asc").write_text(admin_key.public_armored)
    argv = ["init", "--data-dir", str(data), "--submission-key", str(key_files / "submission.asc")]
    assert main([*argv, "--backup-key", str(key_files / "admin.asc")]) == 0
    assert admin_key.fingerprint in capsys.readouterr().out
    assert load_settings(data_dir=data).backup_key_fingerprint == admin_key.fingerprint
    add_staff(data, "anna")

    out = tmp_path / "skrynka.tar.gpg"
    assert main(["backup", "--data-dir", str(data), "--out", str(out)]) == 0
    assert f"encrypted to {admin_key.fingerprint}" in capsys.readouterr().out
    sealed = out.read_bytes()
    # Nothing of the archive is readable without the key: not a tar, no secret in clear.
    assert not tarfile.is_tarfile(out)
    assert (data / "secrets" / "session.key").read_bytes() not in sealed
    assert b"instance.json" not in sealed

    restored = tmp_path / "restored"
    restore_argv = ["restore", "--from", str(out), "--data-dir", str(restored)]
    assert main([*restore_argv, "--gnupg-home", str(admin_key.secret_home)]) == 0
    assert "(decrypted)" in capsys.readouterr().out
    assert not (restored / ".restore.tar").exists()
    assert main(["check", "--data-dir", str(restored)]) == 0
    assert (restored / "secrets" / "session.key").read_bytes() == (
        data / "secrets" / "session.key"
    ).read_bytes()
    capsys.readouterr()
    assert main(["user", "list", "--data-dir", str(restored)]) == 0
    assert "anna" in capsys.readouterr().out


def test_without_a_backup_key_only_an_explicit_plaintext_backup_is_written(
    instance: Instance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = instance.settings.data_dir
    out = tmp_path / "backup.tar"
    assert main(["backup", "--data-dir", str(data), "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "no backup key" in error
    assert "--backup-key" in error
    assert "--plaintext" in error
    assert not out.exists()
    assert list(tmp_path.glob(".skrynka-backup-*")) == []


# Opens or names the SQLite snapshot itself; the PostgreSQL dump has its own tests below.
@pytest.mark.only_on("sqlite")
def test_a_backup_key_on_the_command_line_is_used_for_that_run(
    instance: Instance, admin_key: KeyPair, tmp_path: Path
) -> None:
    key_file = tmp_path / "admin.asc"
    key_file.write_text(admin_key.public_armored)
    out = tmp_path / "once.tar.gpg"
    argv = ["backup", "--data-dir", str(instance.settings.data_dir), "--out", str(out)]
    assert main([*argv, "--backup-key", str(key_file)]) == 0
    plain = tmp_path / "once.tar"
    with plain.open("wb") as stream:
        decrypt_to(admin_key.secret_home, out, stream)
    with tarfile.open(plain) as tar:
        assert DATABASE_MEMBER in tar.getnames()
    # The instance itself still has no backup key.
    assert load_settings(data_dir=instance.settings.data_dir).backup_key_fingerprint == ""


def test_a_secret_key_is_refused_as_backup_key_and_init_leaves_nothing(
    submission_keypair: KeyPair,
    admin_key: KeyPair,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = tmp_path / "secret.asc"
    secret.write_bytes(export_secret_key(admin_key.secret_home, admin_key.fingerprint))
    submission = tmp_path / "submission.asc"
    submission.write_text(submission_keypair.public_armored)
    data = tmp_path / "data"
    argv = ["init", "--data-dir", str(data), "--submission-key", str(submission)]
    assert main([*argv, "--backup-key", str(secret)]) == 1
    assert "SECRET" in capsys.readouterr().err
    assert not data.exists()


def test_restore_refuses_a_directory_that_is_not_empty(
    instance: Instance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b.tar"
    write_backup(instance.settings, out)
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("someone else's")
    assert main(["restore", "--from", str(out), "--data-dir", str(target)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_a_damaged_or_hostile_backup_restores_nothing(
    instance: Instance, admin_key: KeyPair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.tar"
    write_backup(instance.settings, good)
    cut = tmp_path / "cut.tar"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    hostile = tmp_path / "hostile.tar"
    with tarfile.open(hostile, "w") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    for archive, words in ((cut, "damaged"), (hostile, "outside")):
        target = tmp_path / f"into-{archive.stem}"
        assert main(["restore", "--from", str(archive), "--data-dir", str(target)]) == 1
        assert words in capsys.readouterr().err
        assert not target.exists()
    assert not (tmp_path / "escaped.txt").exists()
    # An encrypted backup without the right key: a clear refusal, nothing written.
    sealed = tmp_path / "sealed.tar.gpg"
    write_backup(
        instance.settings,
        sealed,
        BackupRecipient(admin_key.secret_home, admin_key.fingerprint),
    )
    stranger = make_key_pair(tmp_path / "stranger")
    target = tmp_path / "into-sealed"
    argv = ["restore", "--from", str(sealed), "--data-dir", str(target)]
    assert main([*argv, "--gnupg-home", str(stranger.secret_home)]) == 1
    assert "could not be decrypted" in capsys.readouterr().err
    assert not target.exists()




def move_store_to(settings: Settings, shared: Path) -> Settings:
    """An app server's set-up (docs/operations.md, section 10): store/ and tmp/ in ``shared``.

    On the ``instance`` fixture (tests/support/shared_dir sets up a SQLite instance only), so
    the shared store is backed up on both database backends."""
    shared.mkdir(mode=0o700)
    for name in ("store", "tmp"):
        shutil.move(settings.data_dir / name, shared / name)
    update_instance_settings(settings.data_dir, shared_dir=str(shared))
    return load_settings(data_dir=settings.data_dir)


def test_a_backup_of_an_app_server_holds_the_shared_store_and_restores_it(
    instance: Instance,
    restore_database: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Behind Onionbalance the ciphertexts live in the shared directory, not the data dir.
    settings = move_store_to(instance.settings, tmp_path / "shared")
    data = settings.data_dir
    stored = settings.store_dir / "a" / "1-brave_otter-msg.gpg"
    stored.parent.mkdir(mode=0o700)
    stored.write_bytes(b"\x85shared ciphertext")
    (settings.tmp_dir / "upload-in-flight.tmp").write_bytes(b"junk")
    settings.logo_path.write_bytes(b"\x89PNG shared logo")
    # A store and a logo left in the data dir from before the move are not the live ones.
    (data / "store" / "stale").mkdir(mode=0o700, parents=True)
    (data / "store" / "stale" / "old.gpg").write_bytes(b"not served")
    (data / "logo.png").write_bytes(b"\x89PNG old logo")
    out = tmp_path / "backup.tar"
    capsys.readouterr()

    assert main(["backup", "--data-dir", str(data), "--out", str(out), "--plaintext"]) == 0

    assert f"the store from {tmp_path / 'shared' / 'store'}" in capsys.readouterr().out
    with tarfile.open(out) as tar:
        member = tar.extractfile("store/a/1-brave_otter-msg.gpg")
        assert member is not None
        assert member.read() == b"\x85shared ciphertext"
        logo = tar.extractfile("logo.png")
        assert logo is not None
        assert logo.read() == b"\x89PNG shared logo"
        names = tar.getnames()
    assert not any("stale" in name or "in-flight" in name for name in names)
    assert names.count("logo.png") == 1

    # A new machine with its own (empty) shared directory, named by the restored settings.
    new_shared = tmp_path / "new-shared"
    new_shared.mkdir(mode=0o700)
    monkeypatch.setenv("SKRYNKA_SHARED_DIR", str(new_shared))
    for name, value in restore_database.items():
        monkeypatch.setenv(name, value)
    restored = tmp_path / "restored"
    assert main(["restore", "--from", str(out), "--data-dir", str(restored)]) == 0
    assert f"the store is in {new_shared / 'store'}" in capsys.readouterr().out
    assert (new_shared / "store" / "a" / "1-brave_otter-msg.gpg").read_bytes() == (
        b"\x85shared ciphertext"
    )
    assert (new_shared / "store" / "a" / "1-brave_otter-msg.gpg").stat().st_mode & 0o777 == 0o600
    assert (new_shared / "tmp").is_dir()
    assert (new_shared / "logo.png").read_bytes() == b"\x89PNG shared logo"
    assert not (restored / "store").exists()
    assert not (restored / "logo.png").exists()
    assert main(["check", "--data-dir", str(restored)]) == 0
    assert main(["audit", "verify", "--data-dir", str(restored)]) == 0

    # Restoring again onto the same shared directory would mix two stores: refused, and
    # neither the shared store nor the new data dir changes.
    again = tmp_path / "again"
    assert main(["restore", "--from", str(out), "--data-dir", str(again)]) == 1
    assert "already holds a store" in capsys.readouterr().err
    assert not again.exists()
    assert sorted(p.name for p in (new_shared / "store").rglob("*")) == [
        "1-brave_otter-msg.gpg",
        "a",
    ]
    # A shared directory that is not mounted: refused, nothing created in its place.
    monkeypatch.setenv("SKRYNKA_SHARED_DIR", str(tmp_path / "not-mounted"))
    assert main(["restore", "--from", str(out), "--data-dir", str(again)]) == 1
    assert "mount the shared file system there" in capsys.readouterr().err
    assert not again.exists()
    assert not (tmp_path / "not-mounted").exists()


def test_a_backup_inside_the_shared_store_is_refused(
    instance: Instance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = move_store_to(instance.settings, tmp_path / "shared")
    out = settings.store_dir / "backup.tar"
    argv = ["backup", "--data-dir", str(settings.data_dir), "--out", str(out), "--plaintext"]
    assert main(argv) == 1
    assert "inside the shared store" in capsys.readouterr().err
    assert sorted(p.name for p in settings.store_dir.iterdir()) == []


def test_a_backup_is_restored_only_into_its_own_database_engine(
    instance: Instance,
    database_backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "backup.tar"
    write_backup(instance.settings, out)
    # The other engine: a SQLite file for a PostgreSQL backup, and for a SQLite backup a
    # PostgreSQL URL (refused before any connection, so no server needs to listen there).
    other = (
        f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
        if database_backend == "postgresql"
        else "postgresql+psycopg://skrynka@127.0.0.1:1/skrynka"
    )
    monkeypatch.setenv("SKRYNKA_DATABASE_URL", other)
    target = tmp_path / "restored"

    assert main(["restore", "--from", str(out), "--data-dir", str(target)]) == 1

    error = capsys.readouterr().err
    assert "not converted from one database engine to another" in error
    assert "Traceback" not in error
    assert not target.exists()
    assert not (tmp_path / "elsewhere.sqlite").exists()


@pytest.mark.only_on("postgresql")
def test_a_postgresql_backup_holds_a_dump_of_the_database(
    instance: Instance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_staff(instance.settings.data_dir, "anna")
    out = tmp_path / "backups" / "skrynka.tar"
    out.parent.mkdir()
    capsys.readouterr()
    argv = ["backup", "--data-dir", str(instance.settings.data_dir), "--out", str(out)]
    assert main([*argv, "--plaintext"]) == 0
    assert "It holds a PostgreSQL dump of the database" in capsys.readouterr().out
    with tarfile.open(out) as tar:
        assert tar.getnames()[0] == POSTGRESQL_MEMBER
        dump = tar.extractfile(POSTGRESQL_MEMBER)
        assert dump is not None
        content = dump.read()
    assert content.startswith(b"PGDMP")  # pg_dump's custom format, for pg_restore
    dump_file = tmp_path / "db.pgdump"
    dump_file.write_bytes(content)
    listing = subprocess.run(
        ["pg_restore", "--data-only", "--table=journalists", "--file=-", str(dump_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "anna" in listing
    # The spooled dump went away with the temp file.
    assert sorted(p.name for p in out.parent.iterdir()) == ["skrynka.tar"]


@pytest.mark.only_on("postgresql")
def test_restore_refuses_a_database_that_is_not_empty(
    instance: Instance,
    database_settings: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "backup.tar"
    write_backup(instance.settings, out)
    # Another migrated database: tables, no rows. Not empty enough to restore into.
    busy_url = database_settings["database_url"]
    before = relation_names(busy_url)
    monkeypatch.setenv("SKRYNKA_DATABASE_URL", busy_url)
    target = tmp_path / "restored"

    assert main(["restore", "--from", str(out), "--data-dir", str(target)]) == 1

    error = capsys.readouterr().err
    assert "is not empty" in error
    assert "createdb" in error
    assert "Traceback" not in error
    assert not target.exists()
    assert relation_names(busy_url) == before
    assert usernames(busy_url) == []


@pytest.mark.only_on("postgresql")
def test_a_postgresql_backup_without_pg_dump_or_its_server_writes_nothing(
    instance: Instance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = instance.settings.data_dir
    backups = tmp_path / "backups"
    backups.mkdir()
    argv = ["backup", "--data-dir", str(data), "--out", str(backups / "b.tar"), "--plaintext"]
    without_tools = tmp_path / "bin"
    without_tools.mkdir()
    with monkeypatch.context() as patched:
        patched.setenv("PATH", str(without_tools))
        assert main(argv) == 1
    error = capsys.readouterr().err
    assert "pg_dump is not installed" in error
    assert "postgresql-client" in error
    assert list(backups.iterdir()) == []

    with monkeypatch.context() as patched:
        patched.setenv("SKRYNKA_DATABASE_URL", "postgresql+psycopg://skrynka@127.0.0.1:1/skrynka")
        assert main(argv) == 1
    error = capsys.readouterr().err
    assert "pg_dump failed" in error
    assert "127.0.0.1" in error
    assert "Traceback" not in error
    assert list(backups.iterdir()) == []


@pytest.mark.only_on("postgresql")
def test_a_damaged_dump_leaves_the_database_empty(
    instance: Instance,
    restore_database: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_staff(instance.settings.data_dir, "anna")
    good = tmp_path / "good.tar"
    write_backup(instance.settings, good)
    # The same archive with the dump's last bytes cut off: pg_restore reads the table of
    # contents at the start, creates the tables and copies the first tables' rows, then fails
    # on the missing data, and its single transaction takes all of it back.
    cut = tmp_path / "cut.tar"
    with tarfile.open(good) as source, tarfile.open(cut, "w") as target:
        for member in source:
            content = source.extractfile(member) if member.isfile() else None
            if member.name == POSTGRESQL_MEMBER:
                assert content is not None
                data = content.read()[:-300]
                member.size = len(data)
                content = io.BytesIO(data)
            target.addfile(member, content)
    url = restore_database["SKRYNKA_DATABASE_URL"]
    monkeypatch.setenv("SKRYNKA_DATABASE_URL", url)
    restored = tmp_path / "restored"

    assert main(["restore", "--from", str(cut), "--data-dir", str(restored)]) == 1

    error = capsys.readouterr().err
    assert "The database could not be restored: pg_restore failed" in error
    assert "Traceback" not in error
    assert not restored.exists()
    assert relation_names(url) == []
    # The database is as empty as before, so the good backup restores into it.
    assert main(["restore", "--from", str(good), "--data-dir", str(restored)]) == 0
    assert usernames(url) == ["anna"]


RECORDER = """#!/bin/sh
printf '%s\\n' "$0" "$@" > "{log}/$(basename "$0").argv"
printf '%s' "$PGPASSWORD" > "{log}/$(basename "$0").password"
exec {real} "$@"
"""


@pytest.mark.only_on("postgresql")
def test_the_database_password_never_reaches_a_command_line(
    instance: Instance,
    postgres_server: PostgresServer,
    restore_database: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pg_dump and pg_restore as `ps` would show them: each records its argv and its
    # PGPASSWORD, then runs the real tool (the test server trusts loopback, so the password
    # is accepted whatever it is).
    log = tmp_path / "log"
    log.mkdir()
    recorders = tmp_path / "bin"
    recorders.mkdir()
    for tool in ("pg_dump", "pg_restore"):
        real = shutil.which(tool)
        assert real is not None
        recorder = recorders / tool
        recorder.write_text(RECORDER.format(log=log, real=real))
        recorder.chmod(0o755)
    monkeypatch.setenv("PATH", f"{recorders}:{os.environ['PATH']}")
    password = "s3cret 'pass' w/ word"
    quoted = password.replace(" ", "%20").replace("'", "%27").replace("/", "%2F")

    def with_password(url: str) -> str:
        return url.replace("skrynka@", f"skrynka:{quoted}@", 1)

    data = instance.settings.data_dir
    database_url = data / "database.url"
    database_url.write_text(with_password(instance.settings.database_url) + "\n")
    database_url.chmod(0o600)
    add_staff(data, "anna")
    out = tmp_path / "backup.tar"
    assert main(["backup", "--data-dir", str(data), "--out", str(out), "--plaintext"]) == 0

    monkeypatch.setenv(
        "SKRYNKA_DATABASE_URL", with_password(restore_database["SKRYNKA_DATABASE_URL"])
    )
    restored = tmp_path / "restored"
    assert main(["restore", "--from", str(out), "--data-dir", str(restored)]) == 0
    assert "anna" in usernames(restore_database["SKRYNKA_DATABASE_URL"])

    for tool in ("pg_dump", "pg_restore"):
        argv = (log / f"{tool}.argv").read_text()
        assert "s3cret" not in argv
        assert "dbname=" in argv
        assert (log / f"{tool}.password").read_text() == password
    # The clear dump waits on the server's own disk, never beside the backup (often a
    # removable or network drive), and is gone afterwards.
    dump_argv = (log / "pg_dump.argv").read_text()
    assert f"{data.resolve()}/backup-spool/" in dump_argv
    assert list((data / "backup-spool").iterdir()) == []


def relation_names(url: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return sorted(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def usernames(url: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT username FROM journalists")).scalars())
    finally:
        engine.dispose()
