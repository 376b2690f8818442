"""A source's consent (`skrynka-consent` version 1, docs/storage-format.md), defined once.

Consent travels only inside ciphertext: as the `consent` object of the receipts of a first
submission (`build_consent_document`), and afterwards as items of kind `consent` whose plaintext
is `encode_consent(record)`. The server (core.consent, core.submissions) builds records from the
source's form; the evidence workstation (workstation.consent) reads the latest record of a source
and enforces it at export. `parse_consent` and `parse_consent_document` are the strict readers:
anything that is not a valid version 1 record raises `InvalidConsent` naming every field at fault.

The defaults are the most protective choices: the material stays with this platform, staff do not
write back, and no investigator may ask for contact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from formats.document import encode_document, format_utc, parse_document, parse_utc
from formats.errors import FieldProblem, InvalidConsent

CONSENT_FORMAT = "skrynka-consent"
CONSENT_VERSION = 1


class Destination(StrEnum):
    """Who may receive the material. The platform itself is always one of them."""

    PLATFORM = "platform"
    UN = "un"
    COURT = "court"


# The order destinations are written in, so equal consent always encodes to equal bytes.
DESTINATION_ORDER: tuple[Destination, ...] = tuple(Destination)
_DESTINATION_VALUES = frozenset(d.value for d in Destination)


@dataclass(frozen=True)
class Consent:
    """The source's choices. `Consent()` is the most protective one."""

    destinations: frozenset[Destination] = field(
        default_factory=lambda: frozenset({Destination.PLATFORM})
    )
    replies: bool = False
    investigator_contact: bool = False

    def __post_init__(self) -> None:
        problems = _consent_problems(self)
        if problems:
            raise InvalidConsent(problems)

    @property
    def ordered_destinations(self) -> tuple[Destination, ...]:
        return tuple(d for d in DESTINATION_ORDER if d in self.destinations)


@dataclass(frozen=True)
class ConsentRecord:
    """Consent as the source gave it at one moment; the latest record of a source decides."""

    consent: Consent
    recorded_at: datetime

    def __post_init__(self) -> None:
        if self.recorded_at.tzinfo is None:
            raise InvalidConsent([FieldProblem("recorded_at", "not_timezone_aware")])


def _consent_problems(consent: Consent) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if not all(isinstance(d, Destination) for d in consent.destinations):
        problems.append(FieldProblem("destinations", "unknown_choice"))
    elif Destination.PLATFORM not in consent.destinations:
        # Everything a source sends reaches the platform: a choice without it cannot be honoured.
        problems.append(FieldProblem("destinations", "platform_required"))
    if not isinstance(consent.replies, bool):
        problems.append(FieldProblem("replies", "unknown_choice"))
    if not isinstance(consent.investigator_contact, bool):
        problems.append(FieldProblem("investigator_contact", "unknown_choice"))
    elif consent.investigator_contact and consent.replies is False:
        # Contact can only travel through replies; accepting one without the other would promise
        # the source something staff cannot do.
        problems.append(FieldProblem("investigator_contact", "needs_replies"))
    return problems


def build_consent_document(record: ConsentRecord) -> dict[str, Any]:
    """The `skrynka-consent` v1 object, as embedded in receipts."""
    return {
        "format": CONSENT_FORMAT,
        "version": CONSENT_VERSION,
        "recorded_at": format_utc(record.recorded_at),
        "destinations": [d.value for d in record.consent.ordered_destinations],
        "replies": record.consent.replies,
        "investigator_contact": record.consent.investigator_contact,
    }


def encode_consent(record: ConsentRecord) -> bytes:
    """The canonical bytes of a consent record, the plaintext of a `consent` item."""
    return encode_document(build_consent_document(record))


def parse_consent_document(document: Mapping[str, Any]) -> ConsentRecord:
    """Read a `skrynka-consent` v1 object strictly; unknown extra keys are ignored."""
    if not isinstance(document, Mapping):
        raise InvalidConsent([FieldProblem("document", "not_a_json_object")])
    problems: list[FieldProblem] = []
    if document.get("format") != CONSENT_FORMAT:
        problems.append(FieldProblem("format", "not_skrynka_consent"))
    version = document.get("version")
    if type(version) is not int or version != CONSENT_VERSION:
        problems.append(FieldProblem("version", "unsupported_version"))
    recorded_at = parse_utc(document.get("recorded_at"))
    if recorded_at is None:
        problems.append(FieldProblem("recorded_at", "not_a_utc_time"))
    raw_destinations = document.get("destinations")
    destinations: set[Destination] = set()
    if not isinstance(raw_destinations, list) or not raw_destinations:
        problems.append(FieldProblem("destinations", "not_a_list"))
    else:
        for raw in raw_destinations:
            if not isinstance(raw, str) or raw not in _DESTINATION_VALUES:
                problems.append(FieldProblem("destinations", "unknown_choice"))
                break
            destinations.add(Destination(raw))
        if not problems and len(destinations) != len(raw_destinations):
            problems.append(FieldProblem("destinations", "repeated_choice"))
    for name in ("replies", "investigator_contact"):
        if not isinstance(document.get(name), bool):
            problems.append(FieldProblem(name, "not_a_boolean"))
    if problems:
        raise InvalidConsent(problems)
    consent = Consent(
        frozenset(destinations),
        bool(document["replies"]),
        bool(document["investigator_contact"]),
    )
    assert recorded_at is not None  # narrowed by the problems check above
    return ConsentRecord(consent, recorded_at)


def parse_consent(data: bytes) -> ConsentRecord:
    """Read the plaintext of a `consent` item; raises InvalidConsent."""
    document = parse_document(data)
    if document is None:
        raise InvalidConsent([FieldProblem("document", "not_a_json_object")])
    return parse_consent_document(document)
