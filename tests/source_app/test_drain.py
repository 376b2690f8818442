"""Reading the rest of a refused body after the answer: bounded in bytes and in time."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from source_app.drain import DrainBudget, drain_request_body

KIB = 1024


@pytest.fixture
def connection() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(server side, client side) of a real connected socket pair."""
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def environ_for(server: socket.socket, length: int) -> dict[str, object]:
    return {
        "gunicorn.socket": server,
        "wsgi.input": server.makefile("rb", buffering=0),
        "CONTENT_LENGTH": str(length),
    }


def test_the_client_gets_the_end_of_the_answer_before_the_drain(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    server.sendall(b"the answer")
    budget = DrainBudget(max_bytes=10 * KIB, seconds=5)
    worker = threading.Thread(target=drain_request_body, args=(environ_for(server, 10**9), budget))
    worker.start()
    client.settimeout(2)
    received = b""
    while chunk := client.recv(1024):
        received += chunk
    # The whole answer and then its end (EOF), while the server still reads.
    assert received == b"the answer"
    assert worker.is_alive()
    client.close()
    worker.join(5)
    assert not worker.is_alive()


def test_a_stalled_client_costs_no_more_than_the_time_budget(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    client.sendall(b"x" * 100)  # then nothing more, though it promised a gigabyte
    started = time.monotonic()
    drained = drain_request_body(environ_for(server, 10**9), DrainBudget(10 * KIB, seconds=0.5))
    elapsed = time.monotonic() - started
    assert drained == 100
    assert 0.4 < elapsed < 2


def test_an_endless_client_costs_no_more_than_the_byte_budget(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    stop = threading.Event()

    def send_forever() -> None:
        try:
            while not stop.is_set():
                client.sendall(b"y" * 64 * KIB)
        except OSError:
            pass

    sender = threading.Thread(target=send_forever)
    sender.start()
    try:
        drained = drain_request_body(environ_for(server, 10**9), DrainBudget(256 * KIB, seconds=10))
    finally:
        stop.set()
        server.close()
        sender.join(5)
    assert drained == 256 * KIB


def test_the_socket_timeout_is_restored(connection: tuple[socket.socket, socket.socket]) -> None:
    server, client = connection
    server.settimeout(None)
    client.sendall(b"z" * 10)
    client.shutdown(socket.SHUT_WR)
    assert drain_request_body(environ_for(server, 10), DrainBudget(KIB, seconds=1)) == 10
    assert server.gettimeout() is None


def test_a_request_without_a_body_is_not_read(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, _ = connection
    started = time.monotonic()
    environ = {"gunicorn.socket": server, "wsgi.input": server.makefile("rb")}
    assert drain_request_body(environ, DrainBudget(KIB, seconds=5)) == 0
    assert time.monotonic() - started < 1
