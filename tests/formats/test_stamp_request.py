"""The stamp request line: the only two shapes that may cross the air gap, nothing near them."""

import hashlib

import pytest

from formats.stamp_request import (
    CUSTODY_HEAD,
    RENEWAL,
    custody_head_line,
    purpose_of,
    renewal_line,
)


def test_the_two_shapes_are_recognised() -> None:
    head = custody_head_line(7, "ab" * 32)
    assert head == b"skrynka-custody-head v1 seq=7 hash=" + b"ab" * 32 + b"\n"
    assert purpose_of(head) == CUSTODY_HEAD
    renewal = renewal_line(b'{"format": "skrynka-timestamp-renewal"}\n')
    assert renewal.endswith(hashlib.sha512(b'{"format": "skrynka-timestamp-renewal"}\n')
                            .hexdigest().encode() + b"\n")
    assert purpose_of(renewal) == RENEWAL


@pytest.mark.parametrize("data", [
    b"", b"hello\n",
    b"skrynka-custody-head v1 seq=0 hash=" + b"ab" * 32 + b"\n",
    b"skrynka-custody-head v1 seq=7 hash=" + b"AB" * 32 + b"\n",
    b"skrynka-custody-head v1 seq=7 hash=" + b"ab" * 32,
    b"skrynka-custody-head v1 seq=7 hash=" + b"ab" * 32 + b"\n\n",
    b"skrynka-custody-head v2 seq=7 hash=" + b"ab" * 32 + b"\n",
    b"skrynka-renewal v1 sha512=" + b"0" * 64 + b"\n",
    b"x" * 10_000,
])
def test_anything_else_is_not_a_request(data: bytes) -> None:
    assert purpose_of(data) is None


def test_a_head_line_needs_a_real_head() -> None:
    with pytest.raises(ValueError, match="positive entry number"):
        custody_head_line(0, "ab" * 32)
