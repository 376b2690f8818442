"""The submission pipeline: only ciphertext is stored, all or nothing, with receipts."""

import dataclasses
import hashlib
import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.errors import (
    EmptyFile,
    EmptySubmission,
    MessageContainsCodename,
    MessageNotText,
    MessageTooShort,
    StoredFileMissing,
    UploadsDisabled,
    UploadTooLarge,
)
from core.instance import Instance, open_instance
from core.models import InstanceConfig, Source, Submission
from core.sources import SourceLogin, create_source
from core.store import ReconcileResult
from core.submissions import (
    FILE_NAME_MAX_CHARS,
    clean_file_name,
    open_submission,
    store_submission,
)
from crypto.codename import generate_codename
from tests.support.ciphertext import gpg_decrypt, gunzip_with_name, read_receipt
from tests.support.keys import KeyPair


@pytest.fixture
def login(instance: Instance) -> SourceLogin:
    return create_source(instance, generate_codename())


def source_row(instance: Instance, login: SourceLogin) -> Source:
    with instance.sessions() as db:
        source = db.scalars(select(Source).where(Source.id == login.id)).one()
        db.expunge(source)
        return source


def submissions(instance: Instance) -> list[Submission]:
    with instance.sessions() as db:
        rows = list(db.scalars(select(Submission).order_by(Submission.id)))
        db.expunge_all()
        return rows


def leftover_temp_files(instance: Instance) -> list[Path]:
    return [p for p in instance.settings.tmp_dir.rglob("*") if p.is_file() and p.name != ".lock"]


def stored_files(instance: Instance) -> list[Path]:
    return [p for p in instance.settings.store_dir.rglob("*") if p.is_file()]


def set_config(instance: Instance, **values: object) -> None:
    with instance.sessions() as db:
        db.execute(update(InstanceConfig).values(**values))
        db.commit()


def test_message_and_file_round_trip_through_gpg(
    instance: Instance, login: SourceLogin, submission_keypair: KeyPair
) -> None:
    content = os.urandom(300_000)
    stored = store_submission(
        instance,
        login.source_id,
        "Привітанне, I saw it.".encode(),
        [("photo.jpg", io.BytesIO(content))],
    )
    source = source_row(instance, login)
    designation = source.designation_file
    assert [s.filename for s in stored] == [
        f"1-{designation}-msg.gpg",
        f"2-{designation}-doc.gz.gpg",
    ]
    assert source.interaction_count == 2
    assert not source.pending
    store = instance.settings.store_dir / login.source_id
    message = gpg_decrypt(submission_keypair.secret_home, store / stored[0].filename)
    assert message == "Привітанне, I saw it.".encode()
    name, document = gunzip_with_name(
        gpg_decrypt(submission_keypair.secret_home, store / stored[1].filename)
    )
    assert name == "photo.jpg"
    assert document == content

    receipt = read_receipt(submission_keypair.secret_home, store / stored[1].receipt_filename)
    assert receipt["kind"] == "file"
    assert receipt["original_name"] == "photo.jpg"
    assert receipt["size"] == len(content)
    assert receipt["sha256"] == hashlib.sha256(content).hexdigest()
    assert receipt["sha512"] == hashlib.sha512(content).hexdigest()
    assert receipt["submission_uuid"] == stored[1].uuid
    message_receipt = read_receipt(
        submission_keypair.secret_home, store / stored[0].receipt_filename
    )
    assert message_receipt["kind"] == "message"
    assert message_receipt["sha256"] == hashlib.sha256(message).hexdigest()

    rows = submissions(instance)
    assert [(r.kind, r.filename, r.uuid) for r in rows] == [
        ("message", stored[0].filename, stored[0].uuid),
        ("file", stored[1].filename, stored[1].uuid),
    ]
    for row in rows:
        ciphertext = (store / row.filename).read_bytes()
        assert row.size == len(ciphertext)
        assert row.sha256 == hashlib.sha256(ciphertext).hexdigest()
        receipt_bytes = (store / str(row.receipt_filename)).read_bytes()
        assert row.receipt_sha256 == hashlib.sha256(receipt_bytes).hexdigest()
    assert leftover_temp_files(instance) == []


def test_numbers_continue_across_submissions(instance: Instance, login: SourceLogin) -> None:
    store_submission(instance, login.source_id, b"first")
    stored = store_submission(instance, login.source_id, b"second")
    assert stored[0].filename.startswith("2-")


