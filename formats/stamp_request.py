"""The one-line stamp request that crosses the air gap, defined once for both sides.

The evidence workstation writes it (workstation.stamping), staff upload it, the server checks
it (core.stamp_requests) and has exactly its bytes time-stamped with a SHA-512 imprint. Two
shapes exist, and nothing else is a stamp request, so no other data can ride along:

    skrynka-custody-head v1 seq=<entry number> hash=<64 hex: the custody log's last entry hash>
    skrynka-renewal v1 sha512=<128 hex: SHA-512 of a renewal document kept on the workstation>

each ending in one newline. Standard library only.
"""

from __future__ import annotations

import hashlib
import re

CUSTODY_HEAD = "custody-head"
RENEWAL = "renewal"
MAX_BYTES = 512
_SHAPES = {
    CUSTODY_HEAD: re.compile(rb"skrynka-custody-head v1 seq=[1-9][0-9]{0,11} hash=[0-9a-f]{64}\n"),
    RENEWAL: re.compile(rb"skrynka-renewal v1 sha512=[0-9a-f]{128}\n"),
}


def custody_head_line(seq: int, entry_hash: str) -> bytes:
    line = f"skrynka-custody-head v1 seq={seq} hash={entry_hash}\n".encode("ascii")
    if not _SHAPES[CUSTODY_HEAD].fullmatch(line):
        raise ValueError("a custody head is a positive entry number and a 64-hex hash")
    return line


def renewal_line(document: bytes) -> bytes:
    return f"skrynka-renewal v1 sha512={hashlib.sha512(document).hexdigest()}\n".encode("ascii")


def purpose_of(data: bytes) -> str | None:
    """CUSTODY_HEAD or RENEWAL if ``data`` is exactly one of the two shapes, else None."""
    if len(data) > MAX_BYTES:
        return None
    for purpose, shape in _SHAPES.items():
        if shape.fullmatch(data):
            return purpose
    return None
