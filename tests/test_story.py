"""The whole story, end to end: from a source in Belarus to a package a UN body can check.

A source writes in Russian with JavaScript off, consents to UN investigators but not to courts,
answers a few questions and sends a message and a photo that still carries its GPS position.
The server has the upload time-stamped by an RFC 3161 authority (a real `openssl ts` one on
loopback) without revealing anything about it. A staff member signs in with a passphrase and a
one-time code and carries a transfer bundle to the air-gapped workstation, where an evidence
officer imports it (verifying the timestamp), looks at it, makes a clean working copy, and hands
the case over: to the UN with the photo and its timestamp, which `openssl ts -verify` checks in
the package, to a court without it. The custody log's head is stamped across the air gap. The
staff member replies; the source comes back with the codename and reads the reply.

Real gunicorn serves both apps on one data dir, real gpg encrypts and decrypts, Debian's
chromium is the browser, and `skrynka-workstation` and `bagit.py` run as separate programs.
"""

import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from core.instance import Instance
from core.models import AuditEntry, Source, Submission
from crypto.codename import CODENAME_LENGTHS
from crypto.submission_key import export_secret_key
from tests.story.album import Album
from tests.story.officer import (
    EvidenceOfficer,
    metadata_report,
    run_server_console,
    validate_with_bagit_tool,
)
from tests.story.source import Intake, RussianSource
from tests.support.keys import KeyPair
from tests.support.staff import (
    StaffAccount,
    make_staff_account,
    sign_in_browser,
    start_staff_server,
)
from tests.support.tsa import TimestampAuthority, openssl_verify
from tests.workstation.media import jpeg_with_gps

pytestmark = pytest.mark.browser

SOURCE_APP = "source_app:create_app()"
MESSAGE = (
    "Меня задержали 9 августа у стелы и привезли на Окрестина.\n"
    "Фото сделано во дворе изолятора."
)
PHOTO_NAME = "двор-Окрестина.jpg"
INTAKE = Intake(
    violations=("arbitrary_detention", "torture_or_ill_treatment"),
    when_text="август 2020, три ночи",
    when_year=2020,
    when_month=8,
    where_text="ЦИП на Окрестина, Минск",
    region="minsk_city",
    relation="survivor",
)
REPLY = "Спасибо. Мы получили фотографию и передадим её только тем, кому вы разрешили."


@pytest.fixture
def evidence_store() -> Iterator[Path]:
    """Where the officer keeps the evidence store: a short path, as gpg-agent's sockets need."""
    parent = Path(tempfile.mkdtemp(prefix="sks-"))
    yield parent / "evidence"
    for directory, _dirs, _files in os.walk(parent):
        os.chmod(directory, 0o700)  # originals are read-only; let the cleanup remove them
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def officer(evidence_store: Path) -> Iterator[EvidenceOfficer]:
    person = EvidenceOfficer(evidence_store)
    yield person
    person.stop_gpg_agent()


@pytest.fixture
def staff_browser(
    browser: Any, request: pytest.FixtureRequest, artifacts_dir: Path
) -> Iterator[Any]:
    """The staff workstation's browser: JavaScript on, downloads allowed.

    A screenshot lands in test-artifacts/ when the test fails.
    """
    context = browser.new_context(java_script_enabled=True, accept_downloads=True)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(artifacts_dir / f"story-staff-{request.node.name}.png"))
    context.close()


def export_keys_for_workstation(
    instance: Instance, keypair: KeyPair, directory: Path
) -> tuple[Path, Path]:
    """What the officer carries to the air-gapped machine at set-up: the submission secret key
    (from the key ceremony) and the server's signing public key (from the server console)."""
    directory.mkdir()
    secret = directory / "submission-secret.asc"
    secret.write_bytes(export_secret_key(keypair.secret_home, keypair.fingerprint))
    console = run_server_console(instance.settings.data_dir, "check", "--keys")
    assert console.returncode == 0, console.stdout + console.stderr
    [public_hex] = [
        line.split(":", 1)[1].strip()
        for line in console.stdout.splitlines()
        if line.startswith("server signing public key:")
    ]
    server_key = directory / "server-signing.pub"
    server_key.write_text(public_hex + "\n", encoding="ascii")
    return secret, server_key