def test_numbers_left_by_a_crash_are_skipped_not_overwritten(
    instance: Instance, login: SourceLogin
) -> None:
    # A process that died after linking its file but before committing its row.
    designation = source_row(instance, login).designation_file
    orphan_dir = instance.settings.store_dir / login.source_id
    orphan_dir.mkdir(mode=0o700)
    orphan = orphan_dir / f"1-{designation}-msg.gpg"
    orphan.write_bytes(b"orphan")
    stored = store_submission(instance, login.source_id, b"hello")
    assert stored[0].filename == f"2-{designation}-msg.gpg"
    assert orphan.read_bytes() == b"orphan"


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report.docx", "report.docx"),
        ("evil\x00.txt", "evil.txt"),
        ("photo\u202egpj.exe", "photogpj.exe"),
        ("\u2066invoice\u2069.pdf", "invoice.pdf"),
        ("..", "document"),
        ("", "document"),
        (".bashrc", "bashrc"),
        ("  spaced   name .jpg ", "spaced name .jpg"),
        ("фота з мітынгу.jpg", "фота з мітынгу.jpg"),
    ],
)
def test_file_names_are_cleaned(original: str, expected: str) -> None:
    assert clean_file_name(original) == expected


def test_long_file_names_are_shortened_keeping_the_extension() -> None:
    cleaned = clean_file_name("a" * 300 + ".jpeg")
    assert len(cleaned) == FILE_NAME_MAX_CHARS
    assert cleaned.endswith(".jpeg")


def test_tricky_names_are_cleaned_inside_the_ciphertext_too(
    instance: Instance, login: SourceLogin, submission_keypair: KeyPair
) -> None:
    stored = store_submission(
        instance, login.source_id, None, [("../../x\u202egpj.exe\x00", io.BytesIO(b"data"))]
    )
    store = instance.settings.store_dir / login.source_id
    name, _ = gunzip_with_name(
        gpg_decrypt(submission_keypair.secret_home, store / stored[0].filename)
    )
    receipt = read_receipt(submission_keypair.secret_home, store / stored[0].receipt_filename)
    assert name == "xgpj.exe"
    assert receipt["original_name"] == "xgpj.exe"


def assert_nothing_stored(instance: Instance, login: SourceLogin) -> None:
    assert submissions(instance) == []
    assert stored_files(instance) == []
    assert leftover_temp_files(instance) == []
    source = source_row(instance, login)
    assert source.interaction_count == 0
    assert source.pending


def test_an_empty_submission_is_refused(instance: Instance, login: SourceLogin) -> None:
    with pytest.raises(EmptySubmission):
        store_submission(instance, login.source_id, b"   \n ")
    assert_nothing_stored(instance, login)


def test_an_empty_file_is_refused(instance: Instance, login: SourceLogin) -> None:
    with pytest.raises(EmptyFile):
        store_submission(instance, login.source_id, b"hello", [("a.txt", io.BytesIO(b""))])
    assert_nothing_stored(instance, login)


def test_a_message_that_is_not_utf8_is_refused(instance: Instance, login: SourceLogin) -> None:
    with pytest.raises(MessageNotText):
        store_submission(instance, login.source_id, b"caf\xe9 \xff\xfe")
    assert_nothing_stored(instance, login)


def test_a_short_first_message_is_refused(instance: Instance, login: SourceLogin) -> None:
    set_config(instance, initial_message_min_len=20)
    with pytest.raises(MessageTooShort) as refused:
        store_submission(instance, login.source_id, b"too short", [("a.txt", io.BytesIO(b"x"))])
    assert refused.value.minimum == 20
    assert_nothing_stored(instance, login)
    store_submission(instance, login.source_id, b"a first message that is long enough")
    # Only the first message has a minimum.
    store_submission(instance, login.source_id, b"ok")


def test_a_message_with_the_codename_is_refused(instance: Instance) -> None:
    codename = generate_codename()
    login = create_source(instance, codename)
    with pytest.raises(MessageContainsCodename):
        store_submission(instance, login.source_id, f"my codename is {codename}".encode())
    assert_nothing_stored(instance, login)


def test_the_codename_check_can_be_switched_off(instance: Instance) -> None:
    codename = generate_codename()
    login = create_source(instance, codename)
    set_config(instance, reject_message_with_codename=False)
    assert store_submission(instance, login.source_id, codename.encode())


def test_files_are_refused_when_uploads_are_off(instance: Instance, login: SourceLogin) -> None:
    set_config(instance, allow_document_uploads=False)
    with pytest.raises(UploadsDisabled):
        store_submission(instance, login.source_id, b"hi", [("a.txt", io.BytesIO(b"x"))])
    assert_nothing_stored(instance, login)


def test_uploads_over_the_limit_are_refused_and_cleaned_up(
    instance: Instance, login: SourceLogin
) -> None:
    small = dataclasses.replace(
        instance, settings=dataclasses.replace(instance.settings, max_upload_bytes=1000)
    )
    with pytest.raises(UploadTooLarge):
        store_submission(small, login.source_id, b"hi", [("a.bin", io.BytesIO(b"x" * 1001))])
    assert_nothing_stored(instance, login)


def test_the_admins_lower_limit_wins(instance: Instance, login: SourceLogin) -> None:
    set_config(instance, max_upload_bytes=10)
    with pytest.raises(UploadTooLarge):
        store_submission(instance, login.source_id, None, [("a.bin", io.BytesIO(b"x" * 11))])
    assert_nothing_stored(instance, login)


