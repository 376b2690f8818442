"""Serving the desk: waitress on a socket bound to 127.0.0.1 by us, before anything else runs.

Why waitress: it is a production WSGI server in pure Python with no dependencies of its own, so
the air-gapped machine installs one small package; it runs threads in one process, so the
launch secret, once used, is used for good (a forking server could restart a worker that never
saw it used), and a long import or export is not killed by a worker timeout. Its request log is
off; nothing records what was looked at except the custody log.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from flask import Flask
from waitress.server import create_server

from workstation_app.errors import AddressRefused, PortUnavailable

LOOPBACK = "127.0.0.1"
THREADS = 4


def check_host(host: str) -> str:
    """127.0.0.1 and nothing else (not 0.0.0.0, not ::, not a LAN address, not a name)."""
    try:
        address = ipaddress.ip_address(host.strip())
    except ValueError as exc:
        raise AddressRefused(host) from exc
    if str(address) != LOOPBACK:
        raise AddressRefused(host)
    return LOOPBACK


def bind_loopback(port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise PortUnavailable(port, "not a port number")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        raise PortUnavailable(port, exc.strerror or str(exc)) from exc
    return sock


def serve(app_for_port: Callable[[int], Flask], port: int,
          announce: Callable[[int], None]) -> None:
    """Bind, build the app for the port it got, announce, and serve until interrupted."""
    sock = bind_loopback(port)
    bound = int(sock.getsockname()[1])
    app = app_for_port(bound)
    server = create_server(app, sockets=[sock], threads=THREADS, ident="skrynka-desk",
                           clear_untrusted_proxy_headers=True)
    announce(bound)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
