"""Three sources, one scene: consolidated, searched, corroborated by two officers, handed over.

Two witnesses send the same photo of the yard at Akrestsina: the first as their phone took it,
with the capture time and GPS position in its EXIF; the second as a messenger passed it on,
resized to half and recompressed, its metadata gone. A third source, a lawyer, sends a
detention record scanned to a PDF: a picture of the page, with no text layer. Each talks to the
real source interface under gunicorn over HTTP (no browser is needed for what is checked here)
and consents to UN investigators.

A staff member takes one signed transfer bundle through the journalist API. On the air-gapped
workstation officer Anna imports it with `skrynka-workstation`: the photo's metadata is read
and signed, the two photos are found similar, and a Russian word that exists only as pixels on
the scanned page is found by search (OCR in the sandbox). Anna marks the photo corroborated,
officer Pavel confirms it, and the UN package carries both entries and the metadata record.
`custody verify` and the package's `verify` pass; then someone edits one assessment line in the
custody log, and then the other, and each edit is caught.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from core.instance import Instance
from tests.source_app.http_source import HttpSource
from tests.story.album import Album
from tests.story.officer import EvidenceOfficer, carry_keys_to_workstation
from tests.support.keys import KeyPair
from tests.support.pictures import picture, scanned_pdf
from tests.support.staff import StaffAccount, fresh_code, make_staff_account, start_staff_server
from tests.workstation.credentials import CAMERA, make_chain, sign_c2pa

pytestmark = pytest.mark.slow

SOURCE_APP = "source_app:create_app()"
# Anything the workstation runs may meet a loaded machine: OCR of a page is the slowest step.
COMMAND_SECONDS = 900
SCENE = 41  # the seed of the drawn yard scene both witnesses photographed
CAPTURED = "2020:08:10 23:47:05"
CAPTURED_ZONE = "+03:00"
YARD = (53.8618, 27.4465)  # the yard of the detention centre on Akrestsina street, Minsk
SCANNED_LINES = ["ПРОТОКОЛ задержания", "Гражданин доставлен в ЦИП", "на улице Окрестина"]
SCANNED_WORD = "доставлен"


@dataclass(frozen=True)
class Sending:
    """What one source sends in one visit."""

    message: str
    name: str
    content: bytes


def photo_from_the_phone(directory: Path) -> bytes:
    """The yard as the first witness's phone saved it: EXIF with camera, time and position,
    written by exiftool as a phone would."""
    path = directory / "IMG_20200810_234705.jpg"
    path.write_bytes(picture(SCENE, "original", directory))
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original",
         "-Make=Xiaomi", "-Model=Redmi Note 8 Pro",
         f"-DateTimeOriginal={CAPTURED}", f"-OffsetTimeOriginal={CAPTURED_ZONE}",
         f"-GPSLatitude={YARD[0]}", "-GPSLatitudeRef=N",
         f"-GPSLongitude={YARD[1]}", "-GPSLongitudeRef=E", str(path)],
        check=True, capture_output=True,
    )
    return path.read_bytes()


def photo_from_the_messenger(directory: Path) -> bytes:
    """The same scene as a messenger forwards it: half the size, recompressed, no EXIF."""
    return picture(SCENE, "resized", directory)


def scanned_detention_record(directory: Path) -> bytes:
    content = scanned_pdf(directory, SCANNED_LINES)
    assert SCANNED_WORD.encode() not in content  # only pixels: nothing to find without OCR
    return content


def send_as_new_source(source_url: str, sending: Sending, destinations: Sequence[str]) -> None:
    """A new source: takes a codename, then sends a message and one file, consenting to
    `destinations`, through the same form a browser without JavaScript posts."""
    source = HttpSource(source_url)
    source.create()
    answer = source.http.post(
        f"{source_url}/submit",
        data={"csrf_token": source.token(), "msg": sending.message, "homepage": "",
              # The form says it carries the consent questions; then the answers.
              "consent_form": "1", "destinations": list(destinations), "replies": "no"},
        files={"fh": (sending.name, sending.content)},
        timeout=300,
    )
    assert answer.status_code == 200, answer.text[:500]
    assert "Thank you" in answer.text, answer.text[:500]


def take_bundle(staff_url: str, instance: Instance, account: StaffAccount,
                destination: Path) -> Path:
    """Staff sign in to the journalist API and download every submission as one bundle."""
    token = requests.post(f"{staff_url}/api/v1/token", timeout=60, json={
        "username": account.username, "passphrase": account.passphrase,
        "one_time_code": fresh_code(instance, account),
    })
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Token {token.json()['token']}"}
    listed = requests.get(f"{staff_url}/api/v1/submissions", headers=headers, timeout=60)
    uuids = [submission["uuid"] for submission in listed.json()["submissions"]]
    assert len(uuids) == 6  # three messages and three files
    bundle = requests.post(f"{staff_url}/api/v1/bundle", headers=headers, json=uuids,
                           timeout=300)
    assert bundle.status_code == 200, bundle.text[:500]
    path = destination / "bundle.zip"
    path.write_bytes(bundle.content)
    return path


@pytest.fixture
def evidence_store() -> Iterator[Path]:
    """The evidence store, at a short path as gpg-agent's socket needs."""
    parent = Path(tempfile.mkdtemp(prefix="skc-"))
    yield parent / "evidence"
    for directory, _dirs, _files in os.walk(parent):
        os.chmod(directory, 0o700)  # originals are read-only; let the cleanup remove them
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def anna(evidence_store: Path) -> Iterator[EvidenceOfficer]:
    officer = EvidenceOfficer(evidence_store, "officer-anna", timeout=COMMAND_SECONDS)
    yield officer
    officer.stop_gpg_agent()


