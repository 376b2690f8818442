"""A workstation store driven through its CLI, and a source's first submission to bundle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.workstation.bundles import Sent, consent_document, intake_document
from tests.workstation.media import jpeg_with_gps
from workstation.cli import main


@dataclass
class Workstation:
    """An initialised store and a way to run the CLI against it."""

    store: Path
    capsys: pytest.CaptureFixture[str]

    def run(self, *args: str, actor: str = "officer-anna") -> tuple[int, str, str]:
        code = main([*args[:1], "--store", str(self.store), "--actor", actor, *args[1:]])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


MESSAGE_TEXT = "Мяне затрымалі 9 жніўня. They beat us in the yard.\n".encode()


PHOTO_NAME = "IMG_2041.jpg"


def first_submission(consent_to: list[str]) -> list[Sent]:
    """A source's first submission: a message and a photo with GPS, consent in both receipts."""
    consent = consent_document(consent_to, "2026-11-27T05:11:16.055418Z")
    intake = intake_document()
    return [
        Sent("message", MESSAGE_TEXT, consent=consent, intake=intake),
        Sent("file", jpeg_with_gps(), name=PHOTO_NAME, consent=consent, intake=intake),
    ]


MakeBundle = Callable[..., Path]
