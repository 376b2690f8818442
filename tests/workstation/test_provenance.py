"""Provenance at import: C2PA manifests read in the sandbox and ProofMode proof sets checked with
gpg, each verdict a signed custody entry, shown by `show` and carried into packages; a forged,
broken or hostile manifest is a verdict, never an error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.bundles import Sent, consent_document
from tests.workstation.credentials import (
    CAMERA,
    LAB,
    ROOT,
    CertificateChain,
    ProofModeDevice,
    change_claim,
    corrupt_manifest,
    edit_after_signing,
    make_chain,
    proof_device,
    sign_c2pa,
    zipped,
)
from tests.workstation.media import jpeg_with_gps, png_with_text
from workstation.catalogue import Item
from workstation.content_credentials import (
    C2PA_LIMITS,
    TRUST_ANCHORS_FILE,
    check_c2pa,
    interpret,
)
from workstation.custody import verify_custody
from workstation.keys import load_workstation_signer
from workstation.provenance import latest_provenance
from workstation.provenance_reason import read_reasons
from workstation.sandbox import MIB, Sandbox
from workstation.service import ImportOutcome, WorkstationService
from workstation.store import open_store

OFFICER = "Alena Kavalenka"
CONSENT = consent_document(["platform", "un"], "2026-11-27T05:11:16.055418Z")


@pytest.fixture(scope="module")
def chain() -> CertificateChain:
    return make_chain()


@pytest.fixture
def device() -> Iterator[ProofModeDevice]:
    yield from proof_device()


@pytest.fixture
def service(workstation: Workstation) -> WorkstationService:
    return WorkstationService(open_store(workstation.store))


def _photo(name: str, content: bytes, source: str) -> Sent:
    return Sent("file", content, name=name, source=source, consent=CONSENT)


def _verdicts(service: WorkstationService, outcome: ImportOutcome) -> dict[str, dict[str, Any]]:
    """Each new file's latest provenance entry, by its original name."""
    entries = service.custody_entries()
    found = {}
    for item_id in outcome.report.imported:
        item = service.find(item_id)
        provenance = latest_provenance(entries, item_id)
        if item.kind == "file":
            assert provenance is not None, item.original_name
            found[str(item.original_name)] = provenance.summary()
    return found


def _only_item(service: WorkstationService, name: str) -> Item:
    [item] = [i for i in service.all_items() if i.original_name == name]
    return item


# C2PA -------------------------------------------------------------------------------------------


def test_each_c2pa_manifest_gets_its_verdict_at_import(
    service: WorkstationService, make_bundle: MakeBundle, chain: CertificateChain
) -> None:
    signed = sign_c2pa(jpeg_with_gps(), chain)
    outcome = service.import_bundle(make_bundle([
        _photo("signed.jpg", signed, "brave tortoise"),
        _photo("edited.jpg", edit_after_signing(signed), "quiet heron"),
        _photo("claim.jpg", change_claim(signed), "grey owl"),
        _photo("broken.jpg", corrupt_manifest(signed), "red fox"),
        _photo("plain.png", png_with_text(), "shy lynx"),
        Sent("message", "Фота з двара".encode(), source="shy lynx", consent=CONSENT),
    ]), OFFICER)

    verdicts = {name: v["c2pa"] for name, v in _verdicts(service, outcome).items()}
    assert outcome.sandbox_problem is None
    valid = verdicts["signed.jpg"]
    assert valid["verdict"] == "valid"
    assert valid["summary"] == "signature valid, signer not on a trust list"
    assert valid["trusted"] is False
    assert valid["signer"]["subject"] == f"CN={CAMERA}, O={LAB}"
    assert valid["signer"]["issuer"] == f"CN={ROOT}, O={LAB}"
    assert valid["codes"] == ["signingCredential.untrusted"]
    assert valid["claim_generator"] == "skrynka-tests"
    assert valid["reader"].startswith("c2pa-python 0.38.1")

    edited = verdicts["edited.jpg"]
    assert edited["verdict"] == "invalid"
    assert "assertion.dataHash.mismatch" in edited["codes"]
    assert edited["signer"]["subject"] == f"CN={CAMERA}, O={LAB}"

    claim = verdicts["claim.jpg"]
    assert claim["verdict"] == "invalid"
    assert "claimSignature.mismatch" in claim["codes"]

    broken = verdicts["broken.jpg"]
    assert broken["verdict"] == "invalid"
    assert broken["codes"] == ["c2pa.error.Decoding"]
    assert broken["summary"].startswith("manifest broken: ")

    assert verdicts["plain.png"]["verdict"] == "absent"
    assert verdicts["plain.png"]["summary"] == "no C2PA manifest"
    # The desk reads every signed summary back into reasons it can translate.
    assert all(read_reasons(v["summary"]) for v in verdicts.values())
    # Messages carry no content credentials and get no entry.
    actions = {(e["action"], service.find(e["item"]).kind) for e in service.custody_entries()
               if e["action"] == "provenance"}
    assert actions == {("provenance", "file")}


