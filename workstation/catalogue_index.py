"""The catalogue index: a derived SQLite file that lists, filters and pages items quickly.

The store's `originals/<id>/item.json` and `submissions/*.json` stay the truth; this index is a
copy of the few fields a list needs (kind, size, name, dates, which sources sent it), so a page
of a list at 100,000 items reads a few rows instead of 100,000 JSON files.

Flow: `rebuild` reads every item of the store into a new file beside the old one and renames it
over the old one, so a crash mid-rebuild leaves the previous index (or none); `record_items`
updates the rows of the items an import or repair touched; `forget_item` drops a deleted one.
If the file is missing, `open_index` rebuilds it first. If it is unreadable (not SQLite, a
different schema), `CatalogueIndexBroken` says to run `skrynka-workstation catalogue rebuild`,
which always works because the store holds everything the index does.

Full-text search can live beside this as its own module and table; nothing here assumes it
does not.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from workstation.catalogue import Item, load_item
from workstation.errors import CatalogueIndexBroken
from workstation.store import EvidenceStore

INDEX_NAME = "catalogue.sqlite"
SCHEMA_VERSION = 2
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

_SCHEMA = """
CREATE TABLE items (
    item_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    name TEXT,
    -- casefold()ed in Python: SQLite's lower() folds ASCII only, and names are often Cyrillic.
    name_folded TEXT NOT NULL,
    first_imported_at TEXT NOT NULL,
    first_received_on TEXT NOT NULL
);
CREATE TABLE submissions (
    submission_uuid TEXT NOT NULL,
    item_id TEXT NOT NULL,
    source_uuid TEXT NOT NULL,
    source_designation TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_on TEXT NOT NULL,
    PRIMARY KEY (item_id, submission_uuid)
);
-- One row per source, kept in step with `submissions`, so the list of sources is a page of
-- rows rather than a grouping of every submission.
CREATE TABLE sources (
    source_uuid TEXT PRIMARY KEY,
    designation TEXT NOT NULL,
    items INTEGER NOT NULL,
    first_received_on TEXT NOT NULL,
    last_received_on TEXT NOT NULL
);
CREATE INDEX items_by_time ON items (first_imported_at DESC, item_id);
CREATE INDEX items_by_kind ON items (kind, first_imported_at DESC, item_id);
CREATE INDEX items_by_received ON items (first_received_on, first_imported_at DESC);
CREATE INDEX submissions_by_source ON submissions (source_uuid, item_id);
CREATE INDEX submissions_by_uuid ON submissions (submission_uuid);
CREATE INDEX sources_by_last ON sources (last_received_on DESC, source_uuid);
"""
# `where` in the queries below is built from fixed fragments (`_where`); values are bound.
_COLUMNS = "SELECT item_id, kind, size, name, first_imported_at, first_received_on"
_SUMMARISE_SOURCES = """
INSERT OR REPLACE INTO sources
SELECT source_uuid, MAX(source_designation), COUNT(DISTINCT item_id), MIN(received_on),
       MAX(received_on)
