"""RFC 3161 requests and tokens through rfc3161-client, against a real `openssl ts` authority:
round trip, other data, other roots, an expired TSA certificate, garbage, a wrong nonce."""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.request
from pathlib import Path

import pytest

from crypto.errors import TimestampTokenInvalid, TimestampTokenMismatch
from crypto.timestamp_token import build_request, load_roots, verify_token
from tests.support.tsa import TimestampAuthority, make_test_ca

ROOT = hashlib.sha256(b"a Merkle root").digest()


def fetch(authority: TimestampAuthority, der: bytes) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(authority.url, data=der)) as answer:
        return bytes(answer.read())


def test_a_token_round_trips_and_says_what_it_stamps(tsa: TimestampAuthority) -> None:
    request = build_request(ROOT)
    facts = verify_token(fetch(tsa, request.der), ROOT, load_roots(tsa.ca.root_pem.read_bytes()),
                         nonce=request.nonce)
    assert facts.hash_algorithm == "sha256"
    assert facts.tsa_subject == "CN=Skrynka Test TSA"
    assert abs(facts.gen_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_sha512_requests_are_stamped_with_sha512(tsa: TimestampAuthority) -> None:
    request = build_request(b"skrynka-renewal v1 sha512=...\n", "sha512")
    facts = verify_token(fetch(tsa, request.der), b"skrynka-renewal v1 sha512=...\n",
                         load_roots(tsa.ca.root_pem.read_bytes()))
    assert facts.hash_algorithm == "sha512"


def test_a_token_for_other_data_is_a_mismatch(tsa: TimestampAuthority) -> None:
    token = fetch(tsa, build_request(ROOT).der)
    with pytest.raises(TimestampTokenMismatch, match="stamps other data"):
        verify_token(token, b"another root", load_roots(tsa.ca.root_pem.read_bytes()))


def test_a_token_under_another_root_or_with_no_root_is_refused(
    tsa: TimestampAuthority, tmp_path: Path
) -> None:
    token = fetch(tsa, build_request(ROOT).der)
    other = make_test_ca(tmp_path / "other", label="Other")
    with pytest.raises(TimestampTokenInvalid, match="unable to get local issuer certificate"):
        verify_token(token, ROOT, load_roots(other.root_pem.read_bytes()))
    with pytest.raises(TimestampTokenInvalid, match="no TSA root certificate is trusted"):
        verify_token(token, ROOT, [])


def test_a_token_from_an_expired_tsa_certificate_is_refused(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    ca = make_test_ca(tmp_path / "expired", tsa_not_before=now - dt.timedelta(days=9),
                      tsa_not_after=now - dt.timedelta(days=1))
    authority = TimestampAuthority(ca)
    try:
        token = fetch(authority, build_request(ROOT).der)
    finally:
        authority.stop()
    with pytest.raises(TimestampTokenInvalid, match="certificate has expired"):
        verify_token(token, ROOT, load_roots(ca.root_pem.read_bytes()))


def test_a_wrong_nonce_and_garbage_are_refused(tsa: TimestampAuthority) -> None:
    request = build_request(ROOT)
    token = fetch(tsa, request.der)
    roots = load_roots(tsa.ca.root_pem.read_bytes())
    assert request.nonce is not None
    with pytest.raises(TimestampTokenInvalid, match="Nonce mismatch"):
        verify_token(token, ROOT, roots, nonce=request.nonce + 1)
    for garbage in (b"", b"not DER at all", token[:40]):
        with pytest.raises(TimestampTokenInvalid, match="not an RFC 3161 response"):
            verify_token(garbage, ROOT, roots)
    with pytest.raises(TimestampTokenInvalid, match="is not PEM certificates"):
        load_roots(b"")