def test_a_draft_left_without_commit_leaves_nothing(instance: Instance, login: SourceLogin) -> None:
    with open_submission(instance, login.source_id) as draft:
        upload = draft.open_file("big.bin")
        upload.write(os.urandom(100_000))
        # The request dies here: the draft is left without finish() or commit().
    assert_nothing_stored(instance, login)


def test_a_failure_while_publishing_unlinks_what_was_linked(
    instance: Instance, login: SourceLogin
) -> None:
    with open_submission(instance, login.source_id) as draft:
        draft.set_message(b"hello")
        # The source is deleted by staff while it submits: the transaction finds no row.
        with instance.sessions() as db:
            db.execute(update(Source).values(filesystem_id="f" * 64))
            db.commit()
        with pytest.raises(Exception, match="deleted"):
            draft.commit()
    assert submissions(instance) == []
    assert stored_files(instance) == []
    assert leftover_temp_files(instance) == []


# --- crashes: a real process killed between the steps of the pipeline (invariant 6) ---

# Drives the real pipeline of SubmissionDraft.commit step by step and stops (sleeps until it is
# killed) after the step named on its command line.
PIPELINE_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from core.instance import open_instance
    from core.settings import load_settings
    from core.store import PendingFile
    from core.submissions import open_submission
    from crypto.types import SourceId

    data_dir, source_id, stop_after = sys.argv[1], sys.argv[2], sys.argv[3]

    def step(name):
        print(name, flush=True)
        if name == stop_after:
            time.sleep(600)

    instance = open_instance(load_settings(env={}, data_dir=Path(data_dir)))
    draft = open_submission(instance, SourceId(source_id))
    draft.set_message("Протокол затрымання".encode())
    draft._encrypt_message(draft._message)
    draft._seal_receipts()
    step("encrypted")
    with instance.sessions() as db:
        pending: list[PendingFile] = []
        draft._stage(db, pending)
        step("linked")
        db.commit()
    step("committed")
    instance.store.finalize(pending[0])
    step("half-finalized")
    """
)


def kill_pipeline_after(instance: Instance, login: SourceLogin, stop_after: str) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            PIPELINE_CHILD,
            str(instance.settings.data_dir),
            login.source_id,
            stop_after,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    try:
        while (line := child.stdout.readline().strip()) != stop_after:
            assert line, "the pipeline child ended before its stop point"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()


def store_entries(instance: Instance) -> list[str]:
    return sorted(p.name for p in instance.settings.store_dir.rglob("*") if p.is_file())


def test_killed_after_encrypting_leaves_nothing_after_a_restart(
    instance: Instance, login: SourceLogin
) -> None:
    kill_pipeline_after(instance, login, "encrypted")
    restarted = open_instance(instance.settings)
    try:
        assert restarted.cleaned_temp_files == 2  # the message and its receipt
        assert store_entries(instance) == []
        assert submissions(instance) == []
    finally:
        restarted.close()


def test_killed_after_linking_before_commit_leaves_nothing_after_a_restart(
    instance: Instance, login: SourceLogin
) -> None:
    kill_pipeline_after(instance, login, "linked")
    # Linked under pending names only: nothing a reader lists, and no row.
    assert all(name.startswith(".pending-") for name in store_entries(instance))
    assert len(store_entries(instance)) == 2
    assert instance.store.list_files(login.source_id) == []
    restarted = open_instance(instance.settings)
    try:
        assert restarted.reconciled == ReconcileResult(removed=2)
        assert store_entries(instance) == []
        assert submissions(instance) == []
        assert source_row(instance, login).interaction_count == 0
    finally:
        restarted.close()
    # The numbers the dead process held are free again.
    (stored,) = store_submission(instance, login.source_id, b"again")
    assert stored.filename.startswith("1-")


def test_killed_after_commit_before_finalize_keeps_the_submission(
    instance: Instance, login: SourceLogin, submission_keypair: KeyPair
) -> None:
    kill_pipeline_after(instance, login, "committed")
    (row,) = submissions(instance)
    with pytest.raises(StoredFileMissing):
        instance.store.path_of(login.source_id, row.filename)
    restarted = open_instance(instance.settings)
    try:
        assert restarted.reconciled == ReconcileResult(finalized=2)
    finally:
        restarted.close()
    assert store_entries(instance) == sorted([row.filename, row.receipt_filename])
    path = instance.store.path_of(login.source_id, row.filename)
    assert gpg_decrypt(submission_keypair.secret_home, path) == "Протокол затрымання".encode()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == row.sha256


def test_killed_in_the_middle_of_finalizing_keeps_the_submission(
    instance: Instance, login: SourceLogin
) -> None:
    kill_pipeline_after(instance, login, "half-finalized")
    (row,) = submissions(instance)
    restarted = open_instance(instance.settings)
    try:
        assert restarted.reconciled == ReconcileResult(finalized=1)
    finally:
        restarted.close()
    assert store_entries(instance) == sorted([row.filename, row.receipt_filename])
