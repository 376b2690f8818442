"""Proposals read what sources and their devices wrote: what is not a date, a position or a
known answer is skipped and said so, and nothing in them can make a value the form refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.workstation.bundles import intake_document
from workstation.catalogue import Item, Submission
from workstation.incident import read_fields
from workstation.incident_proposal import propose_incident, read_capture_time


def item(name: str, *intakes: Any) -> Item:
    submissions = tuple(
        Submission(f"sub-{index}", f"source-{index}", f"source {index}", "file", "2026-11-27",
                   {"intake": intake} if intake is not None else None, {})
        for index, intake in enumerate(intakes)
    )
    item_id = (name.encode().hex() * 8)[:64]
    return Item(item_id, "file", 1, item_id, "0" * 128, name, "2026-11-27T00:00:00Z",
                Path("/nonexistent"), submissions)


def metadata_entry(target: Item, summary: Any, seq: int = 1) -> dict[str, Any]:
    return {"seq": seq, "action": "metadata", "item": target.item_id,
            "details": {"summary": summary}}


def test_capture_times_are_read_only_when_they_are_real_dates() -> None:
    def capture(value: Any) -> str | None:
        return read_capture_time({"capture_time": {"value": value, "tag": "EXIF:X"}})

    assert capture("2020:08:10 21:40:00") == "2020-08-10 21:40:00"
    assert capture("2020:08:10 21:40:00.123+03:00") == "2020-08-10 21:40:00"
    assert capture("2020-08-10T21:40") == "2020-08-10 21:40"
    assert capture("2020:08:10") == "2020-08-10"
    assert capture("0000:00:00 00:00:00") is None
    assert capture("2020:02:30 10:00:00") is None
    assert capture("\x1b]0;x\x07") is None
    assert capture("٢٠٢٠:٠٨:١٠ ٢١:٤٠:٠٠") is None  # digits, but not the ones exiftool writes
    assert capture(20200810) is None
    assert read_capture_time({"capture_time": None}) is None
    assert read_capture_time(["not", "a", "summary"]) is None


def test_unreadable_intake_and_junk_metadata_are_skipped_and_named() -> None:
    broken = item("broken.jpg", ["not", "an", "intake"],
                  {**intake_document(), "violations": ["genocide"]})
    junk = item("junk.jpg", None)
    entries = [
        metadata_entry(broken, {"capture_time": {"value": "0000:00:00 00:00:00"},
                                "gps": {"latitude": 0, "longitude": 0}}),
        metadata_entry(junk, {"capture_time": {"value": "yesterday"},
                              "gps": {"latitude": "53.9", "longitude": True}}, seq=2),
    ]

    proposal = propose_incident([broken, junk], entries)

    assert (proposal.date_from, proposal.place, proposal.latitude) == ("", "", "")
    assert proposal.violations == ()
    assert tuple(reason.text for reason in proposal.reasons) == (
        "the intake answers sent with broken.jpg cannot be read and were not used",
        "the intake answers sent with broken.jpg cannot be read and were not used",
    )


def test_the_latest_metadata_entry_counts_and_a_disagreeing_month_is_pointed_out() -> None:
    photo = item("photo.jpg", intake_document())  # the source says August 2020
    entries = [
        metadata_entry(photo, {"capture_time": {"value": "2020:08:10 21:40:00"}}),
        # Read again later (e.g. `metadata ITEM`): this record is the one that stands.
        metadata_entry(photo, {"capture_time": {"value": "2021:03:02 10:00:00"},
                               "gps": {"latitude": 53.9, "longitude": 27.55}}, seq=2),
    ]

    proposal = propose_incident([photo], entries)

    assert (proposal.date_from, proposal.date_to) == ("2021-03-02", "")
    assert (proposal.latitude, proposal.longitude) == ("53.900000", "27.550000")
    assert any("check the date: the sources' answers name 2020-08, not the" in r
               for r in (reason.text for reason in proposal.reasons))


def test_a_year_alone_proposes_its_months_and_several_lines_become_one_place() -> None:
    first = item("a.jpg", {**intake_document(), "when": {"text": None, "year": 2021,
                                                           "month": None},
                           "where": {"text": "Minsk,\nPushkinskaya metro", "region": None}})
    second = item("b.jpg", {**intake_document(), "violations": ["other"],
                            "where": {"text": None, "region": "grodno"}})

    proposal = propose_incident([first, second], [])

    assert (proposal.date_from, proposal.date_to) == ("2020-08", "2021-12")
    assert proposal.place == "Minsk, Pushkinskaya metro"
    assert proposal.violations == ("arbitrary_detention", "torture_or_ill_treatment", "other")
    assert proposal.title == "Minsk, Pushkinskaya metro, 2020-08"
    # What is proposed is something the form accepts as it is.
    fields = read_fields(title=proposal.title, date_from=proposal.date_from,
                         date_to=proposal.date_to, place=proposal.place,
                         violations=proposal.violations)
    assert fields.date is not None
    assert fields.date.precision == "month"


def test_only_a_region_gives_its_name_as_the_place() -> None:
    only = item("c.jpg", {**intake_document(), "where": {"text": None, "region": "minsk_city"}})

    proposal = propose_incident([only], [])

    assert proposal.place == "Minsk"
    assert ("place: the region the sources picked in their intake answers"
            in [reason.text for reason in proposal.reasons])
