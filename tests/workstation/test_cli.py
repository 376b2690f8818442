"""The command line: init, list, show, cases, delete, and clear errors that change nothing."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from crypto.signing import Signer
from tests.support.keys import KeyPair
from tests.support.workstation import (
    MESSAGE_TEXT,
    PHOTO_NAME,
    MakeBundle,
    Workstation,
    first_submission,
)
from workstation.cli import main


def test_init_lays_out_the_store_with_private_keys(
    short_dir: Path, secret_key_file: Path, server_key_file: Path, server_signer: Signer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = short_dir / "evidence"

    code = main(["init", "--store", str(store), "--secret-key", str(secret_key_file),
                 "--server-key", str(server_key_file),
                 "--server-fingerprint", server_signer.fingerprint])

    out = capsys.readouterr().out
    assert code == 0
    assert server_signer.fingerprint in out
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert stat.S_IMODE((store / "gnupg").stat().st_mode) == 0o700
    assert stat.S_IMODE((store / "workstation.key").stat().st_mode) == 0o600
    assert len((store / "workstation.key").read_bytes()) == 32
    assert (store / "pinned-server-key").read_bytes() == server_signer.public_key
    config = json.loads((store / "store.json").read_text())
    assert config["server_key_fingerprint"] == server_signer.fingerprint
    assert config["gnupg_mode"] == "store"
    subprocess.run(["gpgconf", "--homedir", str(store / "gnupg"), "--kill", "gpg-agent"],
                   check=False)


def test_init_refuses_a_key_whose_fingerprint_differs_and_leaves_nothing(
    tmp_path: Path, short_dir: Path, secret_key_file: Path, server_key_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = short_dir / "evidence"

    code = main(["init", "--store", str(store), "--secret-key", str(secret_key_file),
                 "--server-key", str(server_key_file), "--server-fingerprint", "ab" * 32])

    assert code == 6
    assert "do not pin it" in capsys.readouterr().err
    assert not store.exists()


def test_init_explains_that_a_fingerprint_alone_is_not_enough(
    tmp_path: Path, short_dir: Path, secret_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["init", "--store", str(short_dir / "s"), "--secret-key", str(secret_key_file),
                 "--server-key", "ab" * 32])

    assert code == 6
    assert "--server-fingerprint" in capsys.readouterr().err


def test_init_refuses_a_file_without_a_secret_key(
    tmp_path: Path, short_dir: Path, server_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_key = tmp_path / "public.asc"
    not_a_key.write_text("hello")
    store = short_dir / "evidence"

    code = main(["init", "--store", str(store), "--secret-key", str(not_a_key),
                 "--server-key", str(server_key_file)])

    assert code == 6
    assert "export-secret-keys" in capsys.readouterr().err
    assert not store.exists()


def test_init_refuses_an_existing_store(workstation: Workstation, secret_key_file: Path,
                                        server_key_file: Path) -> None:
    before = (workstation.store / "store.json").read_bytes()

    code = main(["init", "--store", str(workstation.store), "--secret-key",
                 str(secret_key_file), "--server-key", str(server_key_file)])

    assert code == 6
    assert "already holds an evidence store" in workstation.capsys.readouterr().err
    assert (workstation.store / "store.json").read_bytes() == before


def test_commands_without_a_store_say_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["list", "--store", str(tmp_path / "nowhere")])

    assert code == 6
    assert "skrynka-workstation init" in capsys.readouterr().err


def test_import_reports_the_metadata_hash_and_search_steps_of_the_service(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    code, out, err = workstation.run("import",
                                     str(make_bundle(first_submission(["platform"]))))

    assert code == 0, err
    photo = next(i["id"] for i in json.loads(workstation.run("list", "--json")[1])
                 if i["kind"] == "file")
    assert f"  metadata   {photo[:16]} read with exiftool in the sandbox" in out
    assert f"  pdq        {photo[:16]} quality " in out
    assert "затрымалі" in workstation.run("search", "затрымалі")[1]


def test_list_and_show_present_message_intake_consent_and_metadata(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    workstation.run("import", str(make_bundle(first_submission(["platform", "un"]))))
    code, out, _ = workstation.run("list")
    assert code == 0
    assert PHOTO_NAME in out
    assert "message" in out
    items = json.loads(workstation.run("list", "--json")[1])
    message = next(i for i in items if i["kind"] == "message")
    photo = next(i for i in items if i["kind"] == "file")

    _, shown_message, _ = workstation.run("show", message["id"])
    _, shown_photo, _ = workstation.run("show", photo["id"])

    assert MESSAGE_TEXT.decode() in shown_message
    assert "survivor" in shown_message  # intake answers
    assert "platform, un" in shown_message  # consent
    assert "GPSLatitude: 53 deg 54' 0.00\" N" in shown_photo
    assert "Make: TestCam Z9" in shown_photo
    assert "import" in shown_photo  # custody history


def test_show_json_carries_the_receipt(workstation: Workstation, make_bundle: MakeBundle) -> None:
    workstation.run("import", str(make_bundle(first_submission(["platform"]))))
    photo = next(i for i in json.loads(workstation.run("list", "--json")[1])
                 if i["kind"] == "file")

    code, out, _ = workstation.run("show", photo["id"], "--json")

    shown = json.loads(out)
    assert code == 0
    assert shown["submissions"][0]["receipt"]["original_name"] == PHOTO_NAME
    assert shown["metadata"]["fields"]["Make"] == "TestCam Z9"


def test_cases_group_items(workstation: Workstation, make_bundle: MakeBundle) -> None:
    workstation.run("import", str(make_bundle(first_submission(["platform"]))))
    ids = [i["id"] for i in json.loads(workstation.run("list", "--json")[1])]

    assert workstation.run("case", "create", "okrestina-2020-08")[0] == 0
    assert workstation.run("case", "add", "okrestina-2020-08", *[i[:10] for i in ids])[0] == 0
    code, out, _ = workstation.run("case", "list")

    assert code == 0
    assert "okrestina-2020-08" in out
    assert "2 item(s)" in out
    cases = json.loads((workstation.store / "cases.json").read_text())
    assert sorted(cases["cases"]["okrestina-2020-08"]["items"]) == sorted(ids)
    # Cases hold item ids only: nothing about sources.
    assert "tortoise" not in (workstation.store / "cases.json").read_text()


@pytest.mark.parametrize("name", ["../x", "", "a b", "-rf"])
def test_bad_case_names_are_refused(workstation: Workstation, name: str) -> None:
    code, _, err = workstation.run("case", "create", "--", name) if name.startswith("-") \
        else workstation.run("case", "create", name)

    assert code == 5
    assert "not a usable case name" in err
    assert not (workstation.store / "cases.json").exists()


def test_adding_to_an_unknown_case_changes_nothing(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    workstation.run("import", str(make_bundle(first_submission(["platform"]))))
    item = json.loads(workstation.run("list", "--json")[1])[0]["id"]

    code, _, err = workstation.run("case", "add", "nope", item)

    assert code == 5
    assert "case create nope" in err


def test_delete_needs_confirmation_and_is_logged(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    workstation.run("import", str(make_bundle(first_submission(["platform"]))))
    item = json.loads(workstation.run("list", "--json")[1])[0]["id"]

    refused = workstation.run("delete", item, "--reason", "source asked")
    assert refused[0] == 1
    assert (workstation.store / "originals" / item).exists()

    code, _, _ = workstation.run("delete", item, "--reason", "source asked", "--yes")

    assert code == 0
    assert not (workstation.store / "originals" / item).exists()
    last = json.loads((workstation.store / "custody.log").read_text().splitlines()[-1])
    assert (last["action"], last["item"], last["details"]) == (
        "delete", item, {"reason": "source asked"})
    assert workstation.run("custody", "verify")[0] == 0


def test_smartcard_mode_decrypts_through_the_users_own_gpg(
    tmp_path: Path, short_dir: Path, server_key_file: Path, submission_keypair: KeyPair,
    make_bundle: MakeBundle, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The user's gpg home stands in for one that knows an OpenPGP card holding the key.
    monkeypatch.setenv("GNUPGHOME", str(submission_keypair.secret_home))
    store = short_dir / "evidence"

    code = main(["init", "--store", str(store), "--smartcard",
                 "--server-key", str(server_key_file)])

    assert code == 0, capsys.readouterr().err
    assert list((store / "gnupg").iterdir()) == []
    assert json.loads((store / "store.json").read_text())["gnupg_mode"] == "user"
    bundle = make_bundle(first_submission(["platform"]))
    assert main(["import", "--store", str(store), str(bundle)]) == 0
    assert "imported" in capsys.readouterr().out


def test_init_refuses_a_store_path_too_long_for_the_gpg_agent_socket(
    short_dir: Path, secret_key_file: Path, server_key_file: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without /run/user/UID (as on this machine) gpg puts its sockets in the home itself.
    monkeypatch.setattr("workstation.keyring._RUN_USER", short_dir / "no-run-user")
    store = short_dir / ("very-long-directory-name-" * 4) / "evidence"

    code = main(["init", "--store", str(store), "--secret-key", str(secret_key_file),
                 "--server-key", str(server_key_file)])

    assert code == 6
    assert "too long for gpg-agent's socket" in capsys.readouterr().err
    assert not store.exists()
