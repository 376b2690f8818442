"""Structured intake answers (`skrynka-intake` version 1, docs/storage-format.md), defined once.

What happened, when, where, who was responsible, how the source knows. Every question is optional
and skippable one by one; a source who answers nothing sends no intake document at all. The
answers travel only inside ciphertext, as the `intake` object of the receipts of the items sent
with them (`build_intake_document`), so that the evidence workstation can sort and verify material
without anyone re-asking the source. The server reads the form into an `Intake` (core.intake);
`parse_intake` and `parse_intake_document` are the strict readers and raise `InvalidIntake`
naming every field at fault. `clean_text` is the rule for free text: what it returns is the only
text an `Intake` may hold, so what was checked is what is kept.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from formats.document import encode_document, parse_document
from formats.errors import FieldProblem, InvalidIntake

INTAKE_FORMAT = "skrynka-intake"
INTAKE_VERSION = 1

# Lengths in characters: room for a sentence or two, not for the whole account (that is the
# message's place), and small enough that the receipt stays a small document.
WHEN_TEXT_LIMIT = 200
WHERE_TEXT_LIMIT = 200
RESPONSIBLE_LIMIT = 1000
# The earliest year a question about "when" can sensibly name.
MIN_YEAR = 1990
MAX_YEAR = 9999


class Violation(StrEnum):
    ARBITRARY_DETENTION = "arbitrary_detention"
    TORTURE = "torture_or_ill_treatment"
    SEXUAL_VIOLENCE = "sexual_or_gender_based_violence"
    ENFORCED_DISAPPEARANCE = "enforced_disappearance"
    OTHER = "other"


class Region(StrEnum):
    """The six oblasts of Belarus and the city of Minsk, which belongs to none of them."""

    BREST = "brest"
    VITEBSK = "vitebsk"
    GOMEL = "gomel"
    GRODNO = "grodno"
    MINSK_REGION = "minsk_region"
    MOGILEV = "mogilev"
    MINSK_CITY = "minsk_city"


class Relation(StrEnum):
    SURVIVOR = "survivor"
    WITNESS = "witness"
    INSIDER = "insider"
    # One answer for both "something else" and "I would rather not say": neither is questioned.
    OTHER = "other_or_prefer_not_to_say"


VIOLATION_ORDER: tuple[Violation, ...] = tuple(Violation)
_VIOLATION_VALUES = frozenset(v.value for v in Violation)


@dataclass(frozen=True)
class Intake:
    """The answers; None or empty means the question was skipped."""

    violations: frozenset[Violation] = field(default_factory=frozenset)
    when_text: str | None = None
    when_year: int | None = None
    when_month: int | None = None
    where_text: str | None = None
    region: Region | None = None
    responsible: str | None = None
    relation: Relation | None = None

    def __post_init__(self) -> None:
        problems = _intake_problems(self)
        if problems:
            raise InvalidIntake(problems)

    @property
    def is_empty(self) -> bool:
        return self == Intake()

    @property
    def ordered_violations(self) -> tuple[Violation, ...]:
        return tuple(v for v in VIOLATION_ORDER if v in self.violations)


# Control characters other than line breaks and tabs have no business in a typed answer and can
# hide text from the person who later reads it (bidi overrides are format characters, Cf).
_ALLOWED_CONTROLS = frozenset("\n\t")


def clean_text(field: str, raw: str | None, limit: int, problems: list[FieldProblem]) -> str | None:
    """Trimmed, NFC-normalised text, or None when blank; a problem when too long or unsafe."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        return None
    if any(
        unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in _ALLOWED_CONTROLS
        for ch in text
    ) or any(unicodedata.bidirectional(ch) in _BIDI_CONTROLS for ch in text):
        problems.append(FieldProblem(field, "invalid_characters"))
        return None
    if len(text) > limit:
        problems.append(FieldProblem(field, "too_long", limit))
        return None
    return text


# Explicit bidirectional embeddings, overrides and isolates: they reorder what a reader sees.
_BIDI_CONTROLS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})



