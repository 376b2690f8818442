"""Reading a source's consent choices from the web form into a `formats.consent.Consent`.

The document itself (its fields, defaults, encoding and strict reader) is defined once in
`formats.consent`; this module only turns the raw form values into it. A bad value raises
`InvalidConsent` naming every field at fault, and nothing is stored.
"""

from collections.abc import Iterable

from formats.consent import Consent, Destination
from formats.errors import FieldProblem, InvalidConsent

# Form values of the yes/no questions; anything else is refused rather than guessed.
YES = "yes"
NO = "no"


def consent_from_form(
    destinations: Iterable[str], replies: str | None, investigator_contact: str | None
) -> Consent:
    """Consent from the raw values of the form; unanswered questions take the protective default.

    `destinations` are the ticked boxes (`un`, `court`; `platform` is implied and may be sent
    too); the two questions are `yes` or `no`. Raises InvalidConsent naming every bad field.
    """
    problems: list[FieldProblem] = []
    chosen = {Destination.PLATFORM}
    for raw in destinations:
        try:
            chosen.add(Destination(raw))
        except ValueError:
            problems.append(FieldProblem("destinations", "unknown_choice"))
            break
    replies_allowed = _yes_no("replies", replies, problems)
    contact_allowed = _yes_no("investigator_contact", investigator_contact, problems)
    if problems:
        raise InvalidConsent(problems)
    return Consent(frozenset(chosen), replies_allowed, contact_allowed)


def _yes_no(name: str, raw: str | None, problems: list[FieldProblem]) -> bool:
    if raw is None or raw == "" or raw == NO:
        return False
    if raw == YES:
        return True
    problems.append(FieldProblem(name, "unknown_choice"))
    return False
