"""Reading a source's intake answers from the web form into a `formats.intake.Intake`.

The document itself (questions, choices, limits, encoding and strict reader) is defined once in
`formats.intake`; this module only turns the raw form values into it, with the one rule a form
needs and a document cannot know: nothing reported can have happened after the day it was sent.
Every problem is reported at once as `InvalidIntake`, and nothing is stored.
"""

from collections.abc import Iterable
from datetime import date

from formats.errors import FieldProblem, InvalidIntake
from formats.intake import (
    MIN_YEAR,
    RESPONSIBLE_LIMIT,
    WHEN_TEXT_LIMIT,
    WHERE_TEXT_LIMIT,
    Intake,
    Region,
    Relation,
    Violation,
    clean_text,
    parse_choice,
)


def intake_from_form(
    *,
    violations: Iterable[str] = (),
    when_text: str | None = None,
    when_year: str | None = None,
    when_month: str | None = None,
    where_text: str | None = None,
    region: str | None = None,
    responsible: str | None = None,
    relation: str | None = None,
    today: date,
) -> Intake:
    """Intake from the raw form values; blank means skipped. Raises InvalidIntake for all faults.

    `today` bounds the year and month: nothing reported can have happened in the future.
    """
    problems: list[FieldProblem] = []
    chosen: set[Violation] = set()
    for raw in violations:
        try:
            chosen.add(Violation(raw))
        except ValueError:
            problems.append(FieldProblem("violations", "unknown_choice"))
            break
    year = _number("when_year", when_year, MIN_YEAR, today.year, problems)
    month = _number("when_month", when_month, 1, 12, problems)
    if year == today.year and month is not None and month > today.month:
        problems.append(FieldProblem("when_month", "in_the_future"))
    intake = {
        "when_text": clean_text("when_text", when_text, WHEN_TEXT_LIMIT, problems),
        "where_text": clean_text("where_text", where_text, WHERE_TEXT_LIMIT, problems),
        "responsible": clean_text("responsible", responsible, RESPONSIBLE_LIMIT, problems),
    }
    region_value = parse_choice("region", region, Region, problems)
    relation_value = parse_choice("relation", relation, Relation, problems)
    if problems:
        raise InvalidIntake(problems)
    return Intake(
        violations=frozenset(chosen),
        when_year=year,
        when_month=month,
        region=region_value,
        relation=relation_value,
        **intake,
    )


def _number(
    name: str, raw: str | None, low: int, high: int, problems: list[FieldProblem]
) -> int | None:
    text = (raw or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 4:
        problems.append(FieldProblem(name, "not_a_number"))
        return None
    value = int(text)
    if not low <= value <= high:
        problems.append(FieldProblem(name, "out_of_range", high))
        return None
    return value
