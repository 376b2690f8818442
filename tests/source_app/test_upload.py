"""Uploads through real gunicorn: only ciphertext reaches any disk, limits, crashes."""

import hashlib
import io
import os
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select, update

from core.errors import UploadTooLarge
from core.instance import Instance, open_instance
from core.models import InstanceConfig, Source, Submission
from source_app.errors import MalformedUpload
from source_app.upload import RequestBody
from tests.source_app.http_source import HttpSource, read_response
from tests.source_app.pages import BOUNDARY, multipart_body
from tests.support.ciphertext import gpg_decrypt, gunzip_with_name, read_receipt
from tests.support.keys import KeyPair

MIB = 1024 * 1024
APP = "source_app:create_app()"


@pytest.fixture
def server(instance: Instance, make_gunicorn: Callable[..., str]) -> str:
    return make_gunicorn(APP, instance.settings.data_dir, workers=1, threads=4)


@pytest.fixture
def http_source(server: str) -> HttpSource:
    source = HttpSource(server)
    source.create()
    return source


def rows(instance: Instance) -> list[Submission]:
    with instance.sessions() as db:
        found = list(db.scalars(select(Submission).order_by(Submission.id)))
        db.expunge_all()
        return found


def upload_temp_files(instance: Instance) -> list[Path]:
    return [p for p in instance.settings.tmp_dir.rglob("*") if p.is_file() and p.name != ".lock"]


def filesystem_id(instance: Instance) -> str:
    with instance.sessions() as db:
        return str(db.scalars(select(Source.filesystem_id)).one())


def set_limit(instance: Instance, limit: int) -> None:
    with instance.sessions() as db:
        db.execute(update(InstanceConfig).values(max_upload_bytes=limit))
        db.commit()


def test_message_and_file_through_gunicorn_decrypt_to_the_bytes_sent(
    instance: Instance, http_source: HttpSource, submission_keypair: KeyPair
) -> None:
    content = os.urandom(2 * MIB + 123)
    response = http_source.submit("Вы мяне чуеце?", ("відэа.mp4", content))
    assert response.status_code == 200
    assert "We received your submission" in response.text
    message, document = rows(instance)
    store = instance.settings.store_dir / filesystem_id(instance)
    assert gpg_decrypt(submission_keypair.secret_home, store / message.filename) == (
        "Вы мяне чуеце?".encode()
    )
    name, plaintext = gunzip_with_name(
        gpg_decrypt(submission_keypair.secret_home, store / document.filename)
    )
    assert plaintext == content
    assert name == "document.mp4"
    receipt = read_receipt(submission_keypair.secret_home, store / str(document.receipt_filename))
    assert receipt["original_name"] == "відэа.mp4"
    assert receipt["sha512"] == hashlib.sha512(content).hexdigest()
    assert upload_temp_files(instance) == []


SCANNED_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")


def files_under(roots: list[Path]) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()
    for root in roots:
        for directory, _, names in os.walk(root, onerror=lambda _: None):
            for name in names:
                path = Path(directory) / name
                try:
                    info = path.lstat()
                except OSError:
                    continue
                if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) in seen:
                    continue
                seen.add((info.st_dev, info.st_ino))
                yield path


def files_containing(roots: list[Path], markers: list[bytes]) -> list[tuple[Path, bytes]]:
    overlap = max(len(m) for m in markers)
    found = []
    for path in files_under(roots):
        try:
            with path.open("rb") as handle:
                tail = b""
                while chunk := handle.read(8 * MIB):
                    window = tail + chunk
                    found += [(path, m) for m in markers if m in window]
                    tail = window[-overlap:]
        except OSError:
            continue
    return found