def test_a_signer_on_the_officers_trust_list_is_trusted(
    service: WorkstationService, make_bundle: MakeBundle, chain: CertificateChain
) -> None:
    (service.store.root / TRUST_ANCHORS_FILE).write_bytes(chain.root_pem)

    outcome = service.import_bundle(make_bundle([
        _photo("signed.jpg", sign_c2pa(jpeg_with_gps(), chain), "brave tortoise")]), OFFICER)

    [verdict] = [v["c2pa"] for v in _verdicts(service, outcome).values()]
    assert verdict["verdict"] == "valid"
    assert verdict["trusted"] is True
    assert verdict["summary"] == "signature valid, signer on the trust list"
    assert verdict["codes"] == []


def test_a_reader_that_is_stopped_or_crashes_leaves_could_not_be_checked(
    service: WorkstationService, make_bundle: MakeBundle, chain: CertificateChain
) -> None:
    service.import_bundle(make_bundle([
        _photo("signed.jpg", sign_c2pa(jpeg_with_gps(), chain), "brave tortoise")]), OFFICER)
    item = _only_item(service, "signed.jpg")

    too_slow = check_c2pa(service.store, item, Sandbox(), replace(C2PA_LIMITS, wall_seconds=0.05))
    starved = check_c2pa(service.store, item, Sandbox(), replace(C2PA_LIMITS,
                                                                 memory_bytes=24 * MIB))

    assert too_slow.verdict == "unchecked"
    assert too_slow.problem is not None
    assert "the C2PA reader was stopped: the file took more than 0.05 s" in too_slow.problem
    assert starved.verdict == "unchecked"
    assert starved.problem is not None
    assert starved.problem.startswith("the C2PA reader was stopped: ")
    assert [r.code for r in read_reasons(too_slow.problem) or ()] == ["c2pa_stopped"]


@pytest.mark.parametrize(("printed", "verdict"), [
    ([], "unchecked"),
    ({"outcome": "read", "state": "Valid", "failure": "not a list"}, "valid"),
    ({"outcome": "read", "state": "Valid", "failure": ["assertion.dataHash.mismatch"]},
     "invalid"),
    ({"outcome": "read", "state": "Trusted", "failure": [], "signer": ["odd"]}, "valid"),
    ({"outcome": "read", "state": None, "failure": []}, "invalid"),
    ({"outcome": "maybe"}, "unchecked"),
    ({"outcome": "error", "error_type": "C2paRemoteManifest", "error": "x"}, "unchecked"),
    ({"outcome": "error", "error_type": 7, "error": ["a" * 10_000]}, "invalid"),
])
def test_only_the_shape_of_the_readers_output_is_trusted(printed: Any, verdict: str) -> None:
    result = interpret(printed)

    assert result.verdict == verdict
    entry = json.dumps(result.as_entry())
    assert len(entry) < 2_000


