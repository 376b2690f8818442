"""Stamping the custody log's head, and renewing every token, across the air gap: only a
one-line request leaves, a token comes back, and the verdict is recorded either way."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from crypto.signing import Signer
from tests.support.tsa import TimestampAuthority, make_test_ca, openssl_verify
from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.bundles import Sent, openssl_token, stamp_bundle


def custody(workstation: Workstation) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            (workstation.store / "custody.log").read_bytes().splitlines()]


def request_file(workstation: Workstation, out: Path, *extra: str) -> Path:
    out.mkdir(exist_ok=True)
    code, text, err = workstation.run("stamp-request", "--out", str(out), *extra)
    assert code == 0, err
    [written] = list(out.glob("*.stamp-request"))
    assert str(written) in text
    return written


def token_for(tsa: TimestampAuthority, request: Path, work: Path) -> Path:
    """What the journalist interface does with the request: a SHA-512 token over the line."""
    token = work / (request.stem + ".tsr")
    token.write_bytes(openssl_token(tsa.url, request.read_bytes(), work, digest="sha512"))
    return token


def test_the_custody_head_is_stamped_and_recorded(
    workstation: Workstation, make_bundle: MakeBundle, tsa: TimestampAuthority, tmp_path: Path,
) -> None:
    assert workstation.run("tsa", "trust", str(tsa.ca.root_pem))[0] == 0
    assert workstation.run("import", str(make_bundle([Sent("message", b"hello")])))[0] == 0
    head = custody(workstation)[-1]
    request = request_file(workstation, tmp_path / "medium")
    # Only the head line crosses the gap.
    assert request.read_bytes() == (
        f"skrynka-custody-head v1 seq={head['seq']} hash={head['hash']}\n".encode())
    token = token_for(tsa, request, tmp_path)
    code, out, err = workstation.run("stamp-record", str(token))
    assert code == 0, err
    assert "custody-head stamped" in out
    entry = custody(workstation)[-1]
    assert entry["action"] == "timestamp"
    assert entry["details"]["verdict"] == "verified"
    assert entry["details"]["message"] == request.read_text().strip()
    kept = workstation.store / entry["details"]["stored_as"]
    checked = openssl_verify(kept / "token.tsr", kept / "message.txt", tsa.ca.root_pem)
    assert checked.returncode == 0, checked.stderr
    # The same token again matches no pending request: nothing is recorded.
    before = len(custody(workstation))
    code, _out, err = workstation.run("stamp-record", str(token))
    assert code != 0
    assert "stamps none of the pending requests" in err
    assert len(custody(workstation)) == before


def test_a_token_from_an_expired_tsa_certificate_is_refused_and_the_refusal_recorded(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path,
) -> None:
    now = dt.datetime.now(dt.UTC)
    expired = make_test_ca(tmp_path / "expired", label="Expired",
                           tsa_not_before=now - dt.timedelta(days=9),
                           tsa_not_after=now - dt.timedelta(days=2))
    authority = TimestampAuthority(expired)
    try:
        assert workstation.run("tsa", "trust", str(expired.root_pem))[0] == 0
        assert workstation.run("import", str(make_bundle([Sent("message", b"hi")])))[0] == 0
        request = request_file(workstation, tmp_path / "medium")
        token = token_for(authority, request, tmp_path)
    finally:
        authority.stop()
    code, out, err = workstation.run("stamp-record", str(token))
    assert code == 4
    assert "Traceback" not in out + err
    assert "certificate has expired" in err
    entry = custody(workstation)[-1]
    assert (entry["action"], entry["details"]["verdict"]) == ("timestamp", "refused")
    assert "certificate has expired" in entry["details"]["reason"]
    assert list((workstation.store / "stamps" / "pending").iterdir())  # still pending


def test_a_renewal_stamps_every_token_and_original_hash_in_the_store(
    workstation: Workstation, make_bundle: MakeBundle, tsa: TimestampAuthority,
    server_signer: Signer, tmp_path: Path,
) -> None:
    assert workstation.run("tsa", "trust", str(tsa.ca.root_pem))[0] == 0
    stamped = tmp_path / "stamped.zip"
    stamp_bundle(make_bundle([Sent("message", b"to be renewed")]), stamped, server_signer,
                 tsa.url, tmp_path / "w")
    assert workstation.run("import", str(stamped))[0] == 0
    request = request_file(workstation, tmp_path / "medium", "--renewal", "--reason",
                           "TSA certificate expires next year")
    assert request.read_bytes().startswith(b"skrynka-renewal v1 sha512=")
    code, out, err = workstation.run("stamp-record", str(token_for(tsa, request, tmp_path)))
    assert code == 0, err
    entry = custody(workstation)[-1]
    assert entry["details"]["purpose"] == "renewal"
    kept = workstation.store / entry["details"]["stored_as"]
    document = json.loads((kept / "renewal.json").read_bytes())
    assert document["reason"] == "TSA certificate expires next year"
    assert [t["file"].split("/")[-1] for t in document["tokens"]] == ["token-1.tsr"]
    assert len(document["originals"]) == 1
    code, out, _err = workstation.run("tsa", "list")
    assert "renew before then" in out


def test_a_request_with_nothing_to_stamp_is_a_clear_error(
    workstation: Workstation, tmp_path: Path,
) -> None:
    (tmp_path / "medium").mkdir()
    code, _out, err = workstation.run("stamp-request", "--out", str(tmp_path / "medium"))
    assert code == 1
    assert "the custody log is empty" in err
