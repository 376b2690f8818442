"""Early answers to /submit through real gunicorn, with raw sockets on kept-alive connections.

When /submit answers before it has read the whole body (too large, logged out, malformed), the
answer must say ``Connection: close`` and the connection must then end cleanly, so that a
client never sends its next request into a connection the server has already given up on.
Before this was fixed, the next request on the same connection found it closed without an
answer in most tries: each case is repeated so that one lucky run cannot hide it.
"""

import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import update

from core.instance import Instance
from core.models import InstanceConfig
from tests.source_app.http_source import HttpSource
from tests.source_app.pages import BOUNDARY, multipart_body

MIB = 1024 * 1024
REPEATS = 12
APP = "source_app:create_app()"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def read_one_response(connection: socket.socket) -> Answer:
    """Read exactly one response (framed by Content-Length), leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, f"the connection closed without an answer (got {data[:80]!r})"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    assert match, lines[0]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = connection.recv(65536)
        assert chunk, "the connection closed in the middle of the answer"
        body += chunk
    return Answer(int(match.group(1)), headers, body[:length])


def request_head(source: HttpSource, body_length: int, *, cookie: bool = True) -> bytes:
    host, port = source.address()
    cookie_line = f"Cookie: {source.cookie_header()}\r\n" if cookie else ""
    return (
        f"POST /submit HTTP/1.1\r\nHost: {host}:{port}\r\n{cookie_line}"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {body_length}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()


def get_index(source: HttpSource) -> bytes:
    host, port = source.address()
    return f"GET /?l=en HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: keep-alive\r\n\r\n".encode()


def ends_cleanly(connection: socket.socket) -> bool:
    """After the last answer the server ends the connection with a FIN, not a reset."""
    connection.settimeout(15)
    try:
        return connection.recv(65536) == b""
    except ConnectionResetError:
        return False


@pytest.fixture
def source(instance: Instance, make_gunicorn: Callable[..., str]) -> HttpSource:
    with instance.sessions() as db:
        db.execute(update(InstanceConfig).values(max_upload_bytes=MIB))
        db.commit()
    http_source = HttpSource(make_gunicorn(APP, instance.settings.data_dir, workers=1, threads=4))
    http_source.create()
    return http_source


def over_the_limit(source: HttpSource) -> tuple[bytes, bytes]:
    body, _ = multipart_body(
        [
            ("csrf_token", source.token().encode(), None),
            ("fh", os.urandom(2 * MIB), "big.bin"),
        ]
    )
    return request_head(source, len(body)), body


def logged_out(source: HttpSource) -> tuple[bytes, bytes]:
    body, _ = multipart_body([("msg", b"hello", None), ("fh", os.urandom(64 * 1024), "a.bin")])
    return request_head(source, len(body), cookie=False), body


def malformed(source: HttpSource) -> tuple[bytes, bytes]:
    body = b"--" + BOUNDARY.encode() + b"\r\nthis is not a part header\r\n" + os.urandom(256 * 1024)
    return request_head(source, len(body)), body


@pytest.mark.only_on("sqlite")  # slow and about connections, not the database (database_backend)
@pytest.mark.parametrize(
    ("make_request", "status"),
    [(over_the_limit, 413), (logged_out, 303), (malformed, 400)],
    ids=["over-the-limit", "logged-out", "malformed"],
)
def test_an_early_answer_closes_its_connection_and_the_next_request_is_answered(
    source: HttpSource,
    make_request: Callable[[HttpSource], tuple[bytes, bytes]],
    status: int,
) -> None:
    for attempt in range(REPEATS):
        head, body = make_request(source)
        connection = socket.create_connection(source.address(), timeout=30)
        try:
            connection.sendall(head + body)
            answer = read_one_response(connection)
            assert answer.status == status, attempt
            closing = answer.headers.get("connection", "").lower() == "close"
            if closing:
                # As an HTTP/1.1 client does: the server said it closes, so the connection
                # must end cleanly and the next request goes on a new one.
                assert ends_cleanly(connection), attempt
                with socket.create_connection(source.address(), timeout=30) as fresh:
                    fresh.sendall(get_index(source))
                    assert read_one_response(fresh).status == 200, attempt
            else:
                # The server promised to keep the connection: the next request goes on it.
                connection.sendall(get_index(source))
                assert read_one_response(connection).status == 200, attempt
            assert closing, f"attempt {attempt}: an early answer must say Connection: close"
        finally:
            connection.close()


def test_a_kept_alive_connection_still_serves_many_requests(source: HttpSource) -> None:
    # Only early answers close the connection: ordinary pages keep it for the next request.
    with socket.create_connection(source.address(), timeout=30) as connection:
        for attempt in range(REPEATS):
            connection.sendall(get_index(source))
            answer = read_one_response(connection)
            assert answer.status == 200, attempt
            assert answer.headers.get("connection", "").lower() != "close"


def test_a_refused_form_read_whole_leaves_the_connection_usable(source: HttpSource) -> None:
    # A bad CSRF token is found only after /submit has read the whole body: the connection
    # may stay open, and if it does, the next request on it is answered.
    for attempt in range(REPEATS):
        body, _ = multipart_body(
            [("csrf_token", b"not-a-token", None), ("msg", b"hello", None), ("fh", b"", "")]
        )
        with socket.create_connection(source.address(), timeout=30) as connection:
            connection.sendall(request_head(source, len(body)) + body)
            answer = read_one_response(connection)
            assert answer.status == 400, attempt
            assert b"expired" in answer.body, attempt
            if answer.headers.get("connection", "").lower() == "close":
                assert ends_cleanly(connection), attempt
            else:
                connection.sendall(get_index(source))
                assert read_one_response(connection).status == 200, attempt