def test_the_verdict_is_shown_signed_and_carried_into_the_package(
    workstation: Workstation, make_bundle: MakeBundle, chain: CertificateChain, tmp_path: Path
) -> None:
    code, out, err = workstation.run("import", str(make_bundle([
        _photo("signed.jpg", sign_c2pa(jpeg_with_gps(), chain), "brave tortoise")])))
    assert code == 0, err
    assert "provenance" in out
    assert "C2PA: valid (signature valid, signer not on a trust list)" in out
    photo = next(i["id"] for i in json.loads(workstation.run("list", "--json")[1]))

    _code, text, _ = workstation.run("show", photo)
    shown = json.loads(workstation.run("show", photo, "--json")[1])["provenance"]

    assert "provenance (signed record #" in text
    assert f"C2PA: valid (signature valid, signer not on a trust list); signer CN={CAMERA}" in text
    assert "ProofMode: absent (no ProofMode proof for this file)" in text
    assert shown["c2pa"]["verdict"] == "valid"
    store = open_store(workstation.store)
    [first] = [e for e in WorkstationService(store).custody_entries()
               if e["action"] == "provenance"]
    assert shown["custody_seq"] == first["seq"]
    assert first["details"]["c2pa"] == shown["c2pa"]

    # Checked again by someone else: a second signed entry, and the latest one travels.
    code, again, _ = workstation.run("provenance", photo[:12], actor="officer-ihar")
    assert code == 0
    assert "C2PA: valid (signature valid, signer not on a trust list)" in again
    entries = WorkstationService(store).custody_entries()
    _first, entry = [e for e in entries if e["action"] == "provenance"]
    assert (first["actor"], entry["actor"]) == ("officer-anna", "officer-ihar")
    assert verify_custody(store.custody_log_path, store.custody_head_path,
                          load_workstation_signer(store).public_key) == len(entries)

    assert workstation.run("case", "create", "akrestsina-2020")[0] == 0
    assert workstation.run("case", "add", "akrestsina-2020", photo)[0] == 0
    out_dir = tmp_path / "to-un"
    out_dir.mkdir()
    assert workstation.run("export", "--case", "akrestsina-2020", "--to", "un",
                           "--out", str(out_dir))[0] == 0
    [package] = list(out_dir.iterdir())
    carried = json.loads((package / "skrynka" / "items" / photo / "provenance.json").read_text())
    assert carried["format"] == "skrynka-provenance"
    assert carried["custody_seq"] == entry["seq"]
    assert carried["c2pa"] == entry["details"]["c2pa"]
    custody_lines = (package / "skrynka" / "custody.jsonl").read_text().splitlines()
    assert any(json.loads(line)["seq"] == entry["seq"] for line in custody_lines)
    assert workstation.run("verify", str(package))[0] == 0


# ProofMode --------------------------------------------------------------------------------------


