"""The ciphertext store: atomic, never overwriting, and immune to path tricks."""

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import StoredFileMissing, StoreError, UnsafeStorePath
from core.store import CiphertextStore

SOURCE = "a" * 64
OTHER_SOURCE = "b" * 64
NAME = "1-rational_pizza-msg.gpg"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CiphertextStore]:
    (tmp_path / "store").mkdir(mode=0o700)
    (tmp_path / "tmp").mkdir(mode=0o700)
    with CiphertextStore(tmp_path / "store", tmp_path / "tmp") as opened:
        yield opened


def write_temp(store: CiphertextStore, data: bytes) -> Path:
    temp = store.temp_path()
    temp.write_bytes(data)
    return temp


def test_temp_files_are_private_and_unique(store: CiphertextStore) -> None:
    first, second = store.temp_path(), store.temp_path()
    assert first != second
    assert first.is_relative_to(store.tmp_dir)
    assert (first.stat().st_mode & 0o777) == 0o600


def test_commit_moves_the_whole_file_into_place(store: CiphertextStore) -> None:
    temp = write_temp(store, b"ciphertext")
    final = store.commit(temp, SOURCE, NAME)
    assert final == store.store_dir / SOURCE / NAME
    assert final.read_bytes() == b"ciphertext"
    assert not temp.exists()
    assert store.path_of(SOURCE, NAME) == final
    assert store.list_files(SOURCE) == [NAME]
    assert (final.parent.stat().st_mode & 0o777) == 0o700


def test_commit_never_overwrites_a_stored_file(store: CiphertextStore) -> None:
    store.commit(write_temp(store, b"first"), SOURCE, NAME)
    second = write_temp(store, b"second")
    with pytest.raises(StoreError, match="already exists"):
        store.commit(second, SOURCE, NAME)
    assert store.path_of(SOURCE, NAME).read_bytes() == b"first"
    assert second.exists()


def test_commit_refuses_a_file_from_outside_the_temp_dir(
    store: CiphertextStore, tmp_path: Path
) -> None:
    outsider = tmp_path / "elsewhere.gpg"
    outsider.write_bytes(b"x")
    with pytest.raises(UnsafeStorePath):
        store.commit(outsider, SOURCE, NAME)
    assert store.list_files(SOURCE) == []


@pytest.mark.parametrize(
    "filename",
    [
        "../1-rational_pizza-msg.gpg",
        "1-rational_pizza-msg.gpg/..",
        "/etc/passwd",
        "/1-rational_pizza-msg.gpg",
        "1-rational_pizza\x00-msg.gpg",
        "1-" + "a" * 300 + "-msg.gpg",
        "1-rational_pizza\u202egpg.gsm",
        "1-rational_pizza-msg.gpg\u202e",
        "1-rational pizza-msg.gpg",
        "0-rational_pizza-msg.gpg",
        "1-rational_pizza-msg.exe",
        "1-rational_pizza-msg.gpg\n",
        "",
    ],
)
def test_path_tricks_in_file_names_are_refused(store: CiphertextStore, filename: str) -> None:
    with pytest.raises(UnsafeStorePath):
        store.commit(write_temp(store, b"x"), SOURCE, filename)
    with pytest.raises(UnsafeStorePath):
        store.path_of(SOURCE, filename)
    with pytest.raises(UnsafeStorePath):
        store.delete(SOURCE, filename)
    assert not (store.store_dir / SOURCE).exists()


@pytest.mark.parametrize("filesystem_id", ["..", "../" + "a" * 61, "A" * 64, "a" * 63, "/tmp"])
def test_malformed_source_ids_are_refused(store: CiphertextStore, filesystem_id: str) -> None:
    with pytest.raises(UnsafeStorePath):
        store.commit(write_temp(store, b"x"), filesystem_id, NAME)
    with pytest.raises(UnsafeStorePath):
        store.delete_source(filesystem_id)


