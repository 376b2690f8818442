"""Store and custody log compared: an original without its import entry is found, checked and
recorded late; one whose bytes no longer match is reported, not recorded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.workstation import MakeBundle, Workstation, first_submission
from workstation.cli import EXIT_VERIFICATION_FAILED
from workstation.custody import CustodyLog, Entry


def custody_entries(store: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (store / "custody.log").read_text().splitlines()]


def import_without_entries(workstation: Workstation, bundle: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """What an import interrupted between placing items and logging them used to leave."""
    original = CustodyLog.commit

    def commit_all_but_imports(self: CustodyLog, entries: list[Entry]) -> None:
        if not any(entry["action"] == "import" for entry in entries):
            original(self, entries)

    with monkeypatch.context() as patch:
        patch.setattr(CustodyLog, "commit", commit_all_but_imports)
        assert workstation.run("import", str(bundle))[0] == 0
    assert not [e for e in custody_entries(workstation.store) if e["action"] == "import"]


def test_an_original_without_an_import_entry_is_reported_then_recorded_late(
    workstation: Workstation, make_bundle: MakeBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_without_entries(workstation, make_bundle(first_submission(["platform"])), monkeypatch)

    code, _out, err = workstation.run("custody", "verify")

    assert code == EXIT_VERIFICATION_FAILED
    assert err.count("unrecorded:") == 2
    code, out, _ = workstation.run("custody", "repair")
    assert code == 0
    assert out.count("recorded late") == 2
    late = [e for e in custody_entries(workstation.store) if e["action"] == "import"]
    assert sorted(str(e["item"]) for e in late) == sorted(
        p.name for p in (workstation.store / "originals").iterdir())
    assert all("recorded_late" in e["details"] for e in late)  # type: ignore[operator]
    assert workstation.run("custody", "verify")[0] == 0
    assert workstation.run("custody", "repair")[1].startswith("nothing to repair")


def test_an_unrecorded_original_whose_bytes_changed_is_not_recorded(
    workstation: Workstation, make_bundle: MakeBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_without_entries(workstation, make_bundle(first_submission(["platform"])), monkeypatch)
    content = next((workstation.store / "originals").iterdir()) / "content"
    os.chmod(content, 0o644)
    content.write_bytes(content.read_bytes() + b"x")

    code, out, _ = workstation.run("custody", "repair")

    assert code == EXIT_VERIFICATION_FAILED
    assert "NOT REPAIRED unrecorded" in out
    assert "does not match its name" in out
    recorded = [e["item"] for e in custody_entries(workstation.store) if e["action"] == "import"]
    assert recorded == [p.name for p in (workstation.store / "originals").iterdir()
                        if p != content.parent]


def test_a_deleted_item_is_not_a_gap(workstation: Workstation, make_bundle: MakeBundle) -> None:
    workstation.run("import", str(make_bundle(first_submission(["platform"]))))
    item = next((workstation.store / "originals").iterdir()).name

    assert workstation.run("delete", item, "--reason", "source asked", "--yes")[0] == 0

    code, out, err = workstation.run("custody", "verify")
    assert code == 0, err
    assert "every item in the store has its import entry" in out
