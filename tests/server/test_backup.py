"""Backups: a consistent snapshot of a running instance that restores into a working one."""

import os
import sqlite3
import tarfile
from pathlib import Path

import pytest

from core.instance import Instance
from server.backup import DATABASE_MEMBER, write_backup
from server.cli import main
from server.errors import BackupError


@pytest.fixture(autouse=True)
def no_skrynka_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SKRYNKA_"):
            monkeypatch.delenv(name)


def add_staff(data_dir: Path, username: str) -> None:
    assert main(["user", "add", username, "--data-dir", str(data_dir)]) == 0


def restore(archive: Path, target: Path) -> None:
    target.mkdir(mode=0o700)
    with tarfile.open(archive) as tar:
        tar.extractall(target)  # noqa: S202 (our own archive, checked below)


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
    assert main(["backup", "--data-dir", str(data), "--out", str(out)]) == 0
    assert "encrypt it" in capsys.readouterr().out
    assert out.stat().st_mode & 0o777 == 0o600
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    assert DATABASE_MEMBER in names
    assert "tmp" in names
    assert not any(n.startswith("tmp/") for n in names)  # in-flight uploads are junk
    assert not any(n.startswith("db.sqlite-") for n in names)

    restored = tmp_path / "restored"
    restore(out, restored)
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
    restore(summary.path, restored)
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
        assert main(["backup", "--data-dir", str(data), "--out", str(inside)]) == 1
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
