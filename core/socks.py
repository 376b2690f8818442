"""A SOCKS5 CONNECT through tor, so outgoing requests never leave the server in the clear.

`open_socks_connection` connects to tor's SOCKS port (a Unix socket such as /run/tor/socks, or
127.0.0.1:PORT), asks it to connect to HOST:PORT by name (tor resolves the name at the exit,
so no DNS query leaves this machine) and returns the connected socket. Any failure (tor not
running, the exit refusing, a timeout) raises :class:`TsaUnreachable` with tor's reason in
words; the socket is closed.
"""

from __future__ import annotations

import socket
import struct

from core.errors import TsaUnreachable

# RFC 1928 §6 reply codes, and what tor means by them.
_REPLIES = {
    1: "general failure at tor",
    2: "the exit's policy refuses this destination",
    3: "network unreachable",
    4: "host unreachable (tor could not reach it)",
    5: "connection refused by the destination",
    6: "timed out (tor's circuit or the destination)",
    7: "command not supported",
    8: "address type not supported",
}


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise OSError("tor closed the SOCKS connection")
        data += chunk
    return data


def _connect_proxy(proxy: str, timeout: float) -> socket.socket:
    if proxy.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(proxy.removeprefix("unix:"))
        except BaseException:
            sock.close()
            raise
        return sock
    host, _, port = proxy.rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def open_socks_connection(proxy: str, host: str, port: int, timeout: float) -> socket.socket:
    """A socket connected to host:port through the SOCKS5 proxy ``proxy`` (see module doc)."""
    where = f"{host}:{port} through tor ({proxy})"
    try:
        sock = _connect_proxy(proxy, timeout)
    except OSError as exc:
        raise TsaUnreachable(where, f"tor's SOCKS port does not answer ({exc})") from exc
    try:
        sock.sendall(b"\x05\x01\x00")  # version 5, one method: no authentication
        if _read_exactly(sock, 2) != b"\x05\x00":
            raise TsaUnreachable(where, "tor refused the SOCKS greeting")
        name = host.encode("idna")
        if not 0 < len(name) < 256:
            raise TsaUnreachable(where, "the host name is empty or too long")
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port))
        version, reply, _reserved, kind = _read_exactly(sock, 4)
        if version != 5:
            raise TsaUnreachable(where, "tor's SOCKS reply is malformed")
        if reply != 0:
            raise TsaUnreachable(where, _REPLIES.get(reply, f"SOCKS error {reply}"))
        bound = {1: 4, 4: 16}.get(kind)
        if bound is None:
            bound = _read_exactly(sock, 1)[0] if kind == 3 else 0
        _read_exactly(sock, bound + 2)
    except TsaUnreachable:
        sock.close()
        raise
    except (OSError, UnicodeError, ValueError) as exc:
        sock.close()
        raise TsaUnreachable(where, f"the SOCKS exchange failed ({exc})") from exc
    return sock
