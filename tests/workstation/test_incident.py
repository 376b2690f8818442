"""Incidents: items from different sources linked as one event, each change a signed custody
entry naming who made it, proposals from intake answers and metadata that record nothing until
a person confirms them, clear refusals that change nothing, and a timeline in date order."""

from __future__ import annotations

import json
import shlex

import pytest

from formats.intake import Violation
from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.bundles import Sent
from tests.workstation.incident_story import (
    import_two_sources,
    incident_id_from,
    item_named,
    log_bytes,
    log_entries,
)
from tests.workstation.media import jpeg_with_gps
from workstation.cli import EXIT_ERROR, EXIT_NOT_FOUND, EXIT_VERIFICATION_FAILED
from workstation.incident import VIOLATION_TYPES


def create(workstation: Workstation, *args: str, actor: str = "officer-anna") -> str:
    code, out, err = workstation.run("incident", "create", *args, actor=actor)
    assert code == 0, err
    return incident_id_from(out)


def show(workstation: Workstation, incident: str) -> dict[str, object]:
    code, out, err = workstation.run("incident", "show", incident, "--json")
    assert code == 0, err
    shown: dict[str, object] = json.loads(out)
    return shown


def test_the_vocabulary_holds_every_answer_of_the_intake_form_as_it_is_spelled() -> None:
    assert {v.value for v in Violation} <= set(VIOLATION_TYPES)
    assert VIOLATION_TYPES[-1] == "other"
    assert {"unfair_trial", "persecution_for_expression_or_assembly",
            "property_seizure"} <= set(VIOLATION_TYPES)


