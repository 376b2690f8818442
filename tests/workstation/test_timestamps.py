"""Trusted timestamps on import: tokens and inclusion paths from a version 2 bundle are verified,
the verdict is recorded in the custody log, and token, path and encrypted receipt stay with the
original. Bundles here are stamped with `openssl ts` from the format document, not the server.

The tamper tests forge bundles with the server's own signing key, as a compromised server could:
the timestamps are what still catches them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from crypto.encryption import encrypt_bytes
from crypto.signing import Signer
from tests.support.keys import KeyPair
from tests.support.tsa import TimestampAuthority, TsaPki, make_test_ca, openssl_verify
from tests.support.workstation import MakeBundle, Workstation, first_submission
from tests.workstation.bundles import (
    Sent,
    canonical,
    read_members,
    stamp_bundle,
    write_members,
)


def import_entries(workstation: Workstation) -> list[dict[str, Any]]:
    lines = (workstation.store / "custody.log").read_bytes().splitlines()
    return [e for e in map(json.loads, lines) if e["action"] == "import"]


def trust(workstation: Workstation, ca: TsaPki) -> None:
    code, out, err = workstation.run("tsa", "trust", str(ca.root_pem))
    assert code == 0, err
    assert "TSA root trusted" in out


@pytest.fixture
def stamped(make_bundle: MakeBundle, tmp_path: Path, server_signer: Signer,
            tsa: TimestampAuthority) -> tuple[Path, dict[str, Any]]:
    plain = make_bundle(first_submission(["un"]))
    target = tmp_path / "stamped.zip"
    manifest = stamp_bundle(plain, target, server_signer, tsa.url, tmp_path / "stamp-work")
    return target, manifest


def test_a_stamped_bundle_imports_with_verified_timestamps_kept_beside_the_originals(
    workstation: Workstation, stamped: tuple[Path, dict[str, Any]], tsa: TimestampAuthority,
) -> None:
    trust(workstation, tsa.ca)
    bundle, manifest = stamped
    code, out, err = workstation.run("import", str(bundle))
    assert code == 0, err
    assert out.count("timestamp  verified") == 2
    entries = import_entries(workstation)
    assert len(entries) == 2
    for entry in entries:
        stamp = entry["details"]["timestamp"]
        assert stamp["verdict"] == "verified"
        assert stamp["tree_root"] == manifest["trees"][0]["root"]
        assert stamp["tokens"][0]["verdict"] == "verified"
        assert stamp["tokens"][0]["tsa_subject"] == "CN=Skrynka Test TSA"
        kept = (workstation.store / "originals" / entry["item"] / "timestamps"
                / entry["details"]["submission_uuid"])
        assert sorted(p.name for p in kept.iterdir()) == [
            "ciphertext-path.txt", "proof.json", "receipt-path.txt", "receipt.gpg", "root.bin",
            "token-1.tsr"]
        # The kept files check out with openssl alone, and the receipt with the leaf.
        checked = openssl_verify(kept / "token-1.tsr", kept / "root.bin", tsa.ca.root_pem)
        assert checked.returncode == 0, checked.stderr
        proof = json.loads((kept / "proof.json").read_text())
        receipt_sha = hashlib.sha256((kept / "receipt.gpg").read_bytes()).hexdigest()
        assert proof["leaves"]["receipt"]["file_sha256"] == receipt_sha
        running = hashlib.sha256(b"\x00" + bytes.fromhex(receipt_sha)).digest()
        for step in proof["leaves"]["receipt"]["path"]:
            sibling = bytes.fromhex(step["hash"])
            pair = sibling + running if step["side"] == "left" else running + sibling
            running = hashlib.sha256(b"\x01" + pair).digest()
        assert running == (kept / "root.bin").read_bytes()


def test_a_version_1_bundle_still_imports_and_is_recorded_as_not_stamped(
    workstation: Workstation, make_bundle: MakeBundle,
) -> None:
    code, out, err = workstation.run("import", str(make_bundle([Sent("message", b"old")])))
    assert code == 0, err
    assert "timestamp  not stamped" in out
    [entry] = import_entries(workstation)
    assert entry["details"]["timestamp"]["verdict"] == "not stamped"


def refused_reason(workstation: Workstation, bundle: Path) -> list[str]:
    """Import ``bundle``; it must import (the evidence is fine) with refused timestamps."""
    code, out, err = workstation.run("import", str(bundle))
    assert code == 0, err
    assert "Traceback" not in out + err
    assert "timestamp  refused" in out
    return [e["details"]["timestamp"]["reason"] for e in import_entries(workstation)
            if e["details"]["timestamp"]["verdict"] == "refused"]


def test_an_untrusted_tsa_is_refused_with_the_reason_recorded(
    workstation: Workstation, stamped: tuple[Path, dict[str, Any]],
) -> None:
    reasons = refused_reason(workstation, stamped[0])  # no root trusted at all
    assert len(reasons) == 2
    assert all("no TSA root certificate is trusted" in r for r in reasons)


def test_a_token_from_another_pki_is_refused(
    workstation: Workstation, stamped: tuple[Path, dict[str, Any]], tmp_path: Path,
) -> None:
    trust(workstation, make_test_ca(tmp_path / "other-pki", label="Other"))
    reasons = refused_reason(workstation, stamped[0])
    assert all("does not chain to a trusted TSA root" in r for r in reasons)


def test_a_changed_path_is_refused(
    workstation: Workstation, stamped: tuple[Path, dict[str, Any]], tsa: TimestampAuthority,
    server_signer: Signer, tmp_path: Path,
) -> None:
    trust(workstation, tsa.ca)
    bundle, manifest = stamped
    members = read_members(bundle)
    del members["manifest.json"], members["manifest.json.sig"]
    path = manifest["items"][0]["timestamp"]["ciphertext"]["path"]
    path[0] = hashlib.sha256(b"forged sibling").hexdigest()
    write_members(tmp_path / "forged.zip", manifest, server_signer, members)
    reasons = refused_reason(workstation, tmp_path / "forged.zip")
    assert reasons == ["the ciphertext: its inclusion path does not lead to the stamped root"
                       " (the item or its path was changed after it was stamped)"]


def test_a_token_for_another_root_is_refused(
    workstation: Workstation, stamped: tuple[Path, dict[str, Any]], tsa: TimestampAuthority,
    server_signer: Signer, tmp_path: Path,
) -> None:
    from tests.workstation.bundles import openssl_token

    trust(workstation, tsa.ca)
    bundle, manifest = stamped
    members = read_members(bundle)
    del members["manifest.json"], members["manifest.json.sig"]
    other = openssl_token(tsa.url, hashlib.sha256(b"another root").digest(), tmp_path / "w")
    token_ref = manifest["trees"][0]["tokens"][0]
    members[token_ref["path"]] = other
    token_ref["size"], token_ref["sha256"] = len(other), hashlib.sha256(other).hexdigest()
    write_members(tmp_path / "other-root.zip", manifest, server_signer, members)
    reasons = refused_reason(workstation, tmp_path / "other-root.zip")
    assert len(reasons) == 2
    assert all("the token stamps other data" in r for r in reasons)


def test_a_changed_item_is_refused(
    workstation: Workstation, stamped: tuple[Path, dict[str, Any]], tsa: TimestampAuthority,
    server_signer: Signer, submission_keypair: KeyPair, tmp_path: Path,
) -> None:
    # A compromised server swaps a message and its receipt for new, consistent ones and signs
    # a new manifest; only the timestamp still ties the item to what was received.
    trust(workstation, tsa.ca)
    bundle, manifest = stamped
    members = read_members(bundle)
    del members["manifest.json"], members["manifest.json.sig"]
    item = next(i for i in manifest["items"] if i["kind"] == "message")
    text = b"a different story"
    fake = encrypt_bytes(submission_keypair.secret_home, [submission_keypair.fingerprint], text)
    receipt = {
        "format": "skrynka-receipt", "version": 1, "submission_uuid": item["uuid"],
        "kind": "message", "original_name": None, "size": len(text),
        "sha256": hashlib.sha256(text).hexdigest(), "sha512": hashlib.sha512(text).hexdigest(),
        "received_at": "2026-11-27T05:11:16.055418Z",
    }
    fake_receipt = encrypt_bytes(submission_keypair.secret_home,
                                 [submission_keypair.fingerprint], canonical(receipt))
    members[item["path"]] = fake
    members[item["receipt"]["path"]] = fake_receipt
    item["size"], item["sha256"] = len(fake), hashlib.sha256(fake).hexdigest()
    item["receipt"]["size"] = len(fake_receipt)
    item["receipt"]["sha256"] = hashlib.sha256(fake_receipt).hexdigest()
    write_members(tmp_path / "changed.zip", manifest, server_signer, members)
    reasons = refused_reason(workstation, tmp_path / "changed.zip")
    assert reasons == ["the ciphertext: its inclusion path does not lead to the stamped root"
                       " (the item or its path was changed after it was stamped)"]


def test_a_token_from_an_expired_tsa_certificate_is_refused(
    workstation: Workstation, make_bundle: MakeBundle, server_signer: Signer, tmp_path: Path,
) -> None:
    now = dt.datetime.now(dt.UTC)
    expired = make_test_ca(tmp_path / "expired", label="Expired",
                           tsa_not_before=now - dt.timedelta(days=30),
                           tsa_not_after=now - dt.timedelta(days=1))
    authority = TimestampAuthority(expired)
    try:
        plain = make_bundle([Sent("message", b"stamped by a lapsed authority")])
        stamp_bundle(plain, tmp_path / "expired.zip", server_signer, authority.url,
                     tmp_path / "w")
    finally:
        authority.stop()
    trust(workstation, expired)
    [reason] = refused_reason(workstation, tmp_path / "expired.zip")
    assert "certificate has expired" in reason
    # openssl agrees, independently.
    kept = next((workstation.store / "originals").glob("*/timestamps/*"))
    checked = openssl_verify(kept / "token-1.tsr", kept / "root.bin", expired.root_pem)
    assert checked.returncode != 0


def test_a_token_file_changed_in_the_bundle_is_refused(
    workstation: Workstation, stamped: tuple[Path, dict[str, Any]], tsa: TimestampAuthority,
    tmp_path: Path,
) -> None:
    # Without re-signing: the manifest still names the old token's hash.
    trust(workstation, tsa.ca)
    bundle, manifest = stamped
    members = read_members(bundle)
    token_path = manifest["trees"][0]["tokens"][0]["path"]
    members[token_path] = members[token_path][:-1] + bytes([members[token_path][-1] ^ 1])
    from tests.workstation.bundles import rewrite_bundle

    rewrite_bundle(bundle, tmp_path / "bad-token.zip", members)
    reasons = refused_reason(workstation, tmp_path / "bad-token.zip")
    assert all("does not match the signed manifest" in r for r in reasons)


def test_show_names_the_timestamp_of_each_submission(
    workstation: Workstation, stamped: tuple[Path, dict[str, Any]], tsa: TimestampAuthority,
) -> None:
    trust(workstation, tsa.ca)
    assert workstation.run("import", str(stamped[0]))[0] == 0
    [entry, *_] = import_entries(workstation)
    code, out, err = workstation.run("show", entry["item"], "--json")
    assert code == 0, err
    [stamp] = json.loads(out)["timestamps"]
    assert stamp["verdict"] == "verified"
    assert stamp["tokens"][0]["gen_time"].endswith("Z")
