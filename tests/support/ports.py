"""Free loopback ports for servers a test starts."""

import socket


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it; races are rare enough)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