def test_a_source_dir_symlinked_outside_the_store_is_refused(
    store: CiphertextStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / NAME).write_bytes(b"not ours")
    (store.store_dir / SOURCE).symlink_to(outside)
    with pytest.raises(UnsafeStorePath, match="tampered"):
        store.path_of(SOURCE, NAME)
    with pytest.raises(UnsafeStorePath):
        store.commit(write_temp(store, b"x"), SOURCE, "2-rational_pizza-msg.gpg")
    with pytest.raises(UnsafeStorePath):
        store.delete_source(SOURCE)
    assert (outside / NAME).read_bytes() == b"not ours"
    assert sorted(p.name for p in outside.iterdir()) == [NAME]


def test_a_stored_file_symlinked_outside_the_store_is_refused(
    store: CiphertextStore, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.key"
    secret.write_bytes(b"do not serve")
    (store.store_dir / SOURCE).mkdir()
    (store.store_dir / SOURCE / NAME).symlink_to(secret)
    with pytest.raises(UnsafeStorePath):
        store.path_of(SOURCE, NAME)
    with pytest.raises(UnsafeStorePath):
        store.delete(SOURCE, NAME)
    assert secret.exists()


def test_a_missing_file_is_reported_as_missing(store: CiphertextStore) -> None:
    with pytest.raises(StoredFileMissing, match="restore"):
        store.path_of(SOURCE, NAME)


def test_delete_removes_one_file_and_is_idempotent(store: CiphertextStore) -> None:
    store.commit(write_temp(store, b"1"), SOURCE, NAME)
    store.commit(write_temp(store, b"2"), SOURCE, "2-rational_pizza-doc.gz.gpg")
    assert store.delete(SOURCE, NAME) is True
    assert store.delete(SOURCE, NAME) is False
    assert store.list_files(SOURCE) == ["2-rational_pizza-doc.gz.gpg"]


def test_delete_source_removes_only_that_source(store: CiphertextStore) -> None:
    store.commit(write_temp(store, b"1"), SOURCE, NAME)
    store.commit(write_temp(store, b"2"), SOURCE, "1-rational_pizza-receipt.gpg")
    store.commit(write_temp(store, b"3"), OTHER_SOURCE, "1-brave_otter-msg.gpg")
    assert store.delete_source(SOURCE) == 2
    assert not (store.store_dir / SOURCE).exists()
    assert store.list_files(OTHER_SOURCE) == ["1-brave_otter-msg.gpg"]
    assert store.delete_source(SOURCE) == 0


# A child process that starts an upload into the store's temp dir, then waits to be killed.
UPLOADER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from core.store import CiphertextStore
    store = CiphertextStore(Path(sys.argv[1]), Path(sys.argv[2]))
    temp = store.temp_path()
    temp.write_bytes(b"half an upload")
    print(temp, flush=True)
    time.sleep(600)
    """
)


def start_uploader(store: CiphertextStore) -> tuple[subprocess.Popen[str], Path]:
    child = subprocess.Popen(
        [sys.executable, "-c", UPLOADER, str(store.store_dir), str(store.tmp_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    return child, Path(child.stdout.readline().strip())


def test_clean_temp_removes_uploads_of_a_killed_process(store: CiphertextStore) -> None:
    child, temp = start_uploader(store)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert temp.exists()
    assert store.clean_temp() == 1
    assert not temp.exists()
    assert list(store.tmp_dir.iterdir()) == []


def test_clean_temp_keeps_uploads_a_living_process_is_receiving(store: CiphertextStore) -> None:
    child, temp = start_uploader(store)
    try:
        assert store.clean_temp() == 0
        assert temp.read_bytes() == b"half an upload"
    finally:
        child.kill()
        child.wait()


def test_clean_temp_keeps_this_process_uploads_and_removes_stray_files(
    store: CiphertextStore,
) -> None:
    own = write_temp(store, b"mine")
    stray = store.tmp_dir / "left-over"
    stray.write_bytes(b"junk")
    assert store.clean_temp() == 1
    assert own.exists()
    assert not stray.exists()