FROM submissions {where} GROUP BY source_uuid
"""


@dataclass(frozen=True)
class ItemFilter:
    """What a person narrowed a list to; every field is optional."""

    kind: str | None = None
    source_uuid: str | None = None
    text: str | None = None
    received_from: str | None = None
    received_to: str | None = None


@dataclass(frozen=True)
class ItemRow:
    item_id: str
    kind: str
    size: int
    name: str | None
    first_imported_at: str
    first_received_on: str
    sources: tuple[str, ...]

    @property
    def display_name(self) -> str:
        return self.name or f"{self.kind}-{self.item_id[:12]}"


@dataclass(frozen=True)
class ItemPage:
    rows: tuple[ItemRow, ...]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class SourceRow:
    source_uuid: str
    designation: str
    items: int
    first_received_on: str
    last_received_on: str


@dataclass(frozen=True)
class SourcePage:
    rows: tuple[SourceRow, ...]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def index_path(store: EvidenceStore) -> Path:
    return store.root / INDEX_NAME


class CatalogueIndex:
    """Queries over one store's index file; a connection per call, so threads may share it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = sqlite3.connect(self.path, timeout=10)
        except sqlite3.Error as exc:
            raise CatalogueIndexBroken(str(self.path), str(exc)) from exc
        try:
            with closing(connection):
                yield connection
        except sqlite3.DatabaseError as exc:
            raise CatalogueIndexBroken(str(self.path), str(exc)) from exc

    def schema_version(self) -> int:
        with self._connect() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    def record_items(self, items: Iterable[Item]) -> None:
        """Insert or replace the rows of these items (after an import or a repair)."""
        with self._connect() as db, db:
            touched: set[str] = set()
            _insert_items(db, items, touched)
            _summarise_sources(db, touched)

    def forget_item(self, item_id: str) -> None:
        with self._connect() as db, db:
            touched = {row[0] for row in db.execute(
                "SELECT source_uuid FROM submissions WHERE item_id = ?", (item_id,))}
            db.execute("DELETE FROM items WHERE item_id = ?", (item_id,))
            db.execute("DELETE FROM submissions WHERE item_id = ?", (item_id,))
            _summarise_sources(db, touched)

    def list_items(self, wanted: ItemFilter, page: int = 1, page_size: int = PAGE_SIZE
                   ) -> ItemPage:
        """One page of items, newest import first, narrowed by `wanted`."""
        page_size = min(max(1, page_size), MAX_PAGE_SIZE)
        page = max(1, page)
        where, params = _where(wanted)
        limits = [page_size, (page - 1) * page_size]
        with self._connect() as db:
            if wanted.text:
                # A name search reads every row whatever happens; one pass that counts the
                # matches and sorts only them (`+` keeps SQLite from walking the time index
                # and fetching each row from it) beats a count and a walk.
                found = db.execute(
                    f"{_COLUMNS}, COUNT(*) OVER () FROM items{where}"
                    " ORDER BY +first_imported_at DESC, item_id LIMIT ? OFFSET ?",
                    [*params, *limits],
                ).fetchall()
                rows = [row[:6] for row in found]
                total = int(found[0][6]) if found else self._count(db, where, params)
            else:
                total = self._count(db, where, params)
                rows = db.execute(
                    f"{_COLUMNS} FROM items{where}"
                    " ORDER BY first_imported_at DESC, item_id LIMIT ? OFFSET ?",
                    [*params, *limits],
                ).fetchall()
            sources = _sources_of(db, [row[0] for row in rows])
        return ItemPage(
            rows=tuple(
                ItemRow(row[0], row[1], int(row[2]), row[3], row[4], row[5],
                        sources.get(row[0], ()))
                for row in rows
            ),
            total=total,
            page=page,
            page_size=page_size,
        )

    @staticmethod
    def _count(db: sqlite3.Connection, where: str, params: list[str | int]) -> int:
        return int(db.execute(f"SELECT COUNT(*) FROM items{where}", params).fetchone()[0])  # noqa: S608

    def list_sources(self, page: int = 1, page_size: int = PAGE_SIZE) -> SourcePage:
        page_size = min(max(1, page_size), MAX_PAGE_SIZE)
        page = max(1, page)
        with self._connect() as db:
            total = int(db.execute("SELECT COUNT(*) FROM sources").fetchone()[0])
            rows = db.execute(
                "SELECT source_uuid, designation, items, first_received_on, last_received_on"
                " FROM sources ORDER BY last_received_on DESC, source_uuid LIMIT ? OFFSET ?",
                (page_size, (page - 1) * page_size),
            ).fetchall()
        return SourcePage(
            rows=tuple(SourceRow(r[0], r[1], int(r[2]), r[3], r[4]) for r in rows),
            total=total, page=page, page_size=page_size,
        )

    def source(self, source_uuid: str) -> SourceRow | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT source_uuid, designation, items, first_received_on, last_received_on"
                " FROM sources WHERE source_uuid = ?",
                (source_uuid,),
            ).fetchone()
        return None if row is None else SourceRow(row[0], row[1], int(row[2]), row[3], row[4])

    def item_ids_of_source(self, source_uuid: str) -> list[str]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT DISTINCT item_id FROM submissions WHERE source_uuid = ? ORDER BY item_id",
                (source_uuid,),
            ).fetchall()
        return [row[0] for row in rows]

    def kinds(self) -> list[str]:
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT DISTINCT kind FROM items ORDER BY kind")]

    def count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM items").fetchone()[0])


