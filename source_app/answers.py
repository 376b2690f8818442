"""The consent and intake questions on the source's forms: field names, reading, error texts.

The answers are read by core.consent and core.intake into the documents of formats.consent and
formats.intake; this module only gathers the raw form values (from the streamed /submit body or
from an ordinary form) and turns each problem into a sentence in the source's language. Every
answer is optional except where consent needs a choice, and a question left alone means the most
protective answer.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from babel.dates import get_month_names
from flask import Flask
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _
from streaming_form_data import StreamingFormDataParser
from streaming_form_data.targets import BaseTarget

from core.consent import consent_from_form
from core.intake import intake_from_form
from formats.consent import Consent, ConsentRecord
from formats.errors import FieldProblem
from formats.intake import (
    RESPONSIBLE_LIMIT,
    WHEN_TEXT_LIMIT,
    WHERE_TEXT_LIMIT,
    Intake,
    Region,
    Relation,
    Violation,
)
from source_app.errors import MalformedUpload

CONSENT_FIELDS = ("destinations", "replies", "investigator_contact")
INTAKE_FIELDS = (
    "violations",
    "when_text",
    "when_year",
    "when_month",
    "where_text",
    "region",
    "responsible",
    "relation",
)
MULTIPLE_FIELDS = frozenset({"destinations", "violations"})
# Marks a form that carries the consent questions, so that "nothing ticked" means "platform
# only" there and "no consent given with this submission" everywhere else.
CONSENT_MARKER = "consent_form"
# Enough bytes for the longest answer in any UTF-8 text (4 bytes a character), and a bound on
# how many times one name may repeat: no field can make the server hold much memory.
FIELD_BYTES = 4 * RESPONSIBLE_LIMIT + 64
FIELD_REPEATS = 16

# Labels of the choices, in the order the form shows them.
VIOLATION_LABELS = {
    Violation.ARBITRARY_DETENTION: lazy_gettext("Arbitrary detention or arrest"),
    Violation.TORTURE: lazy_gettext("Torture, beatings or other ill-treatment"),
    Violation.SEXUAL_VIOLENCE: lazy_gettext("Sexual or gender-based violence"),
    Violation.ENFORCED_DISAPPEARANCE: lazy_gettext(
        "Enforced disappearance (a person taken and their fate hidden)"
    ),
    Violation.OTHER: lazy_gettext("Something else"),
}
REGION_LABELS = {
    Region.BREST: lazy_gettext("Brest region"),
    Region.VITEBSK: lazy_gettext("Vitebsk region"),
    Region.GOMEL: lazy_gettext("Gomel region"),
    Region.GRODNO: lazy_gettext("Grodno region"),
    Region.MINSK_REGION: lazy_gettext("Minsk region"),
    Region.MOGILEV: lazy_gettext("Mogilev region"),
    Region.MINSK_CITY: lazy_gettext("Minsk (city)"),
}
RELATION_LABELS = {
    Relation.SURVIVOR: lazy_gettext("It happened to me"),
    Relation.WITNESS: lazy_gettext("I saw it happen"),
    Relation.INSIDER: lazy_gettext("I know of it through my work inside"),
    Relation.OTHER: lazy_gettext("Other, or I prefer not to say"),
}


class _BoundedValues(BaseTarget):  # type: ignore[misc]
    """Every value sent under one field name, each at most FIELD_BYTES, at most FIELD_REPEATS."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.values: list[bytes] = []
        self._current: list[bytes] = []
        self._size = 0

    def on_start(self) -> None:
        if len(self.values) >= FIELD_REPEATS:
            raise MalformedUpload(f"The form repeats the field {self.name} too often.")
        self._current = []
        self._size = 0

    def on_data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > FIELD_BYTES:
            raise MalformedUpload(f"The form field {self.name} is far too long.")
        self._current.append(chunk)

    def on_finish(self) -> None:
        self.values.append(b"".join(self._current))


@dataclass
class AnswerFields:
    """The raw answers of one form, as text; read from a streamed body or a parsed form."""

    values: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_form(cls, getlist: Callable[[str], list[str]]) -> "AnswerFields":
        """From a Werkzeug form (pass `request.form.getlist`)."""
        names = (*CONSENT_FIELDS, *INTAKE_FIELDS, CONSENT_MARKER)
        return cls({name: getlist(name)[:FIELD_REPEATS] for name in names})

    def first(self, name: str) -> str | None:
        found = self.values.get(name) or []
        return found[0] if found else None

    def every(self, name: str) -> list[str]:
        return list(self.values.get(name) or [])

    @property
    def has_consent(self) -> bool:
        return bool(self.values.get(CONSENT_MARKER))

    @property
    def has_intake(self) -> bool:
        return any(value for name in INTAKE_FIELDS for value in self.values.get(name) or [])

    def consent_choice(self) -> dict[str, list[str]]:
        """Only the consent answers, as the session keeps them for the rest of the login."""
        return {name: self.every(name) for name in CONSENT_FIELDS}


