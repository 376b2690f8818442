"""Every workstation error has its own clear page: a title and advice in the person's language."""

from __future__ import annotations

import pytest

from workstation import errors
from workstation_app.error_page import EXPLANATIONS


def _all_error_classes() -> set[type[errors.WorkstationError]]:
    found: set[type[errors.WorkstationError]] = set()
    pending: list[type[errors.WorkstationError]] = [errors.WorkstationError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending += cls.__subclasses__()
    return found


def test_every_workstation_error_class_has_its_own_explanation() -> None:
    missing = sorted(cls.__name__ for cls in _all_error_classes() if cls not in EXPLANATIONS)
    assert not missing, f"add these to workstation_app.error_page.EXPLANATIONS: {missing}"


def test_statuses_are_errors_never_success() -> None:
    assert all(400 <= found.status < 600 for found in EXPLANATIONS.values())


@pytest.mark.parametrize(("code", "title"), [("be", "Пакет адхілены"), ("ru", "Пакет отклонён")])
def test_error_pages_speak_the_persons_language(code: str, title: str) -> None:
    from flask import Flask

    from workstation_app.i18n import init_i18n

    app = Flask(__name__)
    app.secret_key = b"k" * 32
    init_i18n(app)
    with app.test_request_context(f"/?l={code}"):
        assert str(EXPLANATIONS[errors.BundleRejected].title) == title
