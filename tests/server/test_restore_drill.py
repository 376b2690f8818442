"""The restore drill: back up a serving instance, restore it elsewhere, and find it all again.

An instance seeded like `skrynka dev-data` (sources, messages, files, replies, staff) serves
under real gunicorn with its onion keys in the data dir. While it serves, a source submits and
`skrynka backup` writes an archive encrypted to the administrator's key. The archive is restored
into a fresh data directory with the administrator's keyring (and, on PostgreSQL, into a new,
empty database named by SKRYNKA_DATABASE_URL), served again, and then: the securedrop-sdk
client sees the same sources, submissions (byte for byte) and replies; a source logs in with its
codename and reads the same replies; the onion addresses are the same; and `skrynka audit
verify` passes. The drill runs on both database backends.
"""

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sdclientapi import API

from core.instance import open_instance
from core.settings import load_settings
from core.two_factor import totp_code
from devtools.devdata import DEV_OTP_SECRET, DEV_PASSPHRASE
from onion.keystore import OnionKeyStore, ServiceRole
from onion.publisher import onion_dir_of
from server.cli import main
from server.setup import init_instance
from tests.source_app.http_source import HttpSource
from tests.source_app.pages import csrf_token_in
from tests.support.api import seed
from tests.support.gunicorn import GunicornRunner
from tests.support.keys import KeyPair, make_key_pair

pytestmark = pytest.mark.slow

JOURNALIST_APP = "journalist_app:create_app()"
SOURCE_APP = "source_app:create_app()"
_REPLY_TEXT = re.compile(r'<div class="reply-text">(.*?)</div>', re.S)


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[GunicornRunner]:
    gunicorn = GunicornRunner(tmp_path)
    yield gunicorn
    gunicorn.stop_all()


def sign_in(base_url: str, username: str) -> API:
    code = totp_code(DEV_OTP_SECRET, datetime.now(UTC))
    client = API(base_url + "/", username, DEV_PASSPHRASE, code, proxy=False)
    assert client.authenticate() is True
    return client


def inventory(api: API, work: Path) -> dict[str, Any]:
    """What a staff client sees: sources, submissions with their bytes' hashes, replies."""
    work.mkdir()
    sources = {s.uuid: s.journalist_designation for s in api.get_sources()}
    submissions = {}
    for submission in api.get_all_submissions():
        _, path = api.download_submission(submission, str(work))
        submissions[submission.uuid] = (
            submission.source_uuid,
            submission.filename,
            submission.size,
            hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        )
    replies = {r.uuid: (r.source_uuid, r.filename, r.size) for r in api.get_all_replies()}
    return {"sources": sources, "submissions": submissions, "replies": replies}


def replies_seen_by(source_url: str, codename: str) -> list[str]:
    http = requests.Session()
    page = http.get(source_url + "/login?l=en", timeout=30)
    lookup = http.post(
        source_url + "/login",
        data={"csrf_token": csrf_token_in(page.text), "codename": codename},
        timeout=60,
    )
    assert lookup.url.endswith("/lookup"), lookup.url
    return sorted(text.strip() for text in _REPLY_TEXT.findall(lookup.text))


def onion_addresses(data_dir: Path) -> tuple[str, str]:
    store = OnionKeyStore(onion_dir_of(data_dir))
    keys = [store.load_service_key(role) for role in (ServiceRole.SOURCE, ServiceRole.JOURNALIST)]
    assert all(key is not None for key in keys)
    return keys[0].onion_address, keys[1].onion_address  # type: ignore[union-attr]




def test_a_backup_of_a_serving_instance_restores_to_the_same_instance(
    submission_keypair: KeyPair,
    database_settings: dict[str, str],
    restore_database: dict[str, str],
    tmp_path: Path,
    runner: GunicornRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = make_key_pair(tmp_path / "admin-gnupg", "Skrynka backup admin")
    data = tmp_path / "data"
    settings = init_instance(
        data,
        submission_keypair.public_armored,
        dev_mode=True,
        organization_name="Skrynka Drill",
        instance_settings={"kdf": "testing", **database_settings},
        env={},
        backup_public_key=admin.public_armored,
    )
    instance = open_instance(settings)
    try:
        seeded = seed(instance, sources=3)
    finally:
        instance.close()
    codename = seeded.codenames[0]
    store = OnionKeyStore(onion_dir_of(data))
    for role in (ServiceRole.SOURCE, ServiceRole.JOURNALIST):
        store.ensure_service_key(role)
    addresses = onion_addresses(data)

    journalist_url = runner.start(JOURNALIST_APP, data, threads=4)
    source_url = runner.start(SOURCE_APP, data, threads=4)
    # The instance is in use while it is backed up: a new source submits first.
    newcomer = HttpSource(source_url)
    newcomer.create()
    assert "We received your submission" in newcomer.submit("sent just before the backup").text
    before = inventory(sign_in(journalist_url, "journalist"), tmp_path / "before")
    assert len(before["sources"]) == 4
    assert before["submissions"]
    assert before["replies"]
    replies_before = replies_seen_by(source_url, codename)
    assert replies_before

    archive = tmp_path / "offsite" / "skrynka.tar.gpg"
    archive.parent.mkdir()
    assert main(["backup", "--data-dir", str(data), "--out", str(archive)]) == 0
    report = capsys.readouterr().out
    assert f"encrypted to {admin.fingerprint}" in report
    engine = "PostgreSQL dump" if database_settings else "SQLite snapshot"
    assert f"It holds a {engine} of the database and the store from {data / 'store'}" in report

    restored = tmp_path / "restored"
    argv = ["restore", "--from", str(archive), "--data-dir", str(restored)]
    for name, value in restore_database.items():
        monkeypatch.setenv(name, value)
    assert main([*argv, "--gnupg-home", str(admin.secret_home)]) == 0
    for name in restore_database:
        monkeypatch.delenv(name)
    runner.stop_all()  # the old server goes away, as after losing the machine
    if restore_database:
        # The restored instance uses the new database without the variable: its URL was
        # written into the restored data dir, and the old database is not touched.
        assert (
            load_settings(data_dir=restored).database_url
            == (restore_database["SKRYNKA_DATABASE_URL"])
        )
        assert not (restored / "db.pgdump").exists()
    assert main(["check", "--data-dir", str(restored)]) == 0
    assert main(["audit", "verify", "--data-dir", str(restored)]) == 0

    restored_journalist = runner.start(JOURNALIST_APP, restored, threads=4)
    restored_source = runner.start(SOURCE_APP, restored, threads=4)
    # Another account: the first one's sign-in code was used up on the old server.
    after = inventory(sign_in(restored_journalist, "dellsberg"), tmp_path / "after")
    assert after == before
    assert replies_seen_by(restored_source, codename) == replies_before
    assert onion_addresses(restored) == addresses
    assert load_settings(data_dir=restored).backup_key_fingerprint == admin.fingerprint
    assert main(["audit", "verify", "--data-dir", str(restored)]) == 0
