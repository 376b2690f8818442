"""The SOCKS5 client that carries time-stamp requests to tor: what goes wrong is a clear
TsaUnreachable, never a traceback. (Real tor carries real requests in test_tsa_over_tor.py.)"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import pytest

from core.errors import TsaUnreachable
from core.socks import open_socks_connection


def answering(reply: bytes) -> tuple[str, threading.Thread]:
    """A loopback peer that reads the greeting and answers ``reply``: not tor, or a broken one."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        connection, _ = server.accept()
        # The client hangs up as soon as it has read enough: that is not this peer's problem.
        with connection, server, contextlib.suppress(OSError):
            connection.recv(3)
            connection.sendall(reply)
            connection.recv(300)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"127.0.0.1:{server.getsockname()[1]}", thread


@pytest.mark.parametrize(("reply", "reason"), [
    (b"\x05\xff", "tor refused the SOCKS greeting"),
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "tor refused the SOCKS greeting"),
    (b"\x05\x00\x05\x04\x00\x01", "host unreachable"),
    (b"\x05\x00", "tor closed the SOCKS connection"),
])
def test_a_broken_or_refusing_socks_peer_is_a_clear_error(reply: bytes, reason: str) -> None:
    proxy, thread = answering(reply)
    with pytest.raises(TsaUnreachable, match=reason):
        open_socks_connection(proxy, "tsa.example", 80, timeout=5)
    thread.join(timeout=5)


def test_no_tor_listening_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TsaUnreachable, match="tor's SOCKS port does not answer"):
        open_socks_connection(f"unix:{tmp_path}/socks", "tsa.example", 80, timeout=5)