@pytest.fixture
def pavel(evidence_store: Path) -> EvidenceOfficer:
    return EvidenceOfficer(evidence_store, "officer-pavel", timeout=COMMAND_SECONDS)


def custody_lines(officer: EvidenceOfficer) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            (officer.store / "custody.log").read_text().splitlines()]


def provenance_is_recorded(officer: EvidenceOfficer, items: dict[str, str]) -> None:
    """Where each item came from, as the workstation signed it at import: the import entry
    (bundle, source, plaintext matching the source's receipt) and the content-credentials
    verdict. The phone signed its photo (a C2PA manifest from a camera the officers have not
    put on a trust list); the forwarded copy and the scan carry none."""
    entries = custody_lines(officer)
    imports = {entry["item"] for entry in entries if entry["action"] == "import"}
    checked = {entry["item"] for entry in entries if entry["action"] == "provenance"}
    for name, item_id in items.items():
        assert item_id in imports, name
        assert item_id in checked, name
    shown = {name: officer.json("show", item_id) for name, item_id in items.items()}
    sources = {name: {sub["source"] for sub in detail["submissions"]}
               for name, detail in shown.items()}
    assert all(len(found) == 1 for found in sources.values()), sources
    assert len(set().union(*sources.values())) == 3  # three different sources

    camera = shown["photo"]["provenance"]["c2pa"]
    assert camera["verdict"] == "valid"
    assert camera["trusted"] is False
    assert "signer not on a trust list" in camera["summary"]
    assert CAMERA in camera["signer"]["subject"]
    for name in ("forwarded", "scan"):
        assert shown[name]["provenance"]["c2pa"]["verdict"] == "absent", name
    for name in items:
        assert shown[name]["provenance"]["proofmode"]["verdict"] == "absent", name


