"""Stamp requests from the evidence workstation: a custody-log head or a renewal hash.

The workstation writes one line (formats.stamp_request defines both shapes); staff upload it in
the journalist interface ("Timestamp a hash"). `parse_stamp_request` accepts exactly those
shapes and nothing else, so no other data can ride across the air gap this way. `stamp_request`
asks the configured authorities in order, through tor, for a token over the line (SHA-512
imprint) and returns the first verified one; it raises :class:`TimestampError` naming every
authority's failure if none answers. The caller records the audit entry.
"""

from __future__ import annotations

from core.errors import StampRequestInvalid, TimestampError
from core.tsa import StampedToken, TsaClient
from formats.stamp_request import MAX_BYTES, purpose_of

MAX_REQUEST_BYTES = MAX_BYTES


def parse_stamp_request(data: bytes) -> tuple[str, bytes]:
    """(purpose, line) if ``data`` is exactly one of the documented shapes."""
    if len(data) > MAX_REQUEST_BYTES:
        raise StampRequestInvalid(f"it is {len(data)} bytes; a request is one short line")
    purpose = purpose_of(data)
    if purpose is None:
        raise StampRequestInvalid("it is not a custody-head or renewal request line")
    return purpose, data


def stamp_request(client: TsaClient, line: bytes) -> StampedToken:
    failures = []
    for url in client.urls:
        try:
            return client.stamp(url, line, algorithm="sha512")
        except TimestampError as exc:
            failures.append(str(exc))
    raise TimestampError(" / ".join(failures))
