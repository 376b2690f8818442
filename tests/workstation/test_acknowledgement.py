"""`skrynka-workstation acknowledge`: a signed list of what an imported bundle brought in."""

from __future__ import annotations

from pathlib import Path

from crypto.signing import verify_signature
from formats.acknowledgement import parse_signed_acknowledgement
from formats.bundle_manifest import parse_manifest
from tests.support.workstation import Workstation, first_submission
from tests.workstation.conftest import MakeBundle
from workstation.keys import load_workstation_signer
from workstation.store import open_store


def imported(workstation: Workstation, make_bundle: MakeBundle) -> str:
    code, out, err = workstation.run("import", str(make_bundle(first_submission(["platform"]))))
    assert code == 0, out + err
    [manifest] = [p.name for p in (workstation.store / "bundles").iterdir()]
    return manifest


def test_the_acknowledgement_names_every_item_and_is_signed_and_logged(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    manifest_sha256 = imported(workstation, make_bundle)
    out_file = tmp_path / "ack.json"
    code, out, err = workstation.run(
        "acknowledge", "--bundle", manifest_sha256[:12], "--out", str(out_file)
    )
    assert code == 0, out + err
    signed = parse_signed_acknowledgement(out_file.read_bytes())
    signer = load_workstation_signer(open_store(workstation.store))
    verify_signature(signer.public_key, signed.signed_bytes, signed.signature)
    manifest = parse_manifest(
        (workstation.store / "bundles" / manifest_sha256 / "manifest.json").read_bytes()
    )
    assert signed.acknowledgement.bundle_manifest_sha256 == manifest_sha256
    assert signed.acknowledgement.workstation_key == signer.fingerprint
    assert [(i.uuid, i.ciphertext_sha256) for i in signed.acknowledgement.items] == [
        (i.uuid, i.ciphertext.sha256) for i in manifest.items
    ]
    code, out, _ = workstation.run("custody", "show")
    assert out.strip().splitlines()[-1].split()[3] == "acknowledge"
    assert workstation.run("custody", "verify")[0] == 0


def test_an_unknown_bundle_or_an_existing_file_writes_and_logs_nothing(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    manifest_sha256 = imported(workstation, make_bundle)
    entries_before = workstation.run("custody", "show")[1]
    out_file = tmp_path / "ack.json"
    code, _, err = workstation.run("acknowledge", "--bundle", "f" * 64, "--out", str(out_file))
    assert code == 5
    assert "no imported bundle has that manifest" in err
    code, _, err = workstation.run("acknowledge", "--bundle", "xyz", "--out", str(out_file))
    assert code == 5
    assert "8 hex digits" in err
    assert not out_file.exists()
    out_file.write_text("keep me")
    code, _, err = workstation.run(
        "acknowledge", "--bundle", manifest_sha256, "--out", str(out_file)
    )
    assert code == 1
    assert "exists already" in err
    assert out_file.read_text() == "keep me"
    assert workstation.run("custody", "show")[1] == entries_before


def test_public_key_prints_the_key_the_server_pins(workstation: Workstation) -> None:
    code, out, err = workstation.run("public-key")
    assert code == 0
    signer = load_workstation_signer(open_store(workstation.store))
    assert out.strip() == signer.public_key.hex()
    assert signer.fingerprint in err