class StreamedAnswers:
    """Collects the answer fields while a /submit body streams through the parser."""

    def __init__(self) -> None:
        names = (*CONSENT_FIELDS, *INTAKE_FIELDS, CONSENT_MARKER)
        self._targets = {name: _BoundedValues(name) for name in names}

    def register(self, parser: StreamingFormDataParser) -> None:
        for name, target in self._targets.items():
            parser.register(name, target)

    def partial(self) -> AnswerFields:
        """The answers received before the body was cut short; nothing if any is not UTF-8."""
        try:
            return self.fields()
        except MalformedUpload:
            return AnswerFields()

    def fields(self) -> AnswerFields:
        """The answers received; bytes that are not UTF-8 are refused as a malformed form."""
        try:
            return AnswerFields(
                {
                    name: [value.decode("utf-8") for value in target.values]
                    for name, target in self._targets.items()
                }
            )
        except UnicodeDecodeError as exc:
            raise MalformedUpload("An answer is not UTF-8 text.") from exc


def read_consent(fields: AnswerFields) -> Consent:
    """The consent choices of a form (raises InvalidConsent)."""
    return consent_from_form(
        fields.every("destinations"), fields.first("replies"), fields.first("investigator_contact")
    )


def record_consent(consent: Consent, now: datetime | None = None) -> ConsentRecord:
    return ConsentRecord(consent, now or datetime.now(UTC))


def read_intake(fields: AnswerFields, now: datetime | None = None) -> Intake:
    """The intake answers of a form (raises InvalidIntake)."""
    today = (now or datetime.now(UTC)).date()
    return intake_from_form(
        violations=fields.every("violations"),
        when_text=fields.first("when_text"),
        when_year=fields.first("when_year"),
        when_month=fields.first("when_month"),
        where_text=fields.first("where_text"),
        region=fields.first("region"),
        responsible=fields.first("responsible"),
        relation=fields.first("relation"),
        today=today,
    )


def problem_text(problem: FieldProblem) -> str:
    """One problem as a sentence for the source, naming the question in their language."""
    question = _question(problem.field)
    if problem.code == "too_long":
        text = _(
            "%(question)s: please shorten your answer to at most %(limit)d characters.",
            question=question,
            limit=problem.limit or 0,
        )
    elif problem.code == "invalid_characters":
        text = _(
            "%(question)s: the answer contains invisible control characters. Type it again.",
            question=question,
        )
    elif problem.code in ("not_a_number", "out_of_range", "in_the_future"):
        text = _(
            "%(question)s: give a year from 1990 until now and a month from 1 to 12, or leave "
            "them empty.",
            question=question,
        )
    elif problem.code == "needs_replies":
        text = _(
            "An investigator can ask to talk to you only through replies. Allow replies, or "
            "answer no to the question about investigators."
        )
    else:
        text = _("%(question)s: choose one of the answers offered.", question=question)
    return str(text)


def problem_texts(problems: Iterable[FieldProblem]) -> list[str]:
    return list(dict.fromkeys(problem_text(p) for p in problems))


def _question(name: str) -> str:
    questions: Mapping[str, str] = {
        "destinations": _("Who may receive your material"),
        "replies": _("May our staff reply to you"),
        "investigator_contact": _("Contact by an investigator"),
        "violations": _("What happened"),
        "when_text": _("When it happened"),
        "when_year": _("Year"),
        "when_month": _("Month"),
        "where_text": _("Where it happened"),
        "region": _("Region"),
        "responsible": _("Who was responsible"),
        "relation": _("How you know about it"),
    }
    return str(questions.get(name, name))


def answer_limits() -> dict[str, int]:
    """Lengths the form announces with `maxlength`, so a browser stops typing at the limit."""
    return {
        "when_text": WHEN_TEXT_LIMIT,
        "where_text": WHERE_TEXT_LIMIT,
        "responsible": RESPONSIBLE_LIMIT,
    }


def register_answer_forms(app: Flask) -> None:
    """Give templates what the consent and intake questions need (labels, limits, months)."""

    @app.context_processor
    def answer_context() -> dict[str, object]:
        now = datetime.now(UTC)
        months = get_month_names("wide", context="stand-alone", locale=str(get_locale() or "en"))
        return {
            "violation_labels": VIOLATION_LABELS,
            "region_labels": REGION_LABELS,
            "relation_labels": RELATION_LABELS,
            "answer_limits": answer_limits(),
            "current_year": now.year,
            "month_names": [(number, months[number]) for number in range(1, 13)],
        }
