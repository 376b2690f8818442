"""Stamp requests from the evidence workstation: a custody-log head or a renewal hash.

The workstation writes one line (workstation.stamping); staff upload it in the journalist
interface ("Timestamp a hash"). `parse_stamp_request` accepts exactly the two documented shapes
and nothing else, so no other data can ride across the air gap this way. `stamp_request` asks
the configured authorities in order, through tor, for a token over the line (SHA-512 imprint)
and returns the first verified one; it raises :class:`TimestampError` naming every authority's
failure if none answers. The caller records the audit entry.
"""

from __future__ import annotations

import re

from core.errors import StampRequestInvalid, TimestampError
from core.tsa import StampedToken, TsaClient

MAX_REQUEST_BYTES = 512
_SHAPES = (
    re.compile(rb"skrynka-custody-head v1 seq=[1-9][0-9]{0,11} hash=[0-9a-f]{64}\n"),
    re.compile(rb"skrynka-renewal v1 sha512=[0-9a-f]{128}\n"),
)


def parse_stamp_request(data: bytes) -> bytes:
    """The request line if ``data`` is exactly one of the documented shapes."""
    if len(data) > MAX_REQUEST_BYTES:
        raise StampRequestInvalid(f"it is {len(data)} bytes; a request is one short line")
    if not any(shape.fullmatch(data) for shape in _SHAPES):
        raise StampRequestInvalid("it is not a custody-head or renewal request line")
    return data


def purpose_of(line: bytes) -> str:
    return "custody-head" if line.startswith(b"skrynka-custody-head") else "renewal"


def stamp_request(client: TsaClient, line: bytes) -> StampedToken:
    failures = []
    for url in client.urls:
        try:
            return client.stamp(url, line, algorithm="sha512")
        except TimestampError as exc:
            failures.append(str(exc))
    raise TimestampError(" / ".join(failures))
