"""The catalogue index: lists, filters and pages come from a derived SQLite file that the
store can always rebuild, and that imports and deletions keep current."""

from __future__ import annotations

import sqlite3

import pytest

from tests.support.workstation import MakeBundle, Workstation, first_submission
from tests.workstation.bundles import Sent
from workstation.catalogue import list_items
from workstation.catalogue_index import (
    CatalogueIndex,
    ItemFilter,
    index_path,
    open_index,
    rebuild_index,
)
from workstation.errors import CatalogueIndexBroken
from workstation.service import WorkstationService
from workstation.store import open_store


def _service(workstation: Workstation) -> WorkstationService:
    return WorkstationService(open_store(workstation.store))


def _import_two_sources(workstation: Workstation, make_bundle: MakeBundle) -> None:
    sent = [
        *first_submission(["platform"]),
        Sent("message", "Второй источник: протокол задержания.".encode(), source="quiet heron",
             received_at="2026-11-29T10:00:00.000000Z"),
        Sent("file", b"%PDF-1.4 not really\n", name="protocol.pdf", source="quiet heron",
             received_at="2026-11-29T10:00:00.000000Z"),
    ]
    code, _out, err = workstation.run("import", str(make_bundle(sent)))
    assert code == 0, err


def test_an_import_lists_its_items_without_a_rebuild(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    _import_two_sources(workstation, make_bundle)
    page = _service(workstation).list_items()
    store_ids = {item.item_id for item in list_items(open_store(workstation.store))}
    assert page.total == 4
    assert {row.item_id for row in page.rows} == store_ids


def test_filters_narrow_by_kind_source_name_and_date(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    _import_two_sources(workstation, make_bundle)
    service = _service(workstation)
    heron = next(row for row in service.list_sources().rows if row.designation == "quiet heron")

    assert service.list_items(ItemFilter(kind="message")).total == 2
    by_source = service.list_items(ItemFilter(source_uuid=heron.source_uuid))
    assert {row.display_name for row in by_source.rows} >= {"protocol.pdf"}
    assert by_source.total == 2
    assert [r.name for r in service.list_items(ItemFilter(text="PROTO")).rows] == ["protocol.pdf"]
    assert service.list_items(ItemFilter(received_from="2026-11-28")).total == 2
    assert service.list_items(ItemFilter(received_to="2026-11-28")).total == 2
    # A person's % is a character to find, not a wildcard.
    assert service.list_items(ItemFilter(text="%")).total == 0


def test_pages_split_the_list_and_stay_in_range(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    _import_two_sources(workstation, make_bundle)
    service = _service(workstation)
    first = service.list_items(page=1, page_size=3)
    second = service.list_items(page=2, page_size=3)
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (4, 2, 3, 1)
    assert not {r.item_id for r in first.rows} & {r.item_id for r in second.rows}
    assert service.list_items(page=99, page_size=3).rows == ()


def test_a_missing_index_is_rebuilt_from_the_store(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    _import_two_sources(workstation, make_bundle)
    store = open_store(workstation.store)
    index_path(store).unlink()
    assert open_index(store).count() == 4


def test_the_rebuild_command_restores_a_stale_index(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    _import_two_sources(workstation, make_bundle)
    store = open_store(workstation.store)
    with sqlite3.connect(index_path(store)) as db:
        db.execute("DELETE FROM items")
    assert open_index(store).count() == 0

    code, out, _err = workstation.run("catalogue", "rebuild")

    assert code == 0
    assert "4 item(s)" in out
    assert open_index(store).count() == 4


def test_an_unreadable_index_says_how_to_rebuild_it(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    _import_two_sources(workstation, make_bundle)
    store = open_store(workstation.store)
    index_path(store).write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogueIndexBroken, match="catalogue rebuild"):
        CatalogueIndex(index_path(store)).list_items(ItemFilter())
    assert rebuild_index(store) == 4


def test_a_deleted_item_leaves_the_list(workstation: Workstation, make_bundle: MakeBundle) -> None:
    _import_two_sources(workstation, make_bundle)
    service = _service(workstation)
    victim = service.list_items(ItemFilter(text="protocol")).rows[0]

    code, _out, err = workstation.run("delete", victim.item_id, "--reason", "duplicate",
                                      "--yes")

    assert code == 0, err
    assert service.list_items(ItemFilter(text="protocol")).total == 0
    assert service.list_items().total == 3


def test_the_start_of_an_item_id_finds_the_item(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    _import_two_sources(workstation, make_bundle)
    service = _service(workstation)
    wanted = service.list_items().rows[2].item_id
    assert [row.item_id for row in service.list_items(ItemFilter(text=wanted[:8])).rows] == [
        wanted
    ]


def test_a_name_search_ignores_case_in_cyrillic_too(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    sent = [Sent("file", b"%PDF-1.4 stand-in\n", name="Пратакол затрымання.pdf")]
    workstation.run("import", str(make_bundle(sent)))
    service = _service(workstation)
    assert service.list_items(ItemFilter(text="пратакол")).total == 1
    assert service.list_items(ItemFilter(text="ЗАТРЫМАННЯ")).total == 1


def test_the_list_of_sources_counts_items_and_follows_deletions(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    _import_two_sources(workstation, make_bundle)
    service = _service(workstation)
    heron = next(r for r in service.list_sources().rows if r.designation == "quiet heron")
    assert (heron.items, heron.first_received_on, heron.last_received_on) == (
        2, "2026-11-29", "2026-11-29")
    for row in service.list_items(ItemFilter(source_uuid=heron.source_uuid)).rows:
        workstation.run("delete", row.item_id, "--reason", "asked by the source", "--yes")
    assert [r.designation for r in service.list_sources().rows] == ["brave tortoise"]


def test_an_index_of_an_older_layout_is_rebuilt_when_opened(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    _import_two_sources(workstation, make_bundle)
    store = open_store(workstation.store)
    with sqlite3.connect(index_path(store)) as db:
        db.execute("PRAGMA user_version = 1")
    assert open_index(store).count() == 4