def test_items_from_two_sources_become_one_incident_signed_by_who_linked_them(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo, message = import_two_sources(workstation, make_bundle)

    incident = create(workstation, "--title", "Akrestsina yard, night of 10 August",
                      "--date", "2020-08-10", "--place", "Akrestsina, Minsk",
                      "--lat", "53.9", "--lon", "27.55",
                      "--violation", "torture_or_ill_treatment",
                      "--violation", "arbitrary_detention", "--notes", "two accounts agree",
                      photo, message[:10])

    shown = show(workstation, incident[:8])
    assert shown["title"] == "Akrestsina yard, night of 10 August"
    assert shown["date"] == {"from": "2020-08-10", "to": None, "precision": "day"}
    assert shown["place"] == {"text": "Akrestsina, Minsk", "latitude": 53.9, "longitude": 27.55}
    # Kept in the vocabulary's order, whatever order they were given in.
    assert shown["violations"] == ["arbitrary_detention", "torture_or_ill_treatment"]
    items = {i["id"]: i for i in shown["items"]}  # type: ignore[attr-defined]
    assert set(items) == {photo, message}
    assert items[photo]["sources"] == ["brave tortoise"]
    assert items[message]["sources"] == ["quiet heron"]
    assert items[photo]["capture_time"] == "2020-08-10 21:40:00"
    entries = [e for e in log_entries(workstation) if e["action"] == "incident"]
    assert [(e["details"]["change"], e["item"], e["actor"]) for e in entries] == [
        ("created", None, "officer-anna"), ("linked", photo, "officer-anna"),
        ("linked", message, "officer-anna")]
    assert entries[0]["details"]["fields"]["notes"] == "two accounts agree"
    assert workstation.run("custody", "verify")[0] == 0


def test_editing_linking_and_unlinking_are_each_signed_and_the_history_says_who(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo, message = import_two_sources(workstation, make_bundle)
    incident = create(workstation, "--title", "Yard", "--date", "2020-08", photo)

    code, out, err = workstation.run("incident", "edit", incident, "--place", "Akrestsina",
                                     "--to", "2020-09", actor="officer-boris")
    assert code == 0, err
    assert "changed" in out
    assert workstation.run("incident", "link", incident, message, actor="officer-boris")[0] == 0
    code, _out, err = workstation.run("incident", "unlink", incident, photo,
                                      "--reason", "photo shows another yard",
                                      actor="officer-chen")
    assert code == 0, err

    shown = show(workstation, incident)
    assert shown["title"] == "Yard"
    assert shown["date"] == {"from": "2020-08", "to": "2020-09", "precision": "month"}
    assert shown["place"]["text"] == "Akrestsina"  # type: ignore[index]
    assert [i["id"] for i in shown["items"]] == [message]  # type: ignore[attr-defined]
    history = [(h["change"], h["actor"]) for h in shown["history"]]  # type: ignore[attr-defined]
    assert history == [("created", "officer-anna"), ("linked", "officer-anna"),
                       ("edited", "officer-boris"), ("linked", "officer-boris"),
                       ("unlinked", "officer-chen")]
    edited = shown["history"][2]  # type: ignore[index]
    assert edited["changed"] == ["date", "place"]
    assert shown["history"][4]["reason"] == "photo shows another yard"  # type: ignore[index]
    # The same values again change nothing and sign nothing.
    before = log_bytes(workstation)
    code, out, _ = workstation.run("incident", "edit", incident, "--title", "Yard")
    assert code == 0
    assert "unchanged" in out
    assert log_bytes(workstation) == before


def test_propose_reads_intake_answers_and_metadata_and_records_nothing(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo, message = import_two_sources(workstation, make_bundle)
    before = log_bytes(workstation)

    code, out, err = workstation.run("incident", "propose", photo, message)

    assert code == 0, err
    assert log_bytes(workstation) == before
    # The day comes from the photo's EXIF capture time, the position from its GPS, the place
    # and violation types from both sources' answers (in the vocabulary's order).
    assert "date       2020-08-10\n" in out
    assert "place      Akrestsina, Minsk; Akrestsina yard" in out
    assert "position   53.900000, 27.550000" in out
    assert ("violations arbitrary_detention, torture_or_ill_treatment, enforced_disappearance"
            in out)
    assert "why: date: capture time in the embedded metadata of yard-night.jpg" in out
    command = out.split("(edit as needed):\n", 1)[1].strip()
    words = shlex.split(command)
    assert words[:3] == ["skrynka-workstation", "incident", "create"]
    assert words[-2:] == [photo, message]

    # The officer confirms by running the proposed command; only now is anything recorded.
    incident = create(workstation, *words[3:])
    shown = show(workstation, incident)
    assert shown["date"] == {"from": "2020-08-10", "to": None, "precision": "day"}
    assert shown["place"] == {"text": "Akrestsina, Minsk; Akrestsina yard",
                              "latitude": 53.9, "longitude": 27.55}
    assert shown["violations"] == ["arbitrary_detention", "torture_or_ill_treatment",
                                   "enforced_disappearance"]
    assert len(shown["items"]) == 2  # type: ignore[arg-type]


def test_without_metadata_the_sources_month_is_proposed(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    _photo, message = import_two_sources(workstation, make_bundle)

    code, out, err = workstation.run("incident", "propose", message)

    assert code == 0, err
    assert "date       2020-08\n" in out
    assert "why: date: the month the sources named in their intake answers" in out
    assert "position   -" in out
    assert "violations arbitrary_detention, enforced_disappearance" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--title", "Yard", "--date", "2020-08-12", "--to", "2020-08-10"],
     "the date range ends (2020-08-10) before it starts (2020-08-12)"),
    (["--title", "Yard", "--violation", "genocide"],
     "unknown violation type 'genocide'; use one of: arbitrary_detention"),
    (["--title", "Yard", "--date", "2020-08", "--to", "2020-08-31"],
     "give both as days or both as months"),
    (["--title", "Yard", "--date", "2020-02-30"], "'2020-02-30' is not a day of the calendar"),
    (["--title", "Yard", "--date", "9 August"], "is neither a day (2020-08-09) nor a month"),
    (["--title", "Yard", "--date", "٢٠٢٠-٠٨"], "is neither a day (2020-08-09) nor a month"),
    (["--title", "Yard", "--date", "2099-01"], "2099-01 is outside 1990 to today"),
    (["--title", "Yard", "--lat", "53.9"], "give both latitude and longitude, or neither"),
    (["--title", "Yard", "--lat", "95", "--lon", "27"], "latitude 95 is outside -90 to 90"),
    (["--title", "   "], "an incident needs a title"),
    (["--title", "Yard\nsecond line"], "the title must be one line"),
    (["--title", "Yard\u202e"], "control or direction-changing characters in the title"),
    (["--title", "Yard", "--notes", "x" * 20_001], "more than 20000 characters in the notes"),
])
def test_invalid_fields_are_refused_clearly_and_change_nothing(
    workstation: Workstation, make_bundle: MakeBundle, args: list[str], message: str
) -> None:
    photo, _message = import_two_sources(workstation, make_bundle)
    before = log_bytes(workstation)

    code, _out, err = workstation.run("incident", "create", *args, photo)

    assert code == EXIT_ERROR
    assert message in err
    assert "the incident was not recorded" in err
    assert "Traceback" not in err
    assert log_bytes(workstation) == before


def test_an_unknown_item_or_incident_is_refused_and_changes_nothing(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo, _message = import_two_sources(workstation, make_bundle)
    incident = create(workstation, "--title", "Yard", photo)
    before = log_bytes(workstation)

    code, _out, err = workstation.run("incident", "create", "--title", "Other", photo,
                                      "abcdef0123")
    assert code == EXIT_NOT_FOUND
    assert "no item matches 'abcdef0123'" in err
    code, _out, err = workstation.run("incident", "link", incident, "ffffff99")
    assert code == EXIT_NOT_FOUND
    assert "no item matches" in err
    code, _out, err = workstation.run("incident", "link", "0000000000", photo)
    assert code == EXIT_NOT_FOUND
    assert "no incident matches '0000000000'" in err
    code, _out, err = workstation.run("incident", "link", incident, photo)
    assert code == EXIT_ERROR
    assert "already in the incident 'Yard'" in err
    code, _out, err = workstation.run("incident", "unlink", incident, photo, "--reason", " ")
    assert code == EXIT_ERROR
    assert "say why the item is taken out" in err
    assert log_bytes(workstation) == before


def test_the_timeline_orders_incidents_by_date_with_undated_ones_last(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo, message = import_two_sources(workstation, make_bundle)
    create(workstation, "--title", "Trial of the yard witnesses", "--date", "2021-03-02",
           "--violation", "unfair_trial", message)
    create(workstation, "--title", "Leaflets seized", "--violation", "property_seizure")
    create(workstation, "--title", "Night in the yard", "--date", "2020-08-10", photo, message)
    create(workstation, "--title", "August detentions", "--date", "2020-08", "--to", "2020-09")

    code, out, err = workstation.run("timeline")
    assert code == 0, err
    headings = [line for line in out.splitlines() if not line.startswith(" ")]
    assert [line.split("  ")[1] for line in headings] == [
        "August detentions", "Night in the yard", "Trial of the yard witnesses",
        "Leaflets seized"]
    assert headings[0].startswith("2020-08 – 2020-09")
    assert headings[-1].startswith("(undated)")
    night = out.split("Night in the yard", 1)[1].split("Trial of", 1)[0]
    # Each item with its kind, capture time and source; captured items first.
    photo_line, message_line = [line for line in night.splitlines() if line.startswith("  ")
                                and ("file" in line or "message" in line)]
    assert photo_line.startswith(f"  {photo[:16]}  file")
    assert "captured 2020-08-10 21:40:00" in photo_line
    assert "from brave tortoise" in photo_line
    assert message_line.startswith(f"  {message[:16]}  message")
    assert "from quiet heron" in message_line
    code, out, _ = workstation.run("timeline", "--json")
    assert [entry["title"] for entry in json.loads(out)][1] == "Night in the yard"


def test_names_sent_by_a_source_cannot_steer_the_terminal(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    hostile = "yard\x1b]0;owned\x07\u202egpj.jpg"
    bundle = make_bundle([Sent("file", jpeg_with_gps(), name=hostile)])
    assert workstation.run("import", str(bundle))[0] == 0
    create(workstation, "--title", "Yard", item_named(workstation, hostile))

    _code, out, _ = workstation.run("timeline")

    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "yard\\x1b]0;owned\\x07\\u202egpj.jpg" in out


def test_custody_verify_catches_an_edited_incident_entry(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo, message = import_two_sources(workstation, make_bundle)
    create(workstation, "--title", "Night in the yard", "--date", "2020-08-10", photo, message)
    log = workstation.store / "custody.log"
    original = log.read_text()
    lines = original.splitlines()
    for old, new in (("Night in the yard", "Nothing happened"), ("2020-08-10", "2020-08-11"),
                     ('"linked"', '"unlinked"')):
        index = next(i for i, line in enumerate(lines)
                     if json.loads(line)["action"] == "incident" and old in line)
        changed = list(lines)
        changed[index] = changed[index].replace(old, new)
        log.write_text("\n".join(changed) + "\n")

        code, _out, err = workstation.run("custody", "verify")

        assert code == EXIT_VERIFICATION_FAILED
        assert f"custody log broken at entry {index + 1}" in err
        log.write_text(original)
    assert workstation.run("custody", "verify")[0] == 0
