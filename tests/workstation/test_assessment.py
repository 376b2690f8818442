"""Assessments: signed by who made them, corroboration confirmed by a second person, carried
into handover packages, and as tamper-evident as the rest of the custody log."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.test_handover import export, prepare_case
from workstation.cli import EXIT_ERROR, EXIT_VERIFICATION_FAILED


def log_entries(workstation: Workstation) -> list[dict[str, object]]:
    return [json.loads(line) for line in
            (workstation.store / "custody.log").read_text().splitlines()]


def corroborate(workstation: Workstation, photo: str) -> None:
    code, out, err = workstation.run(
        "assess", photo, "--status", "corroborated",
        "--grounds", "source=second witness of the same yard, known to the team",
        "--grounds", "content=shadows match 9 August evening; wall matches Akrestsina",
        "--grounds", "technical=EXIF time 2020-08-09 21:40 +03:00, GPS within 50 m",
        "--note", "matches video from the second source",
        actor="officer-anna",
    )
    assert code == 0, err
    assert "second person" in out


def test_corroborated_counts_only_once_a_second_officer_confirms(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform", "un"])
    _code, out, _ = workstation.run("show", photo)
    assert "assessment: unreviewed" in out

    corroborate(workstation, photo)
    _code, out, _ = workstation.run("show", photo)
    assert "assessment: corroborated (awaiting a second person's confirmation)" in out

    code, out, err = workstation.run("confirm", photo, actor="officer-boris")
    assert code == 0, err
    _code, out, _ = workstation.run("show", photo, "--json")
    [assessment] = json.loads(out)["assessments"]
    assert assessment["effective_status"] == "corroborated"
    assert assessment["actor"] == "officer-anna"
    assert assessment["confirmed_by"]["actor"] == "officer-boris"
    assert assessment["grounds"]["technical"].startswith("EXIF time")
    actions = [(e["action"], e["actor"]) for e in log_entries(workstation)
               if e["action"] in ("assess", "confirm")]
    assert actions == [("assess", "officer-anna"), ("confirm", "officer-boris")]
    assert workstation.run("custody", "verify")[0] == 0


def test_nobody_confirms_their_own_assessment(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform"])
    corroborate(workstation, photo)
    before = (workstation.store / "custody.log").read_bytes()

    code, _out, err = workstation.run("confirm", photo, actor=" Officer-Anna")

    assert code == EXIT_ERROR
    assert "made this assessment and cannot confirm it" in err
    assert "Traceback" not in err
    assert (workstation.store / "custody.log").read_bytes() == before


def test_a_new_assessment_replaces_the_current_one_and_history_stays(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform"])
    corroborate(workstation, photo)
    assert workstation.run("confirm", photo, actor="officer-boris")[0] == 0
    code, _, err = workstation.run("assess", photo, "--status", "doubtful",
                                   "--note", "a third source shows the photo was staged",
                                   actor="officer-boris")
    assert code == 0, err

    _code, out, _ = workstation.run("show", photo)

    assert "assessment: doubtful" in out
    assert out.index("corroborated") < out.index("a third source shows")
    assert "confirmed #" in out
    # The doubtful assessment is unconfirmed and can be confirmed, but not twice.
    assert workstation.run("confirm", photo, actor="officer-anna")[0] == 0
    code, _, err = workstation.run("confirm", photo, actor="officer-chen")
    assert code == EXIT_ERROR
    assert "already confirmed by officer-anna" in err


def test_confirming_an_unassessed_item_or_bad_grounds_are_refused(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform"])
    before = (workstation.store / "custody.log").read_bytes()

    code, _, err = workstation.run("confirm", photo, actor="officer-boris")
    assert code == EXIT_ERROR
    assert "no assessment to confirm" in err
    code, _, err = workstation.run("assess", photo, "--status", "doubtful",
                                   "--grounds", "gut=feels wrong")
    assert code == EXIT_ERROR
    assert "KIND one of source, content, technical" in err
    assert (workstation.store / "custody.log").read_bytes() == before


def test_show_escapes_control_characters_in_notes_and_names(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform"])
    code, _, err = workstation.run("assess", photo, "--status", "in review",
                                   "--note", "ok\x1b[2J\x1b[1A hidden",
                                   actor="anna\x1b]0;title\x07")
    assert code == 0, err

    _code, out, _ = workstation.run("show", photo)

    assert "\x1b" not in out
    assert "\x07" not in out
    assert "ok\\x1b[2J\\x1b[1A hidden" in out


def test_changing_any_assessment_line_in_the_log_is_caught(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform"])
    corroborate(workstation, photo)
    assert workstation.run("confirm", photo, actor="officer-boris")[0] == 0
    log = workstation.store / "custody.log"
    original = log.read_text()
    lines = original.splitlines()
    touched = [index for index, line in enumerate(lines)
               if json.loads(line)["action"] in ("assess", "confirm")]
    assert len(touched) == 2
    edits = [("status", "corroborated", "rejected"), ("actor", "officer-boris", "officer-chen")]
    for index, (_field, old, new) in zip(touched, edits, strict=True):
        changed = list(lines)
        assert old in changed[index]
        changed[index] = changed[index].replace(old, new)
        log.write_text("\n".join(changed) + "\n")

        code, _, err = workstation.run("custody", "verify")

        assert code == EXIT_VERIFICATION_FAILED
        assert f"custody log broken at entry {index + 1}" in err
        log.write_text(original)
    assert workstation.run("custody", "verify")[0] == 0


def test_the_un_package_carries_both_entries_and_verifies(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    photo = prepare_case(workstation, make_bundle, ["platform", "un"])
    corroborate(workstation, photo)
    assert workstation.run("confirm", photo, actor="officer-boris")[0] == 0

    package, _ = export(workstation, "un", tmp_path / "to-un")

    extract = [json.loads(line) for line in
               (package / "skrynka" / "custody.jsonl").read_text().splitlines()]
    assess = [e for e in extract if e["item"] == photo and e["action"] == "assess"]
    confirm = [e for e in extract if e["item"] == photo and e["action"] == "confirm"]
    assert [e["actor"] for e in assess] == ["officer-anna"]
    assert [e["actor"] for e in confirm] == ["officer-boris"]
    assert confirm[0]["details"]["confirms"] == assess[0]["hash"]
    view = json.loads((package / "skrynka" / "items" / photo / "assessments.json").read_text())
    assert view["current"] == "corroborated"
    assert view["history"][0]["entry_hash"] == assess[0]["hash"]
    assert view["history"][0]["confirmed_by"]["actor"] == "officer-boris"
    code, _out, err = workstation.run("verify", str(package))
    assert code == 0, err
