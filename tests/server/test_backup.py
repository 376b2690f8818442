"""Backups: a consistent snapshot of a running instance that restores into a working one."""

import io
import os
import sqlite3
import tarfile
from pathlib import Path

import pytest

from core.instance import Instance
from core.settings import load_settings
from crypto.decryption import decrypt_to
from crypto.submission_key import export_secret_key
from server.backup import DATABASE_MEMBER, write_backup
from server.backup_key import BackupRecipient
from server.cli import main
from server.errors import BackupError
from tests.support.keys import KeyPair, make_key_pair


@pytest.fixture(autouse=True)
def no_skrynka_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SKRYNKA_"):
            monkeypatch.delenv(name)


def add_staff(data_dir: Path, username: str) -> None:
    assert main(["user", "add", username, "--data-dir", str(data_dir)]) == 0


# The SQLite snapshot in the archive; a PostgreSQL database is dumped with pg_dump beside it.
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


# The SQLite snapshot in the archive; a PostgreSQL database is dumped with pg_dump beside it.
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


# The SQLite snapshot in the archive; a PostgreSQL database is dumped with pg_dump beside it.
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


def test_a_backup_of_an_app_server_says_the_shared_store_is_not_in_it(
    instance: Instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Behind Onionbalance the ciphertexts live in the shared directory; an operator must not
    # believe this file holds them.
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("SKRYNKA_SHARED_DIR", str(shared))
    data = instance.settings.data_dir
    out = tmp_path / "backup.tar"

    assert main(["backup", "--data-dir", str(data), "--out", str(out), "--plaintext"]) == 0

    printed = capsys.readouterr().out
    assert f"The store is in the shared directory {shared / 'store'} and is NOT in this file" in (
        printed
    )