def test_proofmode_sets_sent_beside_the_media_or_zipped_get_their_verdicts(
    service: WorkstationService, make_bundle: MakeBundle, device: ProofModeDevice
) -> None:
    photos = {source: jpeg_with_gps(camera=f"{source.split()[1].title()}Cam")
              for source in ("brave tortoise", "quiet heron", "grey owl", "shy lynx")}
    proofs = {source: device.proof_set(photo, f"{source}.jpg")
              for source, photo in photos.items()}
    # Edited after the proof was made: the camera's name in the photo changed.
    sent_photos = {**photos, "quiet heron": photos["quiet heron"].replace(b"HeronCam",
                                                                          b"HerinCam")}
    # The proof's own record edited after it was signed (the hash is still the photo's).
    [owl_proof] = [name for name in proofs["grey owl"] if name.endswith(".proof.csv")]
    proofs["grey owl"][owl_proof] = proofs["grey owl"][owl_proof].replace(b"53.9", b"50.4")
    del proofs["shy lynx"]["pubkey.asc"]
    other = png_with_text()
    things = [_photo("share.zip", zipped({"IMG_0002.png": other,
                                          **device.proof_set(other, "IMG_0002.png")}),
                     "red fox")]
    for source, files in proofs.items():
        things.append(_photo(f"{source}.jpg", sent_photos[source], source))
        things += [_photo(name, data, source) for name, data in files.items()]

    outcome = service.import_bundle(make_bundle(things), OFFICER)

    verdicts = {name: v["proofmode"] for name, v in _verdicts(service, outcome).items()}
    valid = verdicts["brave tortoise.jpg"]
    assert valid["verdict"] == "valid"
    assert valid["signer"] == {"fingerprint": device.fingerprint, "user_ids": [device.user_id]}
    [media] = valid["media"]
    assert media["checks"] == {"proof_hash": "match", "media_signature": "good",
                               "proof_signature": "good"}
    assert media["proof"] == f"{media['sha256']}.proof.csv"

    edited = verdicts["quiet heron.jpg"]
    assert edited["verdict"] == "invalid"
    assert edited["media"][0]["checks"]["proof_hash"] == "mismatch"
    assert edited["media"][0]["checks"]["media_signature"] == "bad"
    assert "the file was changed after the proof was made" in edited["summary"]

    forged = verdicts["grey owl.jpg"]
    assert forged["verdict"] == "invalid"
    assert forged["media"][0]["checks"] == {"proof_hash": "match", "media_signature": "good",
                                            "proof_signature": "bad"}

    packed = verdicts["share.zip"]
    assert packed["verdict"] == "valid"
    assert [m["name"] for m in packed["media"]] == ["IMG_0002.png"]

    keyless = verdicts["shy lynx.jpg"]
    assert keyless["verdict"] == "unchecked"
    assert "no pubkey.asc in the bundle" in keyless["summary"]
    # The proof files themselves are material, not media; one key came from four sources.
    assert verdicts["pubkey.asc"]["summary"] == "ProofMode proof material, not media"
    # Joined findings and all, every signed summary reads back into the desk's reasons.
    assert all(read_reasons(v["summary"]) for v in verdicts.values())
    assert [r.code for r in read_reasons(keyless["summary"]) or ()][:1] == ["unchecked_because"]


def test_a_hostile_zip_is_a_verdict_not_an_error(
    service: WorkstationService, make_bundle: MakeBundle
) -> None:
    # A ZIP whose central directory promises members that are not there.
    broken = zipped({"pubkey.asc": b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n"})[:-30]

    outcome = service.import_bundle(make_bundle([
        _photo("share.zip", broken, "brave tortoise")]), OFFICER)

    [verdict] = [v["proofmode"] for v in _verdicts(service, outcome).values()]
    assert verdict["verdict"] == "unchecked"
    assert verdict["problem"].startswith("the ZIP could not be unpacked: ")
    assert [r.code for r in read_reasons(verdict["problem"]) or ()] == ["proofmode_zip_failed"]


def test_proof_files_in_a_later_bundle_have_the_earlier_photo_checked_again(
    service: WorkstationService, make_bundle: MakeBundle, device: ProofModeDevice
) -> None:
    photo = jpeg_with_gps()
    first = service.import_bundle(make_bundle([_photo("IMG_0001.jpg", photo, "brave tortoise")]),
                                  OFFICER)
    [before] = _verdicts(service, first).values()
    assert before["proofmode"]["verdict"] == "absent"

    second = service.import_bundle(make_bundle([
        _photo(name, data, "brave tortoise")
        for name, data in device.proof_set(photo, "IMG_0001.jpg").items()]), OFFICER)

    photo_id = _only_item(service, "IMG_0001.jpg").item_id
    assert photo_id in {checked.item_id for checked in second.provenance}
    after = latest_provenance(service.custody_entries(), photo_id)
    assert after is not None
    assert after.proofmode["verdict"] == "valid"
    assert after.custody_seq is not None
    assert after.custody_seq > before["custody_seq"]
