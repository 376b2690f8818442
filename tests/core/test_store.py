"""The ciphertext store: atomic, never overwriting, and immune to path tricks."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import CiphertextStoreError, StoredFileMissing, UnsafeStorePath
from core.store import CiphertextStore, ReconcileResult

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


def store_final(store: CiphertextStore, data: bytes, filesystem_id: str, filename: str) -> Path:
    return store.finalize(store.commit(write_temp(store, data), filesystem_id, filename))


def test_commit_links_the_whole_file_under_a_pending_name_that_nothing_reads(
    store: CiphertextStore,
) -> None:
    temp = write_temp(store, b"ciphertext")
    pending = store.commit(temp, SOURCE, NAME)
    assert not temp.exists()
    assert pending.path.parent == store.store_dir / SOURCE
    assert pending.path.name.startswith(".pending-")
    assert pending.path.name.endswith(NAME)
    assert pending.path.read_bytes() == b"ciphertext"
    assert store.list_files(SOURCE) == []
    with pytest.raises(StoredFileMissing):
        store.path_of(SOURCE, NAME)
    with pytest.raises(UnsafeStorePath):
        store.path_of(SOURCE, pending.path.name)


def test_finalize_moves_the_whole_file_into_place(store: CiphertextStore) -> None:
    temp = write_temp(store, b"ciphertext")
    final = store.finalize(store.commit(temp, SOURCE, NAME))
    assert final == store.store_dir / SOURCE / NAME
    assert final.read_bytes() == b"ciphertext"
    assert not temp.exists()
    assert store.path_of(SOURCE, NAME) == final
    assert store.list_files(SOURCE) == [NAME]
    assert (final.parent.stat().st_mode & 0o777) == 0o700


def test_commit_never_overwrites_a_stored_file(store: CiphertextStore) -> None:
    store_final(store, b"first", SOURCE, NAME)
    second = write_temp(store, b"second")
    with pytest.raises(CiphertextStoreError, match="already exists"):
        store.commit(second, SOURCE, NAME)
    assert store.path_of(SOURCE, NAME).read_bytes() == b"first"
    assert second.exists()


def test_finalize_never_overwrites_a_file_stored_meanwhile(store: CiphertextStore) -> None:
    first = store.commit(write_temp(store, b"first"), SOURCE, NAME)
    second = store.commit(write_temp(store, b"second"), SOURCE, NAME)
    store.finalize(first)
    with pytest.raises(CiphertextStoreError, match="not overwritten"):
        store.finalize(second)
    assert store.path_of(SOURCE, NAME).read_bytes() == b"first"
    assert second.path.read_bytes() == b"second"


def test_finalize_twice_is_harmless_and_discard_removes_a_pending_file(
    store: CiphertextStore,
) -> None:
    pending = store.commit(write_temp(store, b"x"), SOURCE, NAME)
    assert store.finalize(pending) == store.finalize(pending)
    other = store.commit(write_temp(store, b"y"), SOURCE, "2-rational_pizza-msg.gpg")
    assert store.discard(other) is True
    assert store.discard(other) is False
    assert sorted(p.name for p in (store.store_dir / SOURCE).iterdir()) == [NAME]


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
        store_final(store, b"x", filesystem_id, NAME)
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
        store_final(store, b"x", SOURCE, "2-rational_pizza-msg.gpg")
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
    store_final(store, b"1", SOURCE, NAME)
    store_final(store, b"2", SOURCE, "2-rational_pizza-doc.gz.gpg")
    assert store.delete(SOURCE, NAME) is True
    assert store.delete(SOURCE, NAME) is False
    assert store.list_files(SOURCE) == ["2-rational_pizza-doc.gz.gpg"]


def test_delete_source_removes_only_that_source(store: CiphertextStore) -> None:
    store_final(store, b"1", SOURCE, NAME)
    store_final(store, b"2", SOURCE, "1-rational_pizza-receipt.gpg")
    store_final(store, b"3", OTHER_SOURCE, "1-brave_otter-msg.gpg")
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


# --- pending files and the start-up reconcile pass ---

# A child process that links one file under a pending name, says where, and waits to be killed:
# a process that died after its link and before (or after) its database commit.
LINKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from core.store import CiphertextStore
    store = CiphertextStore(Path(sys.argv[1]), Path(sys.argv[2]))
    temp = store.temp_path()
    temp.write_bytes(sys.argv[5].encode())
    pending = store.commit(temp, sys.argv[3], sys.argv[4])
    print(pending.path, flush=True)
    time.sleep(600)
    """
)


