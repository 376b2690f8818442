"""Errors raised by the formats package: a document is not what its format says it must be.

Every parser in this package raises a `FormatError` subclass for anything it cannot accept (wrong
JSON type, missing field, unknown format or version), never a KeyError or TypeError, so a reader
on either side of the air gap catches `FormatError` alone. Each message says which document was
refused, what is wrong with it and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FormatError(Exception):
    """Base class of every error raised by the formats package."""


class InvalidManifest(FormatError):
    """A transfer-bundle manifest is not a valid `skrynka-transfer-bundle` document.

    `check` names the step that failed as docs/bundle-format.md numbers them (`manifest`,
    `format` or `version`); `detail` is the fault alone, for callers that add their own framing.
    """

    check = "manifest"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"The transfer-bundle manifest is not valid: {detail}. Do not use this bundle; ask "
            "intake staff for a fresh download."
        )


class UnknownManifestFormat(InvalidManifest):
    """The manifest names a format other than `skrynka-transfer-bundle`."""

    check = "format"


class UnsupportedManifestVersion(InvalidManifest):
    """The manifest has a version this software does not read."""

    check = "version"


class InvalidReceipt(FormatError):
    """Receipt bytes or fields are not a valid `skrynka-receipt` document."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one answer: `code` is stable so a form can show it in any language."""

    field: str
    code: str
    limit: int | None = None

    def describe(self) -> str:
        limit = f" (limit {self.limit})" if self.limit is not None else ""
        return f"{self.field}: {self.code.replace('_', ' ')}{limit}"


class AnswersError(FormatError):
    """A source's answers were refused; `problems` names every field at fault, nothing was kept."""

    what = "answers"

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            f"The {self.what} cannot be accepted; correct these and send again: "
            + "; ".join(p.describe() for p in self.problems)
        )


class InvalidConsent(AnswersError):
    """Consent choices or a consent document are not valid."""

    what = "consent choices"


class InvalidIntake(AnswersError):
    """Intake answers or an intake document are not valid."""

    what = "intake answers"


class InvalidAcknowledgement(FormatError):
    """Bytes are not a valid `skrynka-acknowledgement` file; `detail` is the fault alone."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"The acknowledgement is not valid: {detail}. Nothing was deleted; write a fresh one "
            "on the workstation with `skrynka-workstation acknowledge` and upload that file."
        )
