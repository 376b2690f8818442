"""How intake answers read on the desk: codes by their names in the person's language."""

from __future__ import annotations

import pytest

from tests.support.workstation import MakeBundle
from tests.workstation.bundles import Sent, consent_document, intake_document
from tests.workstation.media import png_with_text
from tests.workstation_app.conftest import Desk, Officer
from workstation.custody import ACTIONS
from workstation_app.display import ACTION_NAMES, show_value, size


def test_intake_answers_read_as_words_in_the_persons_language(desk: Desk) -> None:
    intake = intake_document()
    with desk.app.test_request_context("/?l=ru"):
        assert show_value(intake["violations"]) == (
            "произвольное задержание, пытки или жестокое обращение")
        assert show_value(intake["where"]) == "Akrestsina, Minsk (город Минск)"
        assert show_value(intake["when"]) == "August 2020, three nights (2020-08)"
        assert show_value(intake["relation"]) == "пострадавший"
    with desk.app.test_request_context("/?l=be"):
        assert show_value("enforced_disappearance") == "гвалтоўнае знікненне"


def test_unknown_answers_are_shown_as_they_came() -> None:
    assert show_value("a code from a later version") == "a code from a later version"
    assert show_value({"odd": [1, 2]}) == '{"odd": [1, 2]}'
    assert show_value(None) == ""


def test_sizes_read_in_binary_units() -> None:
    assert (size(300), size(2048), size(5 * 1024**3)) == ("300 B", "2.0 KiB", "5.0 GiB")


def test_every_custody_action_has_the_desk_s_name() -> None:
    assert set(ACTION_NAMES) == ACTIONS


@pytest.mark.parametrize(("code", "name"), [("be", "паходжанне праверана"),
                                            ("ru", "происхождение проверено")])
def test_the_custody_log_names_a_provenance_check_in_the_officer_s_language(
    officer: Officer, make_bundle: MakeBundle, code: str, name: str
) -> None:
    officer.post("/import", {"path": str(make_bundle([
        Sent("file", png_with_text(), name="plain.png", consent=consent_document(
            ["platform"], "2026-11-27T05:11:16.055418Z"))]))})
    page = officer.get(f"/custody?l={code}").text
    assert f"<td>{name}</td>" in page
    assert "<td>provenance</td>" not in page