def start_linker(
    store: CiphertextStore, filesystem_id: str, filename: str, data: str
) -> tuple[subprocess.Popen[str], Path]:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LINKER,
            str(store.store_dir),
            str(store.tmp_dir),
            filesystem_id,
            filename,
            data,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    return child, Path(child.stdout.readline().strip())


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kill(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.wait()


def test_a_file_of_a_process_killed_before_its_commit_is_removed_at_start(
    store: CiphertextStore,
) -> None:
    child, pending = start_linker(store, SOURCE, NAME, "never committed")
    kill(child)
    assert pending.exists()
    assert store.reconcile(lambda fsid, name: None) == ReconcileResult(removed=1)
    assert not pending.exists()
    assert list((store.store_dir / SOURCE).iterdir()) == []


def test_a_file_of_a_process_killed_after_its_commit_is_finalized_at_start(
    store: CiphertextStore,
) -> None:
    child, pending = start_linker(store, SOURCE, NAME, "committed")
    kill(child)
    committed = {NAME: sha256_hex(b"committed")}
    assert store.reconcile(lambda fsid, name: committed.get(name)) == ReconcileResult(finalized=1)
    assert store.path_of(SOURCE, NAME).read_bytes() == b"committed"
    assert not pending.exists()
    assert store.list_files(SOURCE) == [NAME]


def test_a_pending_file_whose_number_a_later_row_reused_is_removed(
    store: CiphertextStore,
) -> None:
    # The dead process never committed; the next submission took the same number and committed
    # other ciphertext under the same name. The name matches a row, the content does not.
    child, pending = start_linker(store, SOURCE, NAME, "orphan")
    kill(child)
    store_final(store, b"the real one", SOURCE, NAME)
    committed = {NAME: sha256_hex(b"the real one")}
    assert store.reconcile(lambda fsid, name: committed.get(name)) == ReconcileResult(removed=1)
    assert store.path_of(SOURCE, NAME).read_bytes() == b"the real one"
    assert not pending.exists()


def test_a_crash_in_the_middle_of_finalize_is_completed_at_start(
    store: CiphertextStore,
) -> None:
    child, pending = start_linker(store, SOURCE, NAME, "half finalized")
    kill(child)
    # finalize() is link(pending, final), then unlink(pending): a crash between the two leaves
    # both names on one file.
    os.link(pending, store.store_dir / SOURCE / NAME)
    committed = {NAME: sha256_hex(b"half finalized")}
    assert store.reconcile(lambda fsid, name: committed.get(name)) == ReconcileResult(finalized=1)
    assert store.list_files(SOURCE) == [NAME]
    assert sorted(p.name for p in (store.store_dir / SOURCE).iterdir()) == [NAME]


def test_reconcile_leaves_the_pending_files_of_living_processes_alone(
    store: CiphertextStore,
) -> None:
    child, pending = start_linker(store, SOURCE, NAME, "still committing")
    try:
        own = store.commit(write_temp(store, b"mine"), SOURCE, "2-rational_pizza-msg.gpg")
        assert store.reconcile(lambda fsid, name: None) == ReconcileResult()
        assert pending.exists()
        assert own.path.exists()
    finally:
        kill(child)
    assert store.reconcile(lambda fsid, name: None) == ReconcileResult(removed=1)
    assert own.path.exists()


def test_reconcile_never_overwrites_a_different_file_under_the_final_name(
    store: CiphertextStore,
) -> None:
    child, pending = start_linker(store, SOURCE, NAME, "the committed one")
    kill(child)
    (store.store_dir / SOURCE / NAME).write_bytes(b"something else")
    committed = {NAME: sha256_hex(b"the committed one")}
    assert store.reconcile(lambda fsid, name: committed.get(name)) == ReconcileResult(kept=1)
    assert (store.store_dir / SOURCE / NAME).read_bytes() == b"something else"
    assert pending.read_bytes() == b"the committed one"


def store_at_once(store: CiphertextStore, source: str, count: int) -> list[Exception]:
    """Store ``count`` files of one new source from ``count`` threads released together."""
    temps = [write_temp(store, bytes([n])) for n in range(count)]
    start = threading.Barrier(count)
    errors: list[Exception] = []

    def store_one(n: int) -> None:
        start.wait()
        try:
            store.finalize(store.commit(temps[n], source, f"{n + 1}-rational_pizza-msg.gpg"))
        except Exception as exc:  # noqa: BLE001 (collected: a thread's exception is lost)
            errors.append(exc)

    threads = [threading.Thread(target=store_one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_first_files_of_a_new_source_at_once_both_store(store: CiphertextStore) -> None:
    # Switching threads every microsecond makes the check-then-create race of a naive mkdir
    # show up within a few hundred new sources (measured: 3-22 failures per 200 here).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for round_index in range(200):
            source = f"{round_index:064x}"
            assert store_at_once(store, source, 8) == []
            assert len(store.list_files(source)) == 8
    finally:
        sys.setswitchinterval(interval)
