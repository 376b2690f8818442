"""The evidence store: its layout, its settings file, the write lock and its staging space."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.errors import EvidenceStoreError, StoreExists, StoreLocked, StoreMissing
from workstation.store import (
    GNUPG_IN_STORE,
    GNUPG_OF_USER,
    EvidenceStore,
    StoreConfig,
    open_store,
    remove_abandoned_staging,
    remove_tree,
    utc_now,
    write_bytes_atomic,
    write_json_atomic,
)

CONFIG = StoreConfig(
    gnupg_mode=GNUPG_IN_STORE,
    server_key_fingerprint="a" * 64,
    workstation_key_fingerprint="b" * 64,
    created_at="2026-11-27T05:11:16.055418Z",
)


def new_store(root: Path, config: StoreConfig = CONFIG) -> EvidenceStore:
    store = EvidenceStore(root)
    store.create_layout()
    store.write_config(config)
    return store


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_has_private_directories_and_an_empty_custody_log(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence")
    for directory in (store.root, store.originals_dir, store.consent_dir, store.copies_dir,
                      store.bundles_dir, store.tmp_dir, store.store_gnupg_dir):
        assert directory.is_dir()
        assert mode_of(directory) == 0o700
    assert store.custody_log_path.read_bytes() == b""
    assert mode_of(store.config_path) == 0o600


def test_a_directory_that_holds_anything_is_not_made_a_store(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(StoreExists, match="choose an empty or new directory"):
        EvidenceStore(tmp_path).create_layout()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_the_settings_read_back_as_written(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence")
    assert open_store(store.root).read_config() == CONFIG
    written = json.loads(store.config_path.read_text())
    assert (written["format"], written["version"]) == ("skrynka-workstation-store", 1)


def test_a_missing_store_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(StoreMissing, match="skrynka-workstation init --store DIR"):
        open_store(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"{not json", "cannot be read as JSON"),
        (b"[]", "is not a version 1 evidence store"),
        (b'{"format": "skrynka-workstation-store", "version": 2}', "is not a version 1"),
        (b'{"format": "skrynka-workstation-store", "version": 1}', "lacks gnupg_mode"),
        (b'{"format": "skrynka-workstation-store", "version": 1, "gnupg_mode": "store",'
         b' "server_key_fingerprint": 7, "workstation_key_fingerprint": "b",'
         b' "created_at": "x"}', "lacks server_key_fingerprint"),
    ],
)
def test_a_damaged_settings_file_is_a_clear_error(
    tmp_path: Path, content: bytes, complaint: str
) -> None:
    store = new_store(tmp_path / "evidence")
    store.config_path.write_bytes(content)
    with pytest.raises(EvidenceStoreError, match=complaint):
        store.read_config()


def test_the_submission_key_lives_in_the_store_or_in_the_users_gnupg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_store = new_store(tmp_path / "in-store")
    assert in_store.gnupg_home() == in_store.store_gnupg_dir
    smartcard = new_store(tmp_path / "smartcard", StoreConfig(
        GNUPG_OF_USER, CONFIG.server_key_fingerprint, CONFIG.workstation_key_fingerprint,
        CONFIG.created_at))
    monkeypatch.setenv("GNUPGHOME", str(tmp_path / "users-gnupg"))
    assert smartcard.gnupg_home() == tmp_path / "users-gnupg"
    monkeypatch.delenv("GNUPGHOME")
    assert smartcard.gnupg_home() == Path.home() / ".gnupg"


def test_only_one_command_at_a_time_changes_the_store(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence")
    with store.locked(), pytest.raises(StoreLocked, match="wait for it and retry"), \
            store.locked():
        pass
    with store.locked():  # released again
        pass


def test_another_process_holding_the_lock_is_refused(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time\n"
         f"h = open({str(store.root / '.lock')!r}, 'a')\n"
         "fcntl.flock(h.fileno(), fcntl.LOCK_EX)\n"
         "print('held', flush=True)\n"
         "sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLocked), store.locked():
            pass
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    with store.locked():
        pass


def test_staging_is_removed_when_the_command_ends_even_on_failure(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence")
    seen: list[Path] = []

    def fail_inside_staging() -> None:
        with store.staging_dir("import") as staging:
            seen.append(staging)
            (staging / "originals").mkdir()
            (staging / "originals" / "content").write_bytes(b"x")
            os.chmod(staging / "originals" / "content", 0o400)
            os.chmod(staging / "originals", 0o500)  # read-only, as originals are
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        fail_inside_staging()
    assert seen[0].parent == store.tmp_dir
    assert list(store.tmp_dir.iterdir()) == []


def test_staging_left_by_a_dead_command_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence")
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead_pid = int(finished.stdout)
    (store.tmp_dir / f"import-{dead_pid}-0a0b0c0d").mkdir()
    (store.tmp_dir / f"export-{os.getpid()}-01020304").mkdir()
    (store.tmp_dir / "not-ours").mkdir()
    removed = remove_abandoned_staging(store)
    assert removed == [f"import-{dead_pid}-0a0b0c0d"]
    assert sorted(p.name for p in store.tmp_dir.iterdir()) == [
        f"export-{os.getpid()}-01020304", "not-ours"]


def test_atomic_writes_leave_the_new_file_with_its_mode_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    write_json_atomic(target, {"b": "я", "a": 1})
    write_json_atomic(target, {"b": "новае", "a": 2}, mode=0o444)
    assert target.read_text(encoding="utf-8") == '{\n  "a": 2,\n  "b": "новае"\n}\n'
    assert mode_of(target) == 0o444
    write_bytes_atomic(tmp_path / "raw", b"\x00\x01")
    assert (tmp_path / "raw").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "record.json"]


def test_remove_tree_takes_read_only_trees_and_ignores_missing_ones(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "inner").mkdir(parents=True)
    (tree / "inner" / "file").write_text("x")
    os.chmod(tree / "inner", 0o500)
    os.chmod(tree, 0o500)
    remove_tree(tree)
    assert not tree.exists()
    remove_tree(tree)


def test_times_are_utc_with_microseconds_like_the_servers() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", utc_now())