def test_three_sources_one_scene_two_officers_one_verifiable_package(
    instance: Instance,
    submission_keypair: KeyPair,
    make_gunicorn: Callable[..., str],
    anna: EvidenceOfficer,
    pavel: EvidenceOfficer,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    data_dir = instance.settings.data_dir
    source_url = make_gunicorn(SOURCE_APP, data_dir)
    staff_url = start_staff_server(make_gunicorn, instance)
    staff = make_staff_account(instance, "ada")
    made = tmp_path / "made"
    made.mkdir()
    # The phone signs what its camera takes (C2PA); the messenger strips everything.
    original = sign_c2pa(photo_from_the_phone(made), make_chain(), "IMG_20200810_234705.jpg")
    forwarded = photo_from_the_messenger(made)
    scan = scanned_detention_record(made)
    photo_id = hashlib.sha256(original).hexdigest()
    forwarded_id = hashlib.sha256(forwarded).hexdigest()
    scan_id = hashlib.sha256(scan).hexdigest()

    # 1. Three sources, each on their own, consenting to UN investigators.
    send_as_new_source(source_url, Sending(
        "Снимал сам из окна автозака во дворе на Окрестина, ночью 10 августа.",
        "IMG_20200810_234705.jpg", original), ["un"])
    send_as_new_source(source_url, Sending(
        "Мне это фото переслали в чате. Это двор изолятора?", "photo_2020-08-12.jpg",
        forwarded), ["un"])
    send_as_new_source(source_url, Sending(
        "Протокол задержания моего подзащитного, скан.", "протокол.pdf", scan), ["un"])

    # 2. Staff take one signed bundle of everything to the air-gapped machine.
    bundle = take_bundle(staff_url, instance, staff, tmp_path)
    secret_key, server_key, fingerprint = carry_keys_to_workstation(
        data_dir, submission_keypair, tmp_path / "usb-stick")
    set_up = anna.ok("init", "--secret-key", str(secret_key), "--server-key", str(server_key),
                     "--server-fingerprint", fingerprint)
    [workstation_key] = [line.split(":", 1)[1].strip() for line in set_up.splitlines()
                         if line.startswith("workstation signing key:")]

    # 3. Import: metadata read and signed, the photos hashed and found alike, pages OCRed.
    imported = anna.ok("import", str(bundle))
    assert "signature, ciphertext and plaintext hashes all match" in imported
    for item_id in (photo_id, forwarded_id, scan_id):
        assert f"imported   {item_id}" in imported
    assert f"metadata   {photo_id[:16]} read with exiftool in the sandbox" in imported
    assert f"similar to {photo_id[:16]}" in imported
    assert "not indexed" not in imported

    photo = anna.json("show", photo_id)
    recorded = photo["embedded_metadata"]
    assert recorded["status"] == "read"
    assert recorded["summary"]["capture_time"]["value"] == CAPTURED
    assert recorded["summary"]["time_zone"]["value"] == CAPTURED_ZONE
    assert recorded["summary"]["gps"]["latitude"] == pytest.approx(YARD[0], abs=1e-4)
    assert recorded["summary"]["gps"]["longitude"] == pytest.approx(YARD[1], abs=1e-4)
    assert recorded["summary"]["device"]["IFD0:Model"] == "Redmi Note 8 Pro"
    assert anna.json("show", forwarded_id)["embedded_metadata"]["summary"].get("gps") is None

    # 4. Provenance: the import entry and the content-credentials verdict of each file.
    provenance_is_recorded(anna, {"photo": photo_id, "forwarded": forwarded_id,
                                  "scan": scan_id})

    # 5. Consolidation: the forwarded copy is linked to the original, the scan to neither.
    assert [s["id"] for s in photo["similar_items"]] == [forwarded_id]
    assert [s["id"] for s in anna.json("show", forwarded_id)["similar_items"]] == [photo_id]
    [cluster] = anna.json("similar")
    assert {member["id"] for member in cluster} == {photo_id, forwarded_id}

    # 6. A word that exists only as pixels on the scanned page is found, in Latin letters too.
    found = anna.ok("search", SCANNED_WORD)
    assert found.split()[:2] == [scan_id, "[ocr]"]
    assert f"[{SCANNED_WORD}]" in found.lower()
    assert anna.ok("search", "dostavlen").split()[:1] == [scan_id]

    # 7. Two officers: Anna corroborates, Pavel confirms; Anna may not confirm herself.
    assessed = anna.ok(
        "assess", photo_id, "--status", "corroborated",
        "--grounds", "technical=EXIF time and GPS match the yard at Akrestsina on 10 August",
        "--grounds", "source=a second, unconnected source sent the same scene",
        "--note", "the forwarded copy is the same photo, resized")
    assert "corroborated by officer-anna" in assessed
    refused = anna.run("confirm", photo_id)
    assert refused.code != 0
    assert "officer-anna made this assessment and cannot confirm it" in refused.err
    assert "Traceback" not in refused.err
    assert "confirmed" in pavel.ok("confirm", photo_id)
    [assessment] = anna.json("show", photo_id)["assessments"]
    assert assessment["effective_status"] == "corroborated"
    assert assessment["confirmed_by"]["actor"] == "officer-pavel"

    # 8. The case goes to the UN with both entries and the metadata record.
    anna.ok("case", "create", "akrestsina-yard")
    anna.ok("case", "add", "akrestsina-yard", photo_id, forwarded_id, scan_id)
    to_un = tmp_path / "to-un"
    to_un.mkdir()
    exported = anna.ok("export", "--case", "akrestsina-yard", "--to", "un", "--out", str(to_un))
    for item_id in (photo_id, forwarded_id, scan_id):
        assert f"included  {item_id}" in exported
    [package] = list(to_un.iterdir())
    carried = [json.loads(line) for line in
               (package / "skrynka" / "custody.jsonl").read_text().splitlines()]
    assess = [e for e in carried if e["item"] == photo_id and e["action"] == "assess"]
    confirm = [e for e in carried if e["item"] == photo_id and e["action"] == "confirm"]
    assert [e["actor"] for e in assess] == ["officer-anna"]
    assert [e["actor"] for e in confirm] == ["officer-pavel"]
    assert confirm[0]["details"]["confirms"] == assess[0]["hash"]
    view = json.loads((package / "skrynka" / "items" / photo_id / "assessments.json")
                      .read_text())
    assert view["current"] == "corroborated"
    assert view["history"][0]["confirmed_by"]["actor"] == "officer-pavel"
    carried_provenance = json.loads(
        (package / "skrynka" / "items" / photo_id / "provenance.json").read_text())
    assert carried_provenance["format"] == "skrynka-provenance"
    assert carried_provenance["c2pa"]["verdict"] == "valid"
    metadata = json.loads((package / "skrynka" / "items" / photo_id / "metadata.json")
                          .read_text())
    assert metadata["summary"]["capture_time"]["value"] == CAPTURED
    assert metadata["summary"]["gps"]["latitude"] == pytest.approx(YARD[0], abs=1e-4)

    # 9. Both checks pass: the workstation's own log and the package as a recipient checks it.
    assert "custody log intact" in anna.ok("custody", "verify")
    verified = anna.ok("verify", str(package))
    assert "statement signature good" in verified
    assert workstation_key in verified  # what the UN compares with the fingerprint sent apart

    # 10. Someone edits an assessment line in the log: each such edit is caught.
    log = anna.store / "custody.log"
    untouched = log.read_text()
    lines = untouched.splitlines()
    judged = [index for index, line in enumerate(lines)
              if json.loads(line)["action"] in ("assess", "confirm")]
    assert len(judged) == 2
    for index, (old, new) in zip(judged, [("corroborated", "rejected"),
                                          ("officer-pavel", "officer-anna")], strict=True):
        edited = list(lines)
        assert old in edited[index]
        edited[index] = edited[index].replace(old, new)
        log.write_text("\n".join(edited) + "\n")
        caught = anna.run("custody", "verify")
        assert caught.code != 0
        assert f"custody log broken at entry {index + 1}" in caught.err
        assert "Traceback" not in caught.err
        log.write_text(untouched)
    assert "custody log intact" in anna.ok("custody", "verify")
    Album(artifacts_dir / "story-corroboration").write(
        "workstation-terminals", "\n".join(anna.transcript + pavel.transcript))
    print(f"\nstory took {time.monotonic() - started:.0f} s")
