"""Incidents in handover packages: only for items the consent lets go, naming nothing else, and
signed by the custody entries the package carries."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.incident_story import import_two_sources, incident_id_from
from workstation.custody import canonical_bytes


def export(workstation: Workstation, destination: str, out: Path) -> Path:
    out.mkdir()
    code, _out, err = workstation.run("export", "--case", "yard", "--to", destination,
                                      "--out", str(out))
    assert code == 0, err
    [package] = list(out.iterdir())
    return package


def prepare(workstation: Workstation, make_bundle: MakeBundle) -> tuple[str, str, str, str]:
    """The tortoise's photo may go to the UN; the heron's message stays on the platform. Both
    are in one case and one incident; a second incident holds only the message."""
    photo, message = import_two_sources(workstation, make_bundle, ["platform", "un"],
                                        ["platform"])
    assert workstation.run("case", "create", "yard")[0] == 0
    assert workstation.run("case", "add", "yard", photo, message)[0] == 0
    code, out, err = workstation.run("incident", "create", "--title", "Night in the yard",
                                     "--date", "2020-08-10", "--violation", "torture_or_ill_"
                                     "treatment", photo, message, actor="officer-anna")
    assert code == 0, err
    night = incident_id_from(out)
    code, out, err = workstation.run("incident", "create", "--title", "Heron's brother taken",
                                     "--violation", "enforced_disappearance", message)
    assert code == 0, err
    brother = incident_id_from(out)
    code, _, err = workstation.run("incident", "edit", night, "--place", "Akrestsina, Minsk",
                                   actor="officer-boris")
    assert code == 0, err
    return photo, message, night, brother


def test_the_un_package_carries_incidents_of_consented_items_only(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    photo, message, night, brother = prepare(workstation, make_bundle)

    package = export(workstation, "un", tmp_path / "to-un")

    tags = package / "skrynka"
    assert sorted(p.name for p in (tags / "incidents").iterdir()) == [f"{night}.json"]
    record = json.loads((tags / "incidents" / f"{night}.json").read_text())
    assert record["format"] == "skrynka-incident"
    assert record["title"] == "Night in the yard"
    assert record["place"]["text"] == "Akrestsina, Minsk"
    assert record["violations"] == ["torture_or_ill_treatment"]
    assert [item["id"] for item in record["items"]] == [photo]
    # The message the heron did not let go is named only where the statement lists what was
    # left out; no incident or custody entry gives it (or its own incident) away.
    statement = json.loads((tags / "statement.json").read_text())
    assert [e["id"] for e in statement["excluded"]] == [message]
    for path in package.rglob("*"):
        if path.is_file() and path.name != "statement.json":
            assert message.encode() not in path.read_bytes(), path
            assert brother.encode() not in path.read_bytes(), path
    # The incident's own entries (created, edited) and the photo's link are signed entries of
    # the custody extract; the file names them by hash.
    extract = [json.loads(line) for line in (tags / "custody.jsonl").read_text().splitlines()]
    incident_entries = [e for e in extract if e["action"] == "incident"]
    assert [(e["details"]["change"], e["item"], e["actor"]) for e in incident_entries] == [
        ("created", None, "officer-anna"), ("linked", photo, "officer-anna"),
        ("edited", None, "officer-boris")]
    assert [(s["change"], s["hash"]) for s in record["entries"]] == [
        ("created", incident_entries[0]["hash"]), ("edited", incident_entries[2]["hash"])]
    log = (workstation.store / "custody.log").read_bytes()
    assert all(canonical_bytes(e) + b"\n" in log for e in incident_entries)
    code, _out, err = workstation.run("verify", str(package))
    assert code == 0, err


def test_a_package_without_consented_items_carries_no_incident(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    prepare(workstation, make_bundle)

    package = export(workstation, "court", tmp_path / "to-court")

    assert not (package / "skrynka" / "incidents").exists()
    extract = (package / "skrynka" / "custody.jsonl").read_text()
    assert '"action":"incident"' not in extract
    assert workstation.run("verify", str(package))[0] == 0
