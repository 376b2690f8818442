"""The desk in be, ru and en: complete catalogues, correct plurals, a choice made by each person."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.catalogues import (
    REPO_ROOT,
    assert_three_plural_forms,
    assert_translated,
    extracted_messages,
    read_catalog,
)
from tests.workstation_app.conftest import Desk, Officer, token_of
from workstation_app.i18n import SUPPORTED_LOCALES, TRANSLATIONS_DIR, compile_catalogs

MAPPING = REPO_ROOT / "workstation_app" / "babel.cfg"


def test_desk_text_is_extracted_from_templates_and_python() -> None:
    messages = extracted_messages(MAPPING)
    assert "Who is working?" in messages  # a template
    assert "The bundle was refused" in messages  # lazy_gettext in Python
    assert len(messages) > 150


@pytest.mark.parametrize("code", SUPPORTED_LOCALES)
def test_every_desk_message_is_translated(code: str) -> None:
    assert_translated(TRANSLATIONS_DIR, code, MAPPING)


@pytest.mark.parametrize("code", ["be", "ru"])
def test_belarusian_and_russian_translations_are_not_english(code: str) -> None:
    catalog = read_catalog(TRANSLATIONS_DIR, code)
    same = [m.id for m in catalog if m.id and isinstance(m.id, str) and m.string == m.id
            and any(c.isalpha() for c in m.id) and not m.id.startswith(("%(", "Skrynka"))]
    assert same == []
    assert_three_plural_forms(catalog)


@pytest.mark.parametrize(("code", "expected"), [
    ("be", "Хто працуе?"), ("ru", "Кто работает?"), ("en", "Who is working?")])
def test_the_language_links_switch_every_page(desk: Desk, code: str, expected: str) -> None:
    with desk.app.test_client() as client:
        client.get(f"/launch/{desk.secret}")
        page = client.get(f"/who?l={code}").text
        assert f'<html lang="{code}">' in page
        assert expected in page
        assert expected in client.get("/who").text  # remembered in this session


def test_the_language_chosen_with_the_name_is_kept(desk: Desk) -> None:
    with desk.app.test_client() as client:
        officer = Officer(client, desk)
        officer.launch()
        officer.sign_in("Вольга", language="be")
        page = client.get("/").text
        assert '<html lang="be">' in page
        assert "Працуе: Вольга" in page
        assert 'href="/?l=ru"' in page


@pytest.mark.parametrize(("code", "count", "text"), [
    ("ru", 1, "1 материал"), ("ru", 3, "3 материала"), ("ru", 11, "11 материалов"),
    ("be", 2, "2 матэрыялы"), ("be", 5, "5 матэрыялаў"), ("en", 1, "1 item")])
def test_plurals_follow_the_number(desk: Desk, code: str, count: int, text: str) -> None:
    from flask_babel import ngettext

    with desk.app.test_request_context(f"/?l={code}"):
        assert ngettext("%(num)d item", "%(num)d items", count) == text


def test_the_next_person_at_the_desk_chooses_their_own_language(officer: Officer) -> None:
    assert '<html lang="en">' in officer.get("/").text
    officer.post("/who/end")
    page = officer.client.get("/who")
    officer.client.post("/who", data={"name": "Ирина", "language": "ru",
                                      "csrf_token": token_of(page.text)})
    page = officer.get("/").text
    assert '<html lang="ru">' in page
    assert "Работает: Ирина" in page


def compile_when_all_are_ready(directory: str, barrier: Any) -> None:
    barrier.wait()
    compile_catalogs(Path(directory))


def test_desks_starting_together_on_a_fresh_checkout_all_start(tmp_path: Path) -> None:
    """Several desks (or test workers) compiling the same missing catalogs at once each get
    them; none loses its file to another's rename."""
    for round_number in range(3):
        directory = tmp_path / f"round-{round_number}"
        shutil.copytree(TRANSLATIONS_DIR, directory, ignore=shutil.ignore_patterns("*.mo"))
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(6)
        workers = [context.Process(target=compile_when_all_are_ready,
                                   args=(str(directory), barrier)) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert [worker.exitcode for worker in workers] == [0] * 6
        for code in SUPPORTED_LOCALES:
            assert (directory / code / "LC_MESSAGES" / "messages.mo").stat().st_size > 0
        assert not list(directory.glob("*/LC_MESSAGES/.messages-*"))