def choose_bundle_of_everything(page: Any, staff_url: str, source_uuid: str) -> None:
    """On the source page: select every item (JavaScript's "select all") and choose "bundle"."""
    page.goto(f"{staff_url}/source/{source_uuid}")
    page.check("#select-all-items")
    items = page.locator("ol.conversation input[name=item]")
    for index in range(items.count()):
        expect(items.nth(index)).to_be_checked()
    page.select_option("#item-action", "bundle")


def start_bundle_download(page: Any, staff_url: str, source_uuid: str) -> Any:
    """Ask for a bundle of every item of the source; returns Playwright's download."""
    choose_bundle_of_everything(page, staff_url, source_uuid)
    with page.expect_download() as info:
        page.click("#items-go")
    return info.value


def ask_for_bundle(page: Any, staff_url: str, source_uuid: str) -> Any:
    """Ask for a bundle the server is expected to refuse; returns the error message's locator."""
    choose_bundle_of_everything(page, staff_url, source_uuid)
    page.click("#items-go")
    return page.locator("#error-message")


def download_bundle(page: Any, staff_url: str, source_uuid: str, destination: Path) -> Path:
    download = start_bundle_download(page, staff_url, source_uuid)
    assert download.failure() is None, download.failure()
    path: Path = destination / str(download.suggested_filename)
    download.save_as(str(path))
    return path


def enable_timestamps(data_dir: Path, tsa: TimestampAuthority) -> None:
    """The operator's settings for trusted timestamps, in instance.json (dev mode: no tor)."""
    path = data_dir / "instance.json"
    document = json.loads(path.read_text())
    document.setdefault("settings", {}).update({
        "tsa_urls": tsa.url, "tsa_ca_file": str(tsa.ca.root_pem),
        "timestamp_interval_minutes": "60",
    })
    path.write_text(json.dumps(document, indent=2))


def the_only_source(instance: Instance) -> tuple[str, str]:
    with instance.sessions() as db:
        source = db.scalars(select(Source)).one()
        return source.uuid, source.journalist_designation


