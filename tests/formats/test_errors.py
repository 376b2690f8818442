"""Every error of the formats package is a FormatError whose message says what to do."""

import pytest

from formats.errors import (
    AnswersError,
    FieldProblem,
    FormatError,
    InvalidConsent,
    InvalidIntake,
    InvalidManifest,
    InvalidReceipt,
    UnknownManifestFormat,
    UnsupportedManifestVersion,
)


@pytest.mark.parametrize(
    "error",
    [
        InvalidManifest("items is not a list"),
        UnknownManifestFormat("format is 'zip'"),
        UnsupportedManifestVersion("version 2 is not 1; update the workstation"),
        InvalidReceipt("The receipt is not UTF-8 JSON."),
        InvalidConsent([FieldProblem("replies", "not_a_boolean")]),
        InvalidIntake([FieldProblem("responsible", "too_long", 1000)]),
    ],
)
def test_one_base_catches_every_error(error: Exception) -> None:
    assert isinstance(error, FormatError)
    assert str(error)


def test_a_manifest_error_carries_its_check_detail_and_advice() -> None:
    error = UnknownManifestFormat("format is 'zip'")
    assert (error.check, error.detail) == ("format", "format is 'zip'")
    assert "ask intake staff for a fresh download" in str(error)
    assert InvalidManifest("x").check == "manifest"
    assert UnsupportedManifestVersion("x").check == "version"


def test_answer_errors_name_every_field_and_limit() -> None:
    error = InvalidIntake(
        [FieldProblem("responsible", "too_long", 1000), FieldProblem("region", "unknown_choice")]
    )
    assert isinstance(error, AnswersError)
    assert len(error.problems) == 2
    assert "intake answers cannot be accepted" in str(error)
    assert "responsible: too long (limit 1000)" in str(error)
    assert "region: unknown choice" in str(error)


def test_a_receipt_error_keeps_its_detail() -> None:
    assert InvalidReceipt("The receipt lacks sha256.").detail == "The receipt lacks sha256."
