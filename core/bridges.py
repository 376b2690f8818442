"""Bridge lines an operator publishes for this drop's sources.

Public Tor relays and often Snowflake are blocked in Belarus; an operator may run or obtain
obfs4 or WebTunnel bridges and show them on the landing page and in the guide, so a source can
paste them into Tor Browser ("Add a Bridge Manually"). The setting ``source_bridge_lines`` holds
one bridge line per line. Each line is checked here when settings load: a malformed line would
only fail later on a source's phone, where nobody can tell why, so the instance refuses to start
and names the line (by number, never repeating it into logs) and what is wrong.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

TRANSPORTS = ("obfs4", "webtunnel")
MAX_BRIDGE_LINES = 10
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{40}")
_CERT = re.compile(r"cert=[A-Za-z0-9+/]{60,80}={0,2}")
_IAT = re.compile(r"iat-mode=[012]")
_VERSION = re.compile(r"ver=[0-9.]{1,16}")


@dataclass(frozen=True)
class BridgeLines:
    lines: tuple[str, ...]


def parse_bridge_lines(text: str) -> tuple[BridgeLines, list[str]]:
    """The bridge lines in ``text`` and a list of problems (empty when every line is good)."""
    lines = tuple(line.strip() for line in text.splitlines() if line.strip())
    problems: list[str] = []
    if len(lines) > MAX_BRIDGE_LINES:
        problems.append(
            f"at most {MAX_BRIDGE_LINES} bridge lines can be published, not {len(lines)}; "
            "sources need a few that work, not many."
        )
    for number, line in enumerate(lines, start=1):
        problem = _line_problem(line)
        if problem is not None:
            problems.append(f"bridge line {number}: {problem}")
    return BridgeLines(lines), problems


def _line_problem(line: str) -> str | None:
    parts = line.split()
    if parts and parts[0].lower() == "bridge":
        return "leave out the word 'Bridge' (that is torrc syntax; Tor Browser wants the rest)."
    if len(parts) < 3 or parts[0] not in TRANSPORTS:
        return (
            f"a line starts with the transport ({' or '.join(TRANSPORTS)}), then ADDRESS:PORT "
            "and the 40-character fingerprint."
        )
    transport, address, fingerprint, *options = parts
    if not _valid_address(address):
        return "the address must be IPv4:PORT or [IPv6]:PORT with a port from 1 to 65535."
    if not _FINGERPRINT.fullmatch(fingerprint):
        return "the fingerprint must be 40 hexadecimal characters."
    if transport == "obfs4":
        if not any(_CERT.fullmatch(option) for option in options):
            return "an obfs4 line needs its cert=... option, copied whole."
        if not any(_IAT.fullmatch(option) for option in options):
            return "an obfs4 line needs iat-mode=0, 1 or 2."
        return None
    urls = [option.removeprefix("url=") for option in options if option.startswith("url=")]
    if len(urls) != 1 or urlsplit(urls[0]).scheme != "https" or not urlsplit(urls[0]).hostname:
        return "a webtunnel line needs one url=https://... option."
    if any(o.startswith("ver=") and not _VERSION.fullmatch(o) for o in options):
        return "the ver= option must be a version number such as ver=0.0.1."
    return None


def _valid_address(address: str) -> bool:
    host, _, port = address.rpartition(":")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return False
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
