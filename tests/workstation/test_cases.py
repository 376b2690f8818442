"""Cases: named groups of item ids that never record which source sent what."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workstation.cases import Case, CaseBook, check_case_name
from workstation.errors import CaseError
from workstation.store import EvidenceStore

PHOTO = "a" * 64
MESSAGE = "b" * 64


@pytest.fixture
def book(tmp_path: Path) -> CaseBook:
    store = EvidenceStore(tmp_path / "evidence")
    store.create_layout()
    return CaseBook(store)


@pytest.mark.parametrize("name", ["okrestina-2020-08", "a", "Unit_3214.v2", "x" * 64])
def test_usable_case_names(name: str) -> None:
    assert check_case_name(name) == name


@pytest.mark.parametrize("name", ["", "-leading-dash", "../escape", "with space", "x" * 65,
                                  "акрэсціна", "name/with/slash", "trailing-newline\n"])
def test_unusable_case_names_are_refused_with_an_example(name: str) -> None:
    with pytest.raises(CaseError, match=r"e\.g\. okrestina-2020-08"):
        check_case_name(name)


def test_a_new_store_has_no_cases(book: CaseBook) -> None:
    assert book.all() == []
    assert not book.store.cases_path.exists()


def test_a_created_case_is_empty_and_kept(book: CaseBook) -> None:
    created = book.create("okrestina-2020-08")
    assert created.items == ()
    assert book.get("okrestina-2020-08") == created
    written = json.loads(book.store.cases_path.read_text())
    assert (written["format"], written["version"]) == ("skrynka-workstation-cases", 1)


def test_items_are_added_once_in_the_order_given(book: CaseBook) -> None:
    book.create("okrestina-2020-08")
    book.add("okrestina-2020-08", [PHOTO])
    case = book.add("okrestina-2020-08", [MESSAGE, PHOTO])
    assert case.items == (PHOTO, MESSAGE)
    assert book.get("okrestina-2020-08").items == (PHOTO, MESSAGE)


def test_a_case_holds_item_ids_only_never_sources(book: CaseBook) -> None:
    book.create("okrestina-2020-08")
    book.add("okrestina-2020-08", [PHOTO, MESSAGE])
    stored = json.loads(book.store.cases_path.read_text())["cases"]["okrestina-2020-08"]
    assert sorted(stored) == ["created_at", "items"]
    assert stored["items"] == [PHOTO, MESSAGE]


def test_cases_are_listed_by_name(book: CaseBook) -> None:
    book.create("zhodino")
    book.create("akrestsina")
    assert [case.name for case in book.all()] == ["akrestsina", "zhodino"]
    assert all(isinstance(case, Case) for case in book.all())


def test_a_name_cannot_be_taken_twice(book: CaseBook) -> None:
    book.create("okrestina-2020-08")
    book.add("okrestina-2020-08", [PHOTO])
    with pytest.raises(CaseError, match="already exists"):
        book.create("okrestina-2020-08")
    assert book.get("okrestina-2020-08").items == (PHOTO,)


def test_an_unknown_case_is_named_and_nothing_changes(book: CaseBook) -> None:
    with pytest.raises(CaseError, match="create it with `case create nowhere`"):
        book.add("nowhere", [PHOTO])
    with pytest.raises(CaseError, match="`case list` shows the cases"):
        book.get("nowhere")
    assert not book.store.cases_path.exists()


@pytest.mark.parametrize("content", [b"{broken", b"[]", b'{"format": "x", "cases": []}'])
def test_a_damaged_cases_file_is_a_clear_error(book: CaseBook, content: bytes) -> None:
    book.store.cases_path.write_bytes(content)
    with pytest.raises(CaseError, match="restore it from the store's backup"):
        book.all()
    with pytest.raises(CaseError):
        book.create("new-case")
    assert book.store.cases_path.read_bytes() == content