def test_a_source_in_belarus_reaches_a_un_investigation_and_hears_back(
    instance: Instance,
    submission_keypair: KeyPair,
    make_gunicorn: Callable[..., str],
    browser: Any,
    staff_browser: Any,
    officer: EvidenceOfficer,
    artifacts_dir: Path,
    tmp_path: Path,
    tsa: TimestampAuthority,
) -> None:
    album = Album(artifacts_dir / "story")
    data_dir = instance.settings.data_dir
    enable_timestamps(data_dir, tsa)
    source_url = make_gunicorn(SOURCE_APP, data_dir)
    staff_url = start_staff_server(make_gunicorn, instance)
    staff: StaffAccount = make_staff_account(instance, "ada", is_admin=True)
    photo_bytes = jpeg_with_gps()
    photo = tmp_path / PHOTO_NAME
    photo.write_bytes(photo_bytes)

    # 1. The source, in Russian, with JavaScript off.
    source = RussianSource(browser, source_url)
    page = source.open_browser()
    codename = source.get_codename(page)
    assert len(codename.split()) == CODENAME_LENGTHS["ru"]
    album.take(page, "source-codename")
    source.confirm_codename(page)
    source.fill_first_submission(
        page, MESSAGE, [photo], destinations=["un"], allow_replies=True, intake=INTAKE
    )
    assert not page.is_checked("input[name=destinations][value=court]")
    album.take(page, "source-first-submission-filled")
    source.send(page)
    album.take(page, "source-acknowledgement")
    source.log_out(page)
    album.take(page, "source-logged-out")
    page.context.close()

    # 2. Staff sign in with passphrase and one-time code, find the source, take a bundle.
    source_uuid, designation = the_only_source(instance)
    sign_in_browser(staff_browser, staff_url, instance, staff)
    staff_browser.fill("#q", designation.split()[-1])
    staff_browser.click("form.filter button")
    # The unfiltered inbox shows this one row too: wait for the filtered page itself.
    staff_browser.wait_for_url(re.compile(re.escape(f"{staff_url}/?q=")))
    row = staff_browser.locator("table.sources tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("a.designation")).to_have_text(designation)
    expect(row.locator(".unread-count")).to_have_text("2")
    album.take(staff_browser, "staff-inbox")
    row.locator("a.designation").click()
    staff_browser.wait_for_url(f"{staff_url}/source/{source_uuid}")
    expect(staff_browser.locator("ol.conversation .stamp")).to_have_text(
        ["not yet timestamped", "not yet timestamped"])
    # The timestamp job (the systemd timer's `skrynka timestamp run`) stamps what arrived.
    stamping = run_server_console(data_dir, "timestamp", "run")
    assert stamping.returncode == 0, stamping.stdout + stamping.stderr
    assert f"token from {tsa.url}" in stamping.stdout
    staff_browser.reload()
    expect(staff_browser.locator("ol.conversation .stamp")).to_have_text(
        ["timestamped", "timestamped"])
    album.take(staff_browser, "staff-source-page")
    bundle = download_bundle(staff_browser, staff_url, source_uuid, tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["version"] == 2
    assert len(manifest["trees"]) == 1
    assert all(item["timestamp"] is not None for item in manifest["items"])
    assert [item["kind"] for item in manifest["items"]] == ["message", "file"]
    assert {item["source_designation"] for item in manifest["items"]} == {designation}
    # The fingerprint the officer pins comes from the admin page, a channel apart from the key.
    staff_browser.goto(f"{staff_url}/admin/settings")
    server_fingerprint = staff_browser.inner_text("#signing-fingerprint").strip()
    album.take(staff_browser, "staff-signing-fingerprint")

    # 3. The evidence officer on the air-gapped workstation.
    secret_key, server_key = export_keys_for_workstation(
        instance, submission_keypair, tmp_path / "usb-stick"
    )
    set_up = officer.ok(
        "init", "--secret-key", str(secret_key), "--server-key", str(server_key),
        "--server-fingerprint", server_fingerprint,
    )
    assert f"pinned server signing key: {server_fingerprint}" in set_up
    # The authority's root certificate, from its published policy, not from the bundle.
    assert "TSA root trusted" in officer.ok("tsa", "trust", str(tsa.ca.root_pem))

    imported = officer.ok("import", str(bundle))
    assert "signature, ciphertext and plaintext hashes all match" in imported
    assert imported.count("timestamp  verified") == 2
    photo_id = hashlib.sha256(photo_bytes).hexdigest()
    items = {item["kind"]: item for item in officer.json("list")}
    assert set(items) == {"message", "file"}
    assert items["file"]["id"] == photo_id
    assert items["file"]["name"] == PHOTO_NAME
    assert f"imported   {photo_id}" in imported
    message_id = items["message"]["id"]
    assert f"imported   {message_id}" in imported
    original = officer.store / "originals" / photo_id / "content"
    assert original.read_bytes() == photo_bytes  # byte for byte what the browser sent

    message = officer.json("show", message_id)
    # Browsers send a textarea's line breaks as CRLF (HTML's form submission rules).
    assert message["text"] == MESSAGE.replace("\n", "\r\n")
    shown = officer.json("show", photo_id)
    [submission] = shown["submissions"]
    assert submission["source"] == designation
    assert submission["receipt"]["original_name"] == PHOTO_NAME
    assert submission["intake"] == {
        "format": "skrynka-intake",
        "version": 1,
        "violations": list(INTAKE.violations),
        "when": {"text": INTAKE.when_text, "year": INTAKE.when_year, "month": INTAKE.when_month},
        "where": {"text": INTAKE.where_text, "region": INTAKE.region},
        "responsible": None,
        "relation": INTAKE.relation,
    }
    consent = shown["consent"][source_uuid]["latest"]
    assert consent["destinations"] == ["platform", "un"]
    assert consent["record"]["replies"] is True
    assert "53 deg 54'" in shown["metadata"]["fields"]["GPSPosition"]  # Minsk, as sent
    readable = officer.ok("show", photo_id)
    assert "consent of source" in readable
    assert "platform, un" in readable
    assert INTAKE.where_text in readable

    copied = officer.ok("working-copy", photo_id)
    copy = Path(copied.split(f"working copy of {photo_id}: ", 1)[1].splitlines()[0])
    assert copy.is_relative_to(officer.store / "copies" / photo_id)
    assert "cleaned with mat2" in copied
    assert "GPSPosition" not in metadata_report(copy)
    assert b"TestCam" not in copy.read_bytes()
    assert original.read_bytes() == photo_bytes
    assert hashlib.sha256(original.read_bytes()).hexdigest() == photo_id

    officer.ok("case", "create", "akrestsina-2020")
    assert "2 item(s)" in officer.ok("case", "add", "akrestsina-2020", message_id, photo_id)

    to_un = tmp_path / "to-un"
    to_un.mkdir()
    exported = officer.ok("export", "--case", "akrestsina-2020", "--to", "un", "--out", str(to_un))
    assert f"included  {photo_id}" in exported
    assert f"included  {message_id}" in exported
    [un_package] = list(to_un.iterdir())
    bagit = validate_with_bagit_tool(un_package)
    assert bagit.returncode == 0, bagit.stderr
    assert "is valid" in bagit.stderr
    [exported_photo] = (un_package / "data" / "originals" / photo_id).iterdir()
    assert exported_photo.read_bytes() == photo_bytes
    statement = json.loads((un_package / "skrynka" / "statement.json").read_text())
    assert statement["destination"] == "un"
    # The timestamp from the source's upload reached the UN package; openssl alone checks it.
    [photo_stamp] = next(i for i in statement["items"] if i["id"] == photo_id)["timestamps"]
    assert photo_stamp["verdict"] == "verified"
    kept = un_package / photo_stamp["path"]
    checked = openssl_verify(kept / "token-1.tsr", kept / "root.bin", tsa.ca.root_pem)
    assert checked.returncode == 0, checked.stderr
    assert "Verification: OK" in checked.stdout
    assert designation not in json.dumps(statement, ensure_ascii=False)
    assert source_uuid not in (un_package / "skrynka").joinpath("custody.jsonl").read_text()

    to_court = tmp_path / "to-court"
    to_court.mkdir()
    exported = officer.ok(
        "export", "--case", "akrestsina-2020", "--to", "court", "--out", str(to_court)
    )
    assert f"LEFT OUT  {photo_id}" in exported
    assert f"LEFT OUT  {message_id}" in exported
    [court_package] = list(to_court.iterdir())
    assert [p.name for p in (court_package / "data").iterdir()] == ["README.txt"]
    court_statement = json.loads((court_package / "skrynka" / "statement.json").read_text())
    assert {entry["id"] for entry in court_statement["excluded"]} == {photo_id, message_id}

    verified = officer.ok("verify", str(un_package))
    assert statement["workstation_key_fingerprint"] in verified
    assert "custody log intact" in officer.ok("custody", "verify")

    # The custody log's head crosses the air gap as one line and comes back time-stamped.
    transfer = tmp_path / "transfer-medium"
    transfer.mkdir()
    officer.ok("stamp-request", "--out", str(transfer))
    [request_file] = list(transfer.glob("*.stamp-request"))
    staff_browser.goto(f"{staff_url}/timestamps")
    staff_browser.set_input_files("#stamp-request", str(request_file))
    with staff_browser.expect_download() as info:
        staff_browser.click("#stamp-go")
    token_file = transfer / str(info.value.suggested_filename)
    info.value.save_as(str(token_file))
    assert "custody-head stamped" in officer.ok("stamp-record", str(token_file))
    album.write("workstation-terminal", "\n".join(officer.transcript))

    # 4. Staff reply in the browser.
    staff_browser.goto(f"{staff_url}/source/{source_uuid}")
    staff_browser.fill("#reply", REPLY)
    staff_browser.click("#send-reply")
    staff_browser.wait_for_url(f"{staff_url}/source/{source_uuid}?notice=reply-sent")
    assert f"Reply by {staff.username}" in staff_browser.inner_text("ol.conversation")
    album.take(staff_browser, "staff-reply-sent")
    # Everything staff did to this source's evidence is on the record, and the record holds.
    with instance.sessions() as db:
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions[0] == "sign_in"
    assert actions.count("bundle") == 2  # one entry per item in the bundle
    stamping_entries = [a for a in actions if a in ("timestamp_tree", "timestamp_token")]
    assert stamping_entries == ["timestamp_tree", "timestamp_token"]
    assert "timestamp_hash" in actions
    assert actions[-1] == "reply"
    audit = run_server_console(data_dir, "audit", "verify")
    assert audit.returncode == 0, audit.stderr
    assert "Audit log OK" in audit.stdout

    # 5. The source comes back later, in a new browser session, and reads the reply.
    page = source.open_browser()
    source.log_in(page)
    assert page.locator(".reply-text").all_inner_texts() == [REPLY]
    received = page.locator("#received").inner_text()
    assert "Мы получили от вас 1 сообщение." in received
    assert "Мы получили от вас 1 файл." in received
    album.take(page, "source-reads-reply")
    page.context.close()


def test_a_ciphertext_changed_on_the_server_is_refused_at_the_workstation(
    instance: Instance,
    submission_keypair: KeyPair,
    make_gunicorn: Callable[..., str],
    browser: Any,
    staff_browser: Any,
    officer: EvidenceOfficer,
    tmp_path: Path,
) -> None:
    source_url = make_gunicorn(SOURCE_APP, instance.settings.data_dir)
    staff_url = start_staff_server(make_gunicorn, instance)
    staff = make_staff_account(instance, "ada")
    photo = tmp_path / PHOTO_NAME
    photo.write_bytes(jpeg_with_gps())
    source = RussianSource(browser, source_url)
    page = source.open_browser()
    source.get_codename(page)
    source.confirm_codename(page)
    source.fill_first_submission(
        page, MESSAGE, [photo], destinations=["un"], allow_replies=False, intake=None
    )
    source.send(page)
    page.context.close()

    # Someone with the server in their hands flips one byte of the stored photo.
    with instance.sessions() as db:
        stored = db.scalars(select(Submission).where(Submission.kind == "file")).one()
        path = instance.store.path_of(stored.source.filesystem_id, stored.filename)
        tampered_uuid, tampered_name = stored.uuid, stored.filename
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01
    path.write_bytes(bytes(data))
    source_uuid, designation = the_only_source(instance)
    sign_in_browser(staff_browser, staff_url, instance, staff)

    # The server checks each file against the hash it recorded at intake before sending a byte:
    # staff are told which item is damaged, and nothing is recorded as delivered.
    refusal = ask_for_bundle(staff_browser, staff_url, source_uuid)
    expect(refusal).to_contain_text("Nothing was downloaded")
    expect(refusal).to_contain_text(f"{tampered_name} from {designation} (item {tampered_uuid})")
    with instance.sessions() as db:
        entries = list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        assert not db.scalars(select(Submission).where(Submission.downloaded)).all()
    assert [(e.action, e.object) for e in entries if e.action.startswith("bundle")] == [
        ("bundle_refused", tampered_uuid)
    ]
    audit = run_server_console(instance.settings.data_dir, "audit", "verify")
    assert audit.returncode == 0, audit.stderr

    # Whoever changed the file can change the recorded hash too; then the server signs it all.
    with instance.sessions() as db:
        db.execute(
            update(Submission)
            .where(Submission.uuid == tampered_uuid)
            .values(sha256=hashlib.sha256(data).hexdigest())
        )
        db.commit()
    bundle = download_bundle(staff_browser, staff_url, source_uuid, tmp_path)

    # The workstation trusts the source's receipt, not the server: it refuses the bundle.
    secret_key, server_key = export_keys_for_workstation(
        instance, submission_keypair, tmp_path / "usb-stick"
    )
    officer.ok("init", "--secret-key", str(secret_key), "--server-key", str(server_key))
    refused = officer.run("import", str(bundle))

    assert refused.code == 3, refused
    assert "bundle refused, nothing imported" in refused.err
    assert f"item {tampered_uuid}" in refused.err
    assert tampered_name in refused.err
    assert officer.json("list") == []
    assert not any((officer.store / "originals").iterdir())
    assert "custody log intact: 0 entries" in officer.ok("custody", "verify")
