"""`skrynka dev-data`: dev accounts, sources with real ciphertext, refusal outside dev mode."""

import gzip
import hashlib
import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.instance import Instance, open_instance
from core.models import Journalist, Reply, SeenSubmission, Source, Submission
from core.settings import load_settings
from core.sign_in import authenticate_journalist
from core.sources import authenticate_source
from core.two_factor import totp_code
from crypto.reply_key import decrypt_with_reply_key
from devtools.devdata import DEV_OTP_SECRET, DEV_PASSPHRASE, ContentSizes, SizeRange, seed_dev_data
from devtools.errors import DevDataRefused
from formats.receipt import parse_receipt
from server.cli import main
from server.setup import init_instance
from tests.support.keys import KeyPair

SMALL = ContentSizes(
    message=SizeRange(10, 300), file=SizeRange(100, 3000), reply=SizeRange(10, 200)
)


def decrypt(keypair: KeyPair, data: bytes) -> bytes:
    return subprocess.run(
        ["gpg", "--homedir", str(keypair.secret_home), "--batch", "--decrypt"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout


def test_seeds_sources_with_real_ciphertext_receipts_and_replies(
    instance: Instance, submission_keypair: KeyPair
) -> None:
    summary = seed_dev_data(instance, sources=3, login_sources=1, sizes=SMALL, seed=1)
    assert (summary.sources, summary.submissions, summary.replies) == (3, 12, 6)
    assert summary.accounts_created == ["journalist", "dellsberg"]
    assert len(summary.codenames) == 1
    store = instance.settings.store_dir
    with instance.sessions() as db:
        sources = db.scalars(select(Source)).all()
        assert len(sources) == 3
        assert not any(s.pending for s in sources)
        assert {s.interaction_count for s in sources} == {6}
        for submission in db.scalars(select(Submission)):
            directory = store / submission.source.filesystem_id
            data = (directory / submission.filename).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (
                submission.size,
                submission.sha256,
            )
            plaintext = decrypt(submission_keypair, data)
            receipt = parse_receipt(
                decrypt(submission_keypair, (directory / submission.receipt_filename).read_bytes())
            )
            assert receipt.submission_uuid == submission.uuid
            assert receipt.kind == submission.kind
            if submission.kind == "file":
                assert submission.filename.endswith("-doc.gz.gpg")
                original = gzip.GzipFile(fileobj=io.BytesIO(plaintext)).read()
                assert receipt.original_name is not None
            else:
                assert submission.filename.endswith("-msg.gpg")
                original = plaintext
                assert original.decode("utf-8")
            assert receipt.sha256 == hashlib.sha256(original).hexdigest()
            assert receipt.sha512 == hashlib.sha512(original).hexdigest()
            assert receipt.size == len(original)
        sizes = {s.size for s in db.scalars(select(Submission))}
        assert len(sizes) > 6  # random sizes
        unread = db.scalar(
            select(func.count())
            .select_from(Submission)
            .where(~Submission.id.in_(select(SeenSubmission.submission_id)))
        )
        assert unread == summary.unread == 2
        replies = db.scalars(select(Reply)).all()
        for reply in replies:
            data = (store / reply.source.filesystem_id / reply.filename).read_bytes()
            assert decrypt(submission_keypair, data).startswith(b"Reply from the development data")
    # The source made from a real codename can log in and read its replies with its own key.
    login = authenticate_source(instance, summary.codenames[0])
    with instance.sessions() as db:
        source = db.get(Source, login.id)
        assert source is not None
        ciphertexts = [
            (store / source.filesystem_id / r.filename).read_bytes() for r in source.replies
        ]
        wrapped = source.reply_key_wrapped
    texts = decrypt_with_reply_key(
        wrapped, login.secrets.wrap_key, ciphertexts, instance.settings.ram_dir
    )
    assert len(texts) == 2
    assert all(t.startswith(b"Reply from the development data") for t in texts)


def test_development_accounts_sign_in_with_the_public_credentials(instance: Instance) -> None:
    seed_dev_data(instance, sources=0)
    with instance.sessions() as db:
        for username, admin in (("journalist", True), ("dellsberg", False)):
            journalist = authenticate_journalist(
                db,
                instance.settings,
                username=username,
                passphrase=DEV_PASSPHRASE,
                code=totp_code(DEV_OTP_SECRET, datetime.now(UTC)),
            )
            assert journalist.is_admin is admin
    again = seed_dev_data(instance, sources=1, login_sources=0, sizes=SMALL)
    assert again.accounts_created == []
    with instance.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Journalist)) == 2
        assert db.scalar(select(func.count()).select_from(Source)) == 1


def test_refuses_an_instance_not_in_dev_mode(tmp_path: Path, submission_keypair: KeyPair) -> None:
    settings = init_instance(tmp_path / "prod", submission_keypair.public_armored, env={})
    production = open_instance(settings)
    try:
        with pytest.raises(DevDataRefused, match="not a development instance"):
            seed_dev_data(production, sources=2)
        with production.sessions() as db:
            assert db.scalar(select(func.count()).select_from(Journalist)) == 0
            assert db.scalar(select(func.count()).select_from(Source)) == 0
    finally:
        production.close()
    assert main(["dev-data", "--data-dir", str(tmp_path / "prod"), "--sources", "1"]) == 1


def test_cli_creates_a_development_instance_then_adds_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "dev"
    assert main(["dev-data", "--data-dir", str(data_dir), "--sources", "2"]) == 0
    printed = capsys.readouterr().out
    assert "Added 2 sources, 8 submissions" in printed
    assert DEV_PASSPHRASE in printed
    assert DEV_OTP_SECRET in printed
    assert printed.count("source codename:") == 2
    assert json.loads((data_dir / "instance.json").read_text())["dev_mode"] is True
    assert main(["dev-data", "--data-dir", str(data_dir), "--sources", "1"]) == 0
    assert "already there" in capsys.readouterr().out
    instance = open_instance(load_settings(data_dir=data_dir))
    try:
        with instance.sessions() as db:
            assert db.scalar(select(func.count()).select_from(Source)) == 3
            assert db.scalar(select(func.count()).select_from(Reply)) == 6
    finally:
        instance.close()


def test_bad_source_count_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["dev-data", "--data-dir", str(tmp_path / "x"), "--sources", "-3"])
    assert exit_info.value.code == 2
    assert not (tmp_path / "x").exists()
