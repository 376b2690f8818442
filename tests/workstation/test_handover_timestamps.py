"""Handover packages carry each submission's trusted timestamp, and a recipient checks it with
exactly the openssl and shell commands docs/handover-format.md gives, run here as written."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from crypto.signing import Signer
from tests.support.tsa import TimestampAuthority, make_test_ca
from tests.support.workstation import PHOTO_NAME, MakeBundle, Workstation, first_submission
from tests.workstation.bundles import stamp_bundle

DOC = Path(__file__).resolve().parents[2] / "docs" / "handover-format.md"


def recipient_commands() -> str:
    """The shell block after the `recipient-timestamp-check` marker, byte for byte."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- recipient-timestamp-check -->\n```sh\n(.*?)```", text, re.S)
    assert found is not None, "docs/handover-format.md lost its recipient commands"
    return found.group(1)


def run_as_recipient(package: Path, item: str, submission: str, tsa_root: Path
                     ) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PKG": str(package), "ITEM": item, "SUB": submission,
           "TSA_ROOT": str(tsa_root)}
    return subprocess.run(["sh", "-c", recipient_commands()], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def export_stamped(workstation: Workstation, make_bundle: MakeBundle, server_signer: Signer,
                   tsa: TimestampAuthority, tmp_path: Path) -> tuple[Path, str, str]:
    assert workstation.run("tsa", "trust", str(tsa.ca.root_pem))[0] == 0
    bundle = tmp_path / "stamped.zip"
    stamp_bundle(make_bundle(first_submission(["un"])), bundle, server_signer, tsa.url,
                 tmp_path / "w")
    assert workstation.run("import", str(bundle))[0] == 0
    items = json.loads(workstation.run("list", "--json")[1])
    photo = next(item["id"] for item in items if item["name"] == PHOTO_NAME)
    assert workstation.run("case", "create", "akrestsina-2020")[0] == 0
    assert workstation.run("case", "add", "akrestsina-2020", photo)[0] == 0
    (tmp_path / "out").mkdir()
    code, _out, err = workstation.run("export", "--case", "akrestsina-2020", "--to", "un",
                                      "--out", str(tmp_path / "out"))
    assert code == 0, err
    [package] = list((tmp_path / "out").iterdir())
    [submission] = (package / "skrynka" / "items" / photo / "timestamps").iterdir()
    return package, photo, submission.name


def test_a_recipient_checks_the_token_and_path_with_the_documented_commands(
    workstation: Workstation, make_bundle: MakeBundle, server_signer: Signer,
    tsa: TimestampAuthority, tmp_path: Path,
) -> None:
    package, photo, submission = export_stamped(workstation, make_bundle, server_signer, tsa,
                                                tmp_path)
    statement = json.loads((package / "skrynka" / "statement.json").read_text())
    [stamp] = next(i for i in statement["items"] if i["id"] == photo)["timestamps"]
    assert stamp["verdict"] == "verified"
    assert stamp["submission_uuid"] == submission
    [root] = (package / "skrynka" / "tsa-roots").iterdir()
    assert workstation.run("verify", str(package))[0] == 0
    result = run_as_recipient(package, photo, submission, root)
    assert result.returncode == 0, result.stderr
    assert "Verification: OK" in result.stdout
    assert "Time stamp:" in result.stdout
    assert "receipt.gpg is in the stamped tree" in result.stdout


def test_the_documented_commands_catch_a_changed_receipt_and_a_foreign_root(
    workstation: Workstation, make_bundle: MakeBundle, server_signer: Signer,
    tsa: TimestampAuthority, tmp_path: Path,
) -> None:
    package, photo, submission = export_stamped(workstation, make_bundle, server_signer, tsa,
                                                tmp_path)
    stranger = make_test_ca(tmp_path / "stranger", label="Stranger")
    foreign = run_as_recipient(package, photo, submission, stranger.root_pem)
    assert "Verification: OK" not in foreign.stdout
    assert "Verification: FAILED" in foreign.stdout + foreign.stderr
    receipt = package / "skrynka" / "items" / photo / "timestamps" / submission / "receipt.gpg"
    receipt.chmod(0o644)
    receipt.write_bytes(receipt.read_bytes() + b"\x00")
    [root] = (package / "skrynka" / "tsa-roots").iterdir()
    changed = run_as_recipient(package, photo, submission, root)
    assert "Verification: OK" in changed.stdout
    assert "receipt.gpg is in the stamped tree" not in changed.stdout
