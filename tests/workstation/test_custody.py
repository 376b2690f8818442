"""The custody log: every handling is a signed, hash-chained entry, and tampering is named."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from crypto.signing import Signer, generate_signing_seed
from tests.support.workstation import MakeBundle, Workstation, first_submission
from workstation.custody import CustodyLog, signed_part, verify_custody
from workstation.errors import CustodyBroken


@pytest.fixture
def log(tmp_path: Path) -> tuple[CustodyLog, Signer]:
    signer = Signer(generate_signing_seed())
    path = tmp_path / "custody.log"
    path.touch()
    return CustodyLog(path, tmp_path / "custody.head", signer), signer


def fill(custody: CustodyLog, count: int) -> None:
    for n in range(count):
        custody.append("anna", "view", f"{n:064x}", f"{n:064x}")


def rewrite(path: Path, seq: int, change: dict[str, object]) -> None:
    lines = path.read_text().splitlines()
    entry = json.loads(lines[seq - 1])
    entry.update(change)
    lines[seq - 1] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")


def test_entries_chain_and_verify(log: tuple[CustodyLog, Signer]) -> None:
    custody, signer = log
    fill(custody, 3)

    entries = custody.entries()

    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[1]["prev"] == entries[0]["hash"]
    assert verify_custody(custody.log_path, custody.head_path, signer.public_key) == 3


def test_an_edited_entry_is_named(log: tuple[CustodyLog, Signer]) -> None:
    custody, signer = log
    fill(custody, 4)
    rewrite(custody.log_path, 2, {"actor": "boris"})

    with pytest.raises(CustodyBroken) as caught:
        verify_custody(custody.log_path, custody.head_path, signer.public_key)

    assert caught.value.seq == 2
    assert "edited" in str(caught.value)


def test_an_entry_rehashed_after_editing_fails_its_signature(
    log: tuple[CustodyLog, Signer],
) -> None:
    custody, signer = log
    fill(custody, 3)
    entry = custody.entries()[2]
    entry["action"] = "delete"

    rewrite(custody.log_path, 3, {"action": "delete",
                                  "hash": hashlib.sha256(signed_part(entry)).hexdigest()})

    with pytest.raises(CustodyBroken) as caught:
        verify_custody(custody.log_path, custody.head_path, signer.public_key)

    assert caught.value.seq == 3
    assert "signature" in str(caught.value)


def test_a_removed_entry_is_named(log: tuple[CustodyLog, Signer]) -> None:
    custody, signer = log
    fill(custody, 4)
    lines = custody.log_path.read_text().splitlines()
    custody.log_path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")

    with pytest.raises(CustodyBroken) as caught:
        verify_custody(custody.log_path, custody.head_path, signer.public_key)

    assert caught.value.seq == 2


def test_a_log_cut_short_at_the_end_is_caught_by_the_signed_head(
    log: tuple[CustodyLog, Signer],
) -> None:
    custody, signer = log
    fill(custody, 4)
    lines = custody.log_path.read_text().splitlines()
    custody.log_path.write_text("\n".join(lines[:3]) + "\n")

    with pytest.raises(CustodyBroken) as caught:
        verify_custody(custody.log_path, custody.head_path, signer.public_key)

    assert caught.value.seq == 4
    assert "signed head" in str(caught.value)


def test_a_log_signed_by_another_key_does_not_verify(log: tuple[CustodyLog, Signer]) -> None:
    custody, _ = log
    fill(custody, 1)

    with pytest.raises(CustodyBroken) as caught:
        verify_custody(custody.log_path, custody.head_path,
                       Signer(generate_signing_seed()).public_key)

    assert caught.value.seq == 1


def test_custody_verify_command_names_the_first_broken_entry(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    workstation.run("import", str(make_bundle(first_submission(["platform"]))))
    code, out, _ = workstation.run("custody", "verify")
    assert code == 0
    # Two imports, then the photo's signed metadata record, perceptual hash and provenance.
    assert "5 entries" in out
    rewrite(workstation.store / "custody.log", 1, {"actor": "someone-else"})

    code, _, err = workstation.run("custody", "verify")

    assert code == 4
    assert "custody log broken at entry 1" in err


def test_show_is_logged_as_a_view(workstation: Workstation, make_bundle: MakeBundle) -> None:
    workstation.run("import", str(make_bundle(first_submission(["platform"]))))
    item = json.loads(workstation.run("list", "--json")[1])[0]["id"]

    workstation.run("show", item[:10], actor="officer-boris")

    last = custody_entries(workstation.store)[-1]
    assert last["action"] == "view"
    assert last["actor"] == "officer-boris"
    assert last["item"] == item


def custody_entries(store: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (store / "custody.log").read_text().splitlines()]
