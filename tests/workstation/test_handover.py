"""Export: consent decides what leaves, the package is a valid bag others can check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.keys import make_key_pair
from tests.support.workstation import PHOTO_NAME, MakeBundle, Workstation, first_submission
from tests.workstation.bundles import Sent, canonical, consent_document
from tests.workstation.media import jpeg_with_gps
from workstation.cli import EXIT_VERIFICATION_FAILED

BAGIT_TOOL = Path(sys.executable).with_name("bagit.py")


def item_ids(workstation: Workstation) -> list[str]:
    code, out, _ = workstation.run("list", "--json")
    assert code == 0
    return [item["id"] for item in json.loads(out)]


def photo_id(workstation: Workstation) -> str:
    _code, out, _ = workstation.run("list", "--json")
    return str(next(item["id"] for item in json.loads(out) if item["name"] == PHOTO_NAME))


def prepare_case(workstation: Workstation, make_bundle: MakeBundle, consent: list[str]) -> str:
    workstation.run("import", str(make_bundle(first_submission(consent))))
    photo = photo_id(workstation)
    assert workstation.run("working-copy", photo)[0] == 0
    assert workstation.run("case", "create", "akrestsina-2020")[0] == 0
    assert workstation.run("case", "add", "akrestsina-2020", *item_ids(workstation))[0] == 0
    return photo


def export(workstation: Workstation, destination: str, out: Path,
           *extra: str) -> tuple[Path, str]:
    out.mkdir(exist_ok=True)
    code, stdout, err = workstation.run(
        "export", "--case", "akrestsina-2020", "--to", destination, "--out", str(out), *extra
    )
    assert code == 0, err
    [package] = list(out.iterdir())
    return package, stdout


def test_un_package_holds_the_item_and_validates_with_the_bagit_tool(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform", "un"])

    package, out = export(workstation, "un", tmp_path / "to-un")

    tool = subprocess.run([sys.executable, str(BAGIT_TOOL), "--validate", str(package)],
                          capture_output=True, text=True, check=False)
    assert tool.returncode == 0, tool.stderr
    assert "is valid" in tool.stderr
    original = package / "data" / "originals" / photo / PHOTO_NAME
    assert original.read_bytes() == jpeg_with_gps()
    [copy] = (package / "data" / "working-copies" / photo).glob("*/" + PHOTO_NAME)
    assert b"Minsk" not in copy.read_bytes()
    assert b"TestCam" not in copy.read_bytes()
    manifests = {p.name for p in package.glob("*manifest-*.txt")}
    assert {"manifest-sha256.txt", "manifest-sha512.txt",
            "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"} <= manifests
    statement = json.loads((package / "skrynka" / "statement.json").read_text())
    assert statement["destination"] == "un"
    assert {item["id"] for item in statement["items"]} >= {photo}
    assert statement["excluded"] == []
    receipts = list((package / "skrynka" / "items" / photo / "receipts").iterdir())
    assert json.loads(receipts[0].read_text())["sha256"] == photo
    intake = list((package / "skrynka" / "items" / photo / "intake").iterdir())
    assert json.loads(intake[0].read_text())["relation"] == "survivor"
    custody = (package / "skrynka" / "custody.jsonl").read_text().splitlines()
    actions = [json.loads(line)["action"] for line in custody
               if json.loads(line)["item"] == photo]
    # Putting the item into the case is an action by a person too, so it travels along, as does
    # the signed records of the file's embedded metadata and content credentials read at import.
    assert actions == ["import", "metadata", "perceptual-hash", "provenance", "copy", "case",
                       "export"]
    # No source identity leaves the workstation.
    assert "brave tortoise" not in (package / "skrynka").joinpath("statement.json").read_text()
    assert "included" in out


def test_court_package_leaves_out_what_consent_does_not_cover(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform", "un"])

    package, out = export(workstation, "court", tmp_path / "to-court")

    assert not (package / "data" / "originals").exists()
    assert [p.name for p in (package / "data").iterdir()] == ["README.txt"]
    statement = json.loads((package / "skrynka" / "statement.json").read_text())
    assert statement["items"] == []
    assert photo in {entry["id"] for entry in statement["excluded"]}
    assert "LEFT OUT" in out
    assert photo in out
    assert workstation.run("verify", str(package))[0] == 0


def test_a_later_consent_record_withdraws_the_court(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    prepare_case(workstation, make_bundle, ["platform", "un", "court"])
    withdrawal = canonical(consent_document(["platform"], "2026-12-24T09:00:00.000000Z"))
    workstation.run("import", str(make_bundle([Sent("consent", withdrawal)])))

    package, _ = export(workstation, "court", tmp_path / "to-court")

    statement = json.loads((package / "skrynka" / "statement.json").read_text())
    assert statement["items"] == []
    assert all("allows only: platform" in e["reason"] for e in statement["excluded"])


def test_verify_accepts_an_untouched_package_and_prints_the_key_fingerprint(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    prepare_case(workstation, make_bundle, ["platform", "un"])
    package, out = export(workstation, "un", tmp_path / "to-un")
    fingerprint = out.split("workstation key fingerprint: ")[1].split()[0]

    code, verified, err = workstation.run("verify", str(package))

    assert code == 0, err
    assert fingerprint in verified
    assert "statement signature good" in verified


def test_an_edited_bag_payload_is_caught_and_named(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform", "un"])
    package, _ = export(workstation, "un", tmp_path / "to-un")
    original = package / "data" / "originals" / photo / PHOTO_NAME
    data = bytearray(original.read_bytes())
    data[-3] ^= 0xFF
    original.write_bytes(bytes(data))

    code, _, err = workstation.run("verify", str(package))

    assert code == EXIT_VERIFICATION_FAILED
    assert "bag" in err
    assert f"data/originals/{photo}/{PHOTO_NAME}" in err


def test_a_payload_change_with_recomputed_bag_manifests_is_caught_by_the_statement(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform", "un"])
    package, _ = export(workstation, "un", tmp_path / "to-un")
    original = package / "data" / "originals" / photo / PHOTO_NAME
    original.write_bytes(b"a different picture")
    # Someone re-bags the edited payload so the bag alone looks valid.
    rebag = subprocess.run(
        [sys.executable, "-c",
         "import bagit,sys; b=bagit.Bag(sys.argv[1]); b.save(manifests=True)", str(package)],
        capture_output=True, text=True, check=False,
    )
    assert rebag.returncode == 0, rebag.stderr

    code, _, err = workstation.run("verify", str(package))

    assert code == EXIT_VERIFICATION_FAILED
    assert "statement vs payload" in err
    assert PHOTO_NAME in err


def test_an_edited_custody_extract_with_recomputed_bag_is_caught(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    prepare_case(workstation, make_bundle, ["platform", "un"])
    package, _ = export(workstation, "un", tmp_path / "to-un")
    extract = package / "skrynka" / "custody.jsonl"
    extract.write_text(extract.read_text().replace("officer-anna", "officer-boris"))
    subprocess.run(
        [sys.executable, "-c",
         "import bagit,sys; b=bagit.Bag(sys.argv[1]); b.save()", str(package)],
        check=True, capture_output=True,
    )

    code, _, err = workstation.run("verify", str(package))

    assert code == EXIT_VERIFICATION_FAILED
    assert "custody extract" in err


def test_export_to_a_recipient_key_writes_only_ciphertext(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path, short_dir: Path
) -> None:
    recipient = make_key_pair(short_dir / "recipient", "UN mechanism evidence unit")
    key_file = tmp_path / "recipient.asc"
    key_file.write_text(recipient.public_armored)
    prepare_case(workstation, make_bundle, ["platform", "un"])

    package, out = export(workstation, "un", tmp_path / "to-un", "--recipient", str(key_file))

    assert package.name.endswith(".tar.gpg")
    assert recipient.fingerprint in out
    decrypted = tmp_path / "package.tar"
    subprocess.run(["gpg", "--homedir", str(recipient.secret_home), "--batch", "--quiet",
                    "--output", str(decrypted), "--decrypt", str(package)],
                   check=True, capture_output=True)
    code, verified, err = workstation.run("verify", str(decrypted))
    assert code == 0, err
    assert "1 item(s)" not in verified  # message and photo both go
    assert "2 item(s)" in verified
    subprocess.run(["gpgconf", "--homedir", str(recipient.secret_home), "--kill", "gpg-agent"],
                   check=False)


def test_export_of_an_unknown_case_changes_nothing(
    workstation: Workstation, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    before = (workstation.store / "custody.log").read_bytes()

    code, _, err = workstation.run("export", "--case", "nope", "--to", "un", "--out", str(out))

    assert code != 0
    assert "case list" in err
    assert list(out.iterdir()) == []
    assert (workstation.store / "custody.log").read_bytes() == before


@pytest.fixture(autouse=True)
def _bagit_tool_is_installed() -> None:
    assert BAGIT_TOOL.exists() or shutil.which("bagit.py"), "pip install bagit"


def custody_lines(workstation: Workstation) -> list[bytes]:
    return (workstation.store / "custody.log").read_bytes().splitlines()


def test_the_export_entries_in_the_package_are_the_ones_logged_after_it(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    prepare_case(workstation, make_bundle, ["platform", "un"])
    before = custody_lines(workstation)

    package, _ = export(workstation, "un", tmp_path / "to-un")

    statement = json.loads((package / "skrynka" / "statement.json").read_text())
    added = custody_lines(workstation)[len(before):]
    assert [json.loads(line)["action"] for line in added] == ["export", "export"]
    assert all(json.loads(line)["details"]["package_id"] == statement["package_id"]
               for line in added)
    extract = (package / "skrynka" / "custody.jsonl").read_bytes().splitlines()
    assert extract[-2:] == added  # byte for byte: the package shows what the log now holds
    assert workstation.run("custody", "verify")[0] == 0


def _fail_mid_way(bag_dir: Path, tag_dir: Path, bag_info: dict[str, str]) -> str | None:
    (bag_dir / "data").mkdir()
    (bag_dir / "data" / "half-written").write_bytes(b"partial")
    raise OSError(28, "No space left on device")


def _fail_validation(bag_dir: Path, tag_dir: Path, bag_info: dict[str, str]) -> str | None:
    (bag_dir / "manifest-sha256.txt").write_text("0" * 64 + "  data/README.txt\n")
    return "Payload-Oxum validation failed"


@pytest.mark.parametrize("failure", [_fail_mid_way, _fail_validation],
                         ids=["disk-full-while-bagging", "bag-does-not-validate"])
@pytest.mark.parametrize("encrypted", [False, True], ids=["directory", "encrypted"])
def test_a_failed_bagging_leaves_no_package_and_no_export_entry(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path, short_dir: Path,
    monkeypatch: pytest.MonkeyPatch, failure: object, encrypted: bool,
) -> None:
    prepare_case(workstation, make_bundle, ["platform", "un"])
    out = tmp_path / "to-un"
    out.mkdir()
    extra: list[str] = []
    if encrypted:
        key_file = tmp_path / "recipient.asc"
        key_file.write_text(make_key_pair(short_dir / "recipient", "UN unit").public_armored)
        extra = ["--recipient", str(key_file)]
    before = custody_lines(workstation)
    monkeypatch.setattr("workstation.handover.build_bag", failure)

    code, _, err = workstation.run(
        "export", "--case", "akrestsina-2020", "--to", "un", "--out", str(out), *extra)

    assert code != 0
    assert "error:" in err
    assert list(out.iterdir()) == []  # not even the hidden .partial directory
    assert custody_lines(workstation) == before
    assert list((workstation.store / "tmp").iterdir()) == []
    assert workstation.run("custody", "verify")[0] == 0


def test_an_unusable_recipient_key_leaves_no_package_and_no_export_entry(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    prepare_case(workstation, make_bundle, ["platform", "un"])
    out = tmp_path / "to-un"
    out.mkdir()
    key_file = tmp_path / "recipient.asc"
    key_file.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n")
    before = custody_lines(workstation)

    code, _, err = workstation.run("export", "--case", "akrestsina-2020", "--to", "un",
                                   "--out", str(out), "--recipient", str(key_file))

    assert code != 0
    assert "recipient key cannot be used" in err
    assert list(out.iterdir()) == []
    assert custody_lines(workstation) == before


def test_a_custody_log_that_cannot_be_written_takes_the_finished_package_away(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prepare_case(workstation, make_bundle, ["platform", "un"])
    out = tmp_path / "to-un"
    out.mkdir()
    before = custody_lines(workstation)

    def log_is_full(self: object, entries: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("workstation.custody.CustodyLog.commit", log_is_full)
    code, _, err = workstation.run(
        "export", "--case", "akrestsina-2020", "--to", "un", "--out", str(out))

    assert code != 0
    assert "nothing was exported" in err
    assert list(out.iterdir()) == []  # a package the log does not record must not exist
    assert custody_lines(workstation) == before
