"""A bundle written by the server's own code imports: the contract holds from both sides."""

from __future__ import annotations

import base64
import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crypto.codename import generate_codename
from crypto.submission_key import export_secret_key
from tests.support.keys import KeyPair
from tests.workstation.media import jpeg_with_gps
from workstation.cli import main


def test_a_server_bundle_with_consent_and_a_later_change_imports(
    instance: Any, submission_keypair: KeyPair, tmp_path: Path, short_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sqlalchemy import select

    from core.bundle import write_bundle
    from core.models import Submission
    from core.sources import create_source
    from core.submissions import open_submission, store_consent_change
    from formats.consent import Consent, ConsentRecord, Destination

    login = create_source(instance, generate_codename())
    with open_submission(instance, login.source_id) as draft:
        draft.set_message(b"They took us to Akrestsina.")
        draft.add_file("IMG_2041.jpg", io.BytesIO(jpeg_with_gps()))
        draft.attach_answers(consent=ConsentRecord(
            Consent(frozenset({Destination.PLATFORM, Destination.UN})), datetime.now(UTC)))
        draft.commit()
    store_consent_change(instance, login.source_id, ConsentRecord(
        Consent(frozenset({Destination.PLATFORM})), datetime.now(UTC)))
    bundle = tmp_path / "server-bundle.zip"
    with instance.sessions() as db, bundle.open("wb") as handle:
        items = list(db.scalars(select(Submission)))
        write_bundle(db, instance, items, handle)

    secret = tmp_path / "secret.asc"
    secret.write_bytes(export_secret_key(submission_keypair.secret_home,
                                         submission_keypair.fingerprint))
    server_key = tmp_path / "server.pub"
    server_key.write_bytes(base64.b64encode(instance.signer.public_key))
    store = short_dir / "evidence"
    try:
        assert main(["init", "--store", str(store), "--secret-key", str(secret),
                     "--server-key", str(server_key)]) == 0
        code = main(["import", "--store", str(store), str(bundle)])
        out = capsys.readouterr().out
        assert code == 0, out
        assert out.count("imported   ") == 2
        assert out.count("consent    record") == 1
        assert main(["list", "--store", str(store), "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert "IMG_2041.jpg" in {i["name"] for i in listed}
        # The later consent record (platform only) withdraws the UN for both items.
        assert main(["case", "--store", str(store), "create", "c1"]) == 0
        assert main(["case", "--store", str(store), "add", "c1",
                     *[i["id"] for i in listed]]) == 0
        (tmp_path / "out").mkdir()
        assert main(["export", "--store", str(store), "--case", "c1", "--to", "un",
                     "--out", str(tmp_path / "out")]) == 0
        assert capsys.readouterr().out.count("LEFT OUT") == 2
    finally:
        subprocess.run(["gpgconf", "--homedir", str(store / "gnupg"), "--kill", "gpg-agent"],
                       check=False)