@pytest.mark.only_on("sqlite")  # slow and about the disks, not the database (database_backend)
def test_no_plaintext_reaches_any_disk(
    instance: Instance, http_source: HttpSource, submission_keypair: KeyPair
) -> None:
    message_marker = os.urandom(16).hex().encode()
    file_marker = os.urandom(16).hex().encode()
    # 3 MiB: far above Werkzeug's 500 KiB spooling threshold; the marker at both ends and
    # in the middle, so a partial spool would be found too.
    filler = os.urandom(3 * MIB)
    content = file_marker + filler[: 3 * MIB // 2] + file_marker + filler[3 * MIB // 2 :]
    content += file_marker
    message = "witness statement " + message_marker.decode()
    response = http_source.submit(message, ("statement.pdf", content))
    assert "We received your submission" in response.text
    assert len(rows(instance)) == 2

    roots = [instance.settings.data_dir, *(Path(p) for p in SCANNED_ROOTS)]
    if os.environ.get("TMPDIR"):
        roots.append(Path(os.environ["TMPDIR"]))
    assert files_containing(roots, [message_marker, file_marker]) == []
    # And the scan does find a marker where one is: the check is not blind.
    store = instance.settings.store_dir / filesystem_id(instance)
    document = rows(instance)[1]
    _, plaintext = gunzip_with_name(
        gpg_decrypt(submission_keypair.secret_home, store / document.filename)
    )
    assert plaintext.count(file_marker) == 3


def test_a_worker_killed_mid_upload_leaves_nothing_after_restart(
    instance: Instance,
    make_gunicorn: Callable[..., str],
) -> None:
    base_url = make_gunicorn(APP, instance.settings.data_dir, workers=1, threads=4)
    master = psutil.Process(make_gunicorn.__self__.processes[-1].pid)  # type: ignore[attr-defined]
    source = HttpSource(base_url)
    source.create()
    token = source.token()
    head, _ = multipart_body([("csrf_token", token.encode(), None), ("msg", b"hello", None)])
    head = head[: -len(f"--{BOUNDARY}--\r\n")]
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fh"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    file_size = 64 * MIB
    total = len(head) + file_size + len(f"\r\n--{BOUNDARY}--\r\n")
    connection = source.open_raw_upload(total, BOUNDARY)
    connection.sendall(head)
    sent = 0
    deadline = time.monotonic() + 30
    # Send slowly until ciphertext is flowing into a temp file: the upload is mid-way.
    while not any(p.stat().st_size > 0 for p in upload_temp_files(instance)):
        assert time.monotonic() < deadline, "the upload never reached the encryptor"
        connection.sendall(os.urandom(MIB))
        sent += MIB
        time.sleep(0.05)
    assert sent < file_size
    [worker] = master.children()
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    connection.close()

    assert rows(instance) == []
    assert not (instance.settings.store_dir / filesystem_id(instance)).exists()
    # Gunicorn starts a new worker; let it come up before the instance is opened again.
    deadline = time.monotonic() + 30
    while not [c for c in master.children() if c.pid != worker.pid]:
        assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
        time.sleep(0.1)
    reopened = open_instance(instance.settings)
    try:
        assert upload_temp_files(instance) == []
    finally:
        reopened.close()
    assert rows(instance) == []
    # The server still works after the crash.
    assert "We received your submission" in source.submit("after the crash").text


def test_an_upload_over_the_limit_gets_the_friendly_page_not_a_reset(
    instance: Instance, http_source: HttpSource
) -> None:
    set_limit(instance, MIB)
    response = http_source.submit("hello", ("big.bin", os.urandom(3 * MIB)))
    assert response.status_code == 413
    assert "Your upload is too large" in response.text
    assert rows(instance) == []
    assert upload_temp_files(instance) == []


def test_a_chunked_upload_over_the_limit_stops_at_the_limit(
    instance: Instance, http_source: HttpSource
) -> None:
    set_limit(instance, MIB)
    body, content_type = multipart_body(
        [
            ("csrf_token", http_source.token().encode(), None),
            ("msg", b"hello", None),
            ("fh", os.urandom(4 * MIB), "big.bin"),
        ]
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 256 * 1024):
            yield body[start : start + 256 * 1024]

    response = http_source.http.post(
        http_source.base_url + "/submit",
        data=chunks(),
        headers={"Content-Type": content_type},
        timeout=60,
    )
    # The answer waits in the socket while the rest of the body is read and dropped, so a
    # client that reads only after sending everything still gets the page, not a reset.
    assert response.status_code == 413
    assert "Your upload is too large" in response.text
    assert rows(instance) == []
    assert upload_temp_files(instance) == []


def test_a_chunked_upload_within_the_limit_is_stored_whole(
    instance: Instance, http_source: HttpSource, submission_keypair: KeyPair
) -> None:
    # No Content-Length: the server ends the body at the last chunk, and every byte counts.
    content = os.urandom(3 * MIB + 17)
    body, content_type = multipart_body(
        [
            ("csrf_token", http_source.token().encode(), None),
            ("msg", b"sent in chunks", None),
            ("fh", content, "chunked.bin"),
        ]
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 100_000):
            yield body[start : start + 100_000]

    response = http_source.http.post(
        http_source.base_url + "/submit",
        data=chunks(),
        headers={"Content-Type": content_type},
        timeout=60,
    )
    assert "We received your submission" in response.text
    message, document = rows(instance)
    store = instance.settings.store_dir / filesystem_id(instance)
    assert gpg_decrypt(submission_keypair.secret_home, store / message.filename) == (
        b"sent in chunks"
    )
    _, plaintext = gunzip_with_name(
        gpg_decrypt(submission_keypair.secret_home, store / document.filename)
    )
    assert plaintext == content


class _Trickle(io.RawIOBase):
    """A server's input that hands out at most ``step`` bytes per read and records the asks."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self._step = step
        self.asked: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        return self._data.read(min(size, self._step))


def read_all(body: RequestBody, size: int = MIB) -> bytes:
    out = b""
    while chunk := body.read(size):
        out += chunk
    return out


def test_the_body_is_read_to_its_content_length_and_never_past_it() -> None:
    # What follows the body on a kept-alive connection is the next request: never touched.
    server_input = _Trickle(b"x" * 5000 + b"GET / HTTP/1.1", step=1500)
    body = RequestBody({"wsgi.input": server_input, "CONTENT_LENGTH": "5000"}, limit=10_000)
    assert read_all(body) == b"x" * 5000
    assert server_input.asked == [5000, 3500, 2000, 500]  # each ask: what is left of the body
    assert server_input.read(100) == b"GET / HTTP/1.1"


def test_a_body_cut_off_before_its_content_length_is_malformed() -> None:
    body = RequestBody({"wsgi.input": io.BytesIO(b"x" * 100), "CONTENT_LENGTH": "500"}, 10_000)
    with pytest.raises(MalformedUpload, match="before its announced length"):
        read_all(body)


def test_a_body_announced_over_the_limit_is_refused_before_any_read() -> None:
    server_input = _Trickle(b"x" * 100, step=100)
    body = RequestBody({"wsgi.input": server_input, "CONTENT_LENGTH": "2000"}, limit=1000)
    with pytest.raises(UploadTooLarge):
        body.read(MIB)
    assert server_input.asked == []


def chunked_environ(data: bytes) -> dict[str, object]:
    return {
        "wsgi.input": _Trickle(data, step=300),
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input_terminated": True,
    }


def test_a_chunked_body_of_exactly_the_limit_is_read_whole() -> None:
    assert read_all(RequestBody(chunked_environ(b"y" * 1000), limit=1000)) == b"y" * 1000


def test_a_chunked_body_one_byte_over_the_limit_is_refused() -> None:
    environ = chunked_environ(b"y" * 1001 + b"more that is never read")
    with pytest.raises(UploadTooLarge):
        read_all(RequestBody(environ, limit=1000))
    # Reading stopped one byte past the limit; the rest is left for the drain.
    assert environ["wsgi.input"].read(100) == b"more that is never read"  # type: ignore[attr-defined]


def test_a_chunked_body_the_server_cannot_read_is_malformed() -> None:
    class BadChunk(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise OSError("Invalid chunk size")

    environ = {"wsgi.input": BadChunk(), "wsgi.input_terminated": True}
    with pytest.raises(MalformedUpload, match="could not be read"):
        RequestBody(environ, limit=1000).read(MIB)


def test_a_body_without_length_from_a_server_that_does_not_end_it_is_not_read() -> None:
    # Reading would wait for the client's next request (or for ever): the body counts as empty.
    server_input = _Trickle(b"z" * 100, step=100)
    assert RequestBody({"wsgi.input": server_input}, limit=1000).read(MIB) == b""
    assert server_input.asked == []


def raw_upload_start(http_source: HttpSource) -> bytes:
    """The first 256 KiB or so of a /submit body with a file: what a browser sends first."""
    body, _ = multipart_body(
        [
            ("csrf_token", http_source.token().encode(), None),
            ("msg", b"hello", None),
            ("fh", os.urandom(256 * 1024), "huge.bin"),
        ]
    )
    return body[: -len(BOUNDARY) - 8]  # no closing boundary: the file goes on


#: Far more than twice the largest upload the server accepts (and than it would ever read).
CLAIMED_BYTES = 64 * 1024**3


@pytest.mark.parametrize("keep_alive", [False, True])
def test_a_body_far_over_the_limit_gets_the_page_before_it_is_sent(
    instance: Instance, http_source: HttpSource, keep_alive: bool
) -> None:
    set_limit(instance, MIB)
    connection = http_source.open_raw_upload(CLAIMED_BYTES, BOUNDARY, keep_alive=keep_alive)
    started = time.monotonic()
    connection.sendall(raw_upload_start(http_source))
    # The server answered at once, yet goes on reading for a while: sending more is no
    # error (a server that stopped reading would reset the connection under the client).
    connection.sendall(os.urandom(16 * MIB))
    # Read the answer with almost all of the promised body unsent: the page and its end
    # are there (the server does not wait for bytes that are not coming).
    status, text = read_response(connection)
    elapsed = time.monotonic() - started
    connection.close()
    assert status == 413
    assert "Your upload is too large" in text
    assert elapsed < 10
    assert rows(instance) == []
    assert upload_temp_files(instance) == []


def test_a_client_still_sending_far_over_the_limit_reads_the_page(
    instance: Instance, http_source: HttpSource
) -> None:
    # As a browser does: it goes on uploading and reads whatever the server answers meanwhile.
    set_limit(instance, MIB)
    connection = http_source.open_raw_upload(CLAIMED_BYTES, BOUNDARY, keep_alive=True)
    connection.sendall(raw_upload_start(http_source))
    sent = [0]

    def keep_sending() -> None:
        block = os.urandom(256 * 1024)
        try:
            while sent[0] < CLAIMED_BYTES:
                connection.sendall(block)
                sent[0] += len(block)
        except OSError:
            pass  # the server stopped reading after its budget, or the test closed

    sender = threading.Thread(target=keep_sending, daemon=True)
    sender.start()
    try:
        status, text = read_response(connection)
    finally:
        connection.shutdown(socket.SHUT_RDWR)
        connection.close()
        sender.join(30)
    assert status == 413
    assert "Your upload is too large" in text
    assert rows(instance) == []
    assert upload_temp_files(instance) == []
    assert "We received your submission" in http_source.submit("the server is fine").text


def test_a_truncated_upload_stores_nothing(instance: Instance, http_source: HttpSource) -> None:
    body, _ = multipart_body(
        [
            ("csrf_token", http_source.token().encode(), None),
            ("fh", os.urandom(2 * MIB), "cut.bin"),
        ]
    )
    connection = http_source.open_raw_upload(len(body), BOUNDARY)
    connection.sendall(body[: len(body) // 2])
    connection.shutdown(1)  # the client goes away half-way
    connection.close()
    deadline = time.monotonic() + 10
    while upload_temp_files(instance) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert upload_temp_files(instance) == []
    assert rows(instance) == []


def test_a_complete_raw_upload_is_accepted(instance: Instance, http_source: HttpSource) -> None:
    body, _ = multipart_body(
        [
            ("csrf_token", http_source.token().encode(), None),
            ("msg", b"raw", None),
            ("fh", b"abc" * 1000, "raw.txt"),
        ]
    )
    connection = http_source.open_raw_upload(len(body), BOUNDARY)
    connection.sendall(body)
    status, _ = read_response(connection)
    connection.close()
    assert status == 303
    assert [r.kind for r in rows(instance)] == ["message", "file"]