def _intake_problems(intake: Intake) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if not all(isinstance(v, Violation) for v in intake.violations):
        problems.append(FieldProblem("violations", "unknown_choice"))
    for name, limit in (
        ("when_text", WHEN_TEXT_LIMIT),
        ("where_text", WHERE_TEXT_LIMIT),
        ("responsible", RESPONSIBLE_LIMIT),
    ):
        value = getattr(intake, name)
        if value is None:
            continue
        checked: list[FieldProblem] = []
        if not isinstance(value, str) or clean_text(name, value, limit, checked) != value:
            # Only text that is already clean may be stored: what was checked is what is kept.
            problems.extend(checked or [FieldProblem(name, "not_clean_text")])
    year, month = intake.when_year, intake.when_month
    if year is not None and (
        isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR
    ):
        problems.append(FieldProblem("when_year", "out_of_range"))
    if month is not None and (
        isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12
    ):
        problems.append(FieldProblem("when_month", "out_of_range"))
    if intake.region is not None and not isinstance(intake.region, Region):
        problems.append(FieldProblem("region", "unknown_choice"))
    if intake.relation is not None and not isinstance(intake.relation, Relation):
        problems.append(FieldProblem("relation", "unknown_choice"))
    return problems


_Choice = TypeVar("_Choice", bound=StrEnum)


def parse_choice(
    name: str, raw: object, kind: type[_Choice], problems: list[FieldProblem]
) -> _Choice | None:
    """One of `kind`'s values, None when blank; otherwise a problem for `name` and None."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            return kind(raw)
        except ValueError:
            pass
    problems.append(FieldProblem(name, "unknown_choice"))
    return None


def build_intake_document(intake: Intake) -> dict[str, Any]:
    """The `skrynka-intake` v1 object: every key present, skipped answers as null or []."""
    return {
        "format": INTAKE_FORMAT,
        "version": INTAKE_VERSION,
        "violations": [v.value for v in intake.ordered_violations],
        "when": {"text": intake.when_text, "year": intake.when_year, "month": intake.when_month},
        "where": {
            "text": intake.where_text,
            "region": intake.region.value if intake.region else None,
        },
        "responsible": intake.responsible,
        "relation": intake.relation.value if intake.relation else None,
    }


def encode_intake(intake: Intake) -> bytes:
    """The canonical bytes of an intake document."""
    return encode_document(build_intake_document(intake))


def parse_intake_document(document: Mapping[str, Any]) -> Intake:
    """Read a `skrynka-intake` v1 object strictly; unknown extra keys are ignored."""
    if not isinstance(document, Mapping):
        raise InvalidIntake([FieldProblem("document", "not_a_json_object")])
    problems: list[FieldProblem] = []
    if document.get("format") != INTAKE_FORMAT:
        problems.append(FieldProblem("format", "not_skrynka_intake"))
    version = document.get("version")
    if type(version) is not int or version != INTAKE_VERSION:
        problems.append(FieldProblem("version", "unsupported_version"))
    when = document.get("when")
    where = document.get("where")
    raw_violations = document.get("violations")
    if not isinstance(when, dict):
        problems.append(FieldProblem("when", "not_an_object"))
    if not isinstance(where, dict):
        problems.append(FieldProblem("where", "not_an_object"))
    if not isinstance(raw_violations, list):
        problems.append(FieldProblem("violations", "not_a_list"))
    if problems:
        raise InvalidIntake(problems)
    assert isinstance(when, dict)
    assert isinstance(where, dict)
    assert isinstance(raw_violations, list)
    violations: set[Violation] = set()
    for raw in raw_violations:
        if not isinstance(raw, str) or raw not in _VIOLATION_VALUES:
            problems.append(FieldProblem("violations", "unknown_choice"))
            continue
        violations.add(Violation(raw))
    region = parse_choice("region", where.get("region"), Region, problems)
    relation = parse_choice("relation", document.get("relation"), Relation, problems)
    if problems:
        raise InvalidIntake(problems)
    return Intake(
        violations=frozenset(violations),
        when_text=when.get("text"),
        when_year=when.get("year"),
        when_month=when.get("month"),
        where_text=where.get("text"),
        region=region,
        responsible=document.get("responsible"),
        relation=relation,
    )


def parse_intake(data: bytes) -> Intake:
    """Read intake bytes; raises InvalidIntake."""
    document = parse_document(data)
    if document is None:
        raise InvalidIntake([FieldProblem("document", "not_a_json_object")])
    return parse_intake_document(document)