def _where(wanted: ItemFilter) -> tuple[str, list[str | int]]:
    clauses: list[str] = []
    params: list[str | int] = []
    if wanted.kind:
        clauses.append("kind = ?")
        params.append(wanted.kind)
    if wanted.source_uuid:
        clauses.append("item_id IN (SELECT item_id FROM submissions WHERE source_uuid = ?)")
        params.append(wanted.source_uuid)
    needle = (wanted.text or "").strip().casefold()
    if needle:
        # instr() rather than LIKE: a person's % or _ is matched literally. Hex text may also
        # be the start of an item id.
        if all(c in "0123456789abcdef" for c in needle):
            clauses.append("(instr(name_folded, ?) > 0 OR substr(item_id, 1, ?) = ?)")
            params += [needle, len(needle), needle]
        else:
            clauses.append("instr(name_folded, ?) > 0")
            params.append(needle)
    if wanted.received_from:
        clauses.append("first_received_on >= ?")
        params.append(wanted.received_from)
    if wanted.received_to:
        clauses.append("first_received_on <= ?")
        params.append(wanted.received_to)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _sources_of(db: sqlite3.Connection, item_ids: list[str]) -> dict[str, tuple[str, ...]]:
    if not item_ids:
        return {}
    marks = ",".join("?" for _ in item_ids)
    found: dict[str, set[str]] = {}
    for item_id, designation in db.execute(
        f"SELECT item_id, source_designation FROM submissions WHERE item_id IN ({marks})",  # noqa: S608
        item_ids,
    ):
        found.setdefault(item_id, set()).add(designation)
    return {item_id: tuple(sorted(names)) for item_id, names in found.items()}


def _insert_items(db: sqlite3.Connection, items: Iterable[Item],
                  touched_sources: set[str] | None = None) -> int:
    count = 0
    for item in items:
        received = min((sub.received_on for sub in item.submissions), default="")
        db.execute(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?, ?)",
            (item.item_id, item.kind, item.size, item.original_name,
             (item.original_name or "").casefold(), item.first_imported_at, received),
        )
        if touched_sources is not None:
            touched_sources.update(sub.source_uuid for sub in item.submissions)
        db.execute("DELETE FROM submissions WHERE item_id = ?", (item.item_id,))
        db.executemany(
            "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?)",
            [(sub.submission_uuid, item.item_id, sub.source_uuid, sub.source_designation,
              sub.kind, sub.received_on) for sub in item.submissions],
        )
        count += 1
    return count


def _summarise_sources(db: sqlite3.Connection, source_uuids: set[str]) -> None:
    """Bring the `sources` rows of these sources in step with their submissions."""
    for source_uuid in sorted(source_uuids):
        db.execute("DELETE FROM sources WHERE source_uuid = ?", (source_uuid,))
        db.execute(_SUMMARISE_SOURCES.format(where="WHERE source_uuid = ?"), (source_uuid,))


def _stored_items(store: EvidenceStore) -> Iterator[Item]:
    if not store.originals_dir.is_dir():
        return
    with os.scandir(store.originals_dir) as entries:
        for entry in entries:
            directory = Path(entry.path)
            if entry.is_dir() and (directory / "item.json").is_file():
                yield load_item(directory)


def rebuild_index(store: EvidenceStore) -> int:
    """Build the index afresh from the store (the truth); return how many items it holds."""
    final = index_path(store)
    temp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(temp)) as db:
            db.executescript(_SCHEMA)
            with db:
                count = _insert_items(db, _stored_items(store))
                db.execute(_SUMMARISE_SOURCES.format(where=""))
            db.execute("ANALYZE")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            # Readers (the desk) and a writer (an import from the command line) at once.
            db.execute("PRAGMA journal_mode=WAL")
            db.commit()
        os.chmod(temp, 0o600)
        for suffix in ("-wal", "-shm"):
            Path(f"{final}{suffix}").unlink(missing_ok=True)
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    return count


def open_index(store: EvidenceStore) -> CatalogueIndex:
    """The store's index, built first if there is none yet or it is of an older layout."""
    path = index_path(store)
    if not path.is_file():
        rebuild_index(store)
    index = CatalogueIndex(path)
    if index.schema_version() != SCHEMA_VERSION:
        rebuild_index(store)
    return index
