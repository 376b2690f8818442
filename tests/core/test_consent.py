"""Reading consent from the form: questions left alone stay protective, bad values are named."""

import pytest

from core.consent import consent_from_form
from formats.consent import Consent, Destination
from formats.errors import InvalidConsent


def codes(error: InvalidConsent) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in error.problems}


def test_an_untouched_form_gives_the_default() -> None:
    assert consent_from_form([], None, None) == Consent()
    assert consent_from_form([], "", "") == Consent()


def test_ticked_boxes_widen_consent_and_platform_is_always_included() -> None:
    consent = consent_from_form(["court", "un"], "yes", "yes")
    assert consent.ordered_destinations == (
        Destination.PLATFORM,
        Destination.UN,
        Destination.COURT,
    )
    assert consent.replies is True
    assert consent.investigator_contact is True


@pytest.mark.parametrize(
    ("destinations", "replies", "contact", "expected"),
    [
        (["police"], "no", "no", ("destinations", "unknown_choice")),
        ([], "maybe", "no", ("replies", "unknown_choice")),
        ([], "no", "1", ("investigator_contact", "unknown_choice")),
        ([], "no", "yes", ("investigator_contact", "needs_replies")),
    ],
)
def test_bad_choices_are_refused_naming_the_field(
    destinations: list[str], replies: str, contact: str, expected: tuple[str, str]
) -> None:
    with pytest.raises(InvalidConsent) as caught:
        consent_from_form(destinations, replies, contact)
    assert expected in codes(caught.value)
    assert expected[0] in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidConsent) as caught:
        consent_from_form(["nobody"], "perhaps", "sometimes")
    assert {field for field, _ in codes(caught.value)} == {
        "destinations",
        "replies",
        "investigator_contact",
    }
