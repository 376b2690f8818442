"""Reading intake answers from the form: every question skippable, every fault named at once."""

from datetime import date

import pytest

from core.intake import intake_from_form
from formats.errors import InvalidIntake
from formats.intake import (
    RESPONSIBLE_LIMIT,
    WHEN_TEXT_LIMIT,
    Intake,
    Region,
    Relation,
    Violation,
)

TODAY = date(2026, 3, 25)


def codes(error: InvalidIntake) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in error.problems}


def full_answers() -> Intake:
    return intake_from_form(
        violations=["torture_or_ill_treatment", "arbitrary_detention"],
        when_text="  August 2020, three nights  ",
        when_year="2020",
        when_month="8",
        where_text="Акрэсціна, Мінск",
        region="minsk_city",
        responsible="ЦИП на Окрестина; ОМОН",
        relation="survivor",
        today=TODAY,
    )


def test_a_form_left_blank_is_an_empty_intake() -> None:
    intake = intake_from_form(
        violations=[],
        when_text="",
        when_year="",
        when_month="",
        where_text="   ",
        region="",
        responsible="\n",
        relation="",
        today=TODAY,
    )
    assert intake.is_empty
    assert intake == Intake()


def test_each_question_can_be_answered_alone() -> None:
    assert intake_from_form(relation="witness", today=TODAY) == Intake(relation=Relation.WITNESS)
    assert intake_from_form(when_year="2021", today=TODAY) == Intake(when_year=2021)
    assert intake_from_form(region="gomel", today=TODAY).region is Region.GOMEL
    assert not intake_from_form(violations=["other"], today=TODAY).is_empty


def test_answers_are_trimmed_and_kept() -> None:
    intake = full_answers()
    assert intake.when_text == "August 2020, three nights"
    assert intake.ordered_violations == (Violation.ARBITRARY_DETENTION, Violation.TORTURE)
    assert intake.when_year == 2020
    assert intake.when_month == 8
    assert intake.region is Region.MINSK_CITY


def test_every_oblast_and_minsk_city_can_be_chosen() -> None:
    assert {r.value for r in Region} == {
        "brest",
        "vitebsk",
        "gomel",
        "grodno",
        "minsk_region",
        "mogilev",
        "minsk_city",
    }


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"violations": ["riot"]}, ("violations", "unknown_choice")),
        ({"when_year": "twenty"}, ("when_year", "not_a_number")),
        ({"when_year": "1989"}, ("when_year", "out_of_range")),
        ({"when_year": "2027"}, ("when_year", "out_of_range")),
        ({"when_year": "２０２０"}, ("when_year", "not_a_number")),
        ({"when_month": "13"}, ("when_month", "out_of_range")),
        ({"when_month": "0"}, ("when_month", "out_of_range")),
        ({"when_year": "2026", "when_month": "4"}, ("when_month", "in_the_future")),
        ({"when_text": "x" * (WHEN_TEXT_LIMIT + 1)}, ("when_text", "too_long")),
        ({"responsible": "я" * (RESPONSIBLE_LIMIT + 1)}, ("responsible", "too_long")),
        ({"where_text": "Minsk\x00"}, ("where_text", "invalid_characters")),
        ({"where_text": "Minsk \u202egnp.exe"}, ("where_text", "invalid_characters")),
        ({"region": "moscow"}, ("region", "unknown_choice")),
        ({"relation": "informant"}, ("relation", "unknown_choice")),
    ],
)
def test_bad_answers_are_refused_naming_the_field(
    answers: dict[str, object], expected: tuple[str, str]
) -> None:
    with pytest.raises(InvalidIntake) as caught:
        intake_from_form(today=TODAY, **answers)  # type: ignore[arg-type]
    assert expected in codes(caught.value)
    assert expected[0] in str(caught.value)


def test_text_at_the_limit_is_accepted() -> None:
    text = "я" * RESPONSIBLE_LIMIT
    assert intake_from_form(responsible=text, today=TODAY).responsible == text


def test_line_breaks_in_longer_answers_survive() -> None:
    intake = intake_from_form(responsible="unit 3214\r\nofficer Ivanov", today=TODAY)
    assert intake.responsible == "unit 3214\nofficer Ivanov"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidIntake) as caught:
        intake_from_form(when_year="abc", region="nowhere", relation="spy", today=TODAY)
    assert {f for f, _ in codes(caught.value)} == {"when_year", "region", "relation"}
