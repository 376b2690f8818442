"""The search index: a SQLite FTS5 file derived from the store, never the record of anything.

Layout: `DIR/index/search.sqlite` holds
- `entries`, an FTS5 table (tokenizer `unicode61 remove_diacritics 2`, so case and diacritics
  do not matter) of (item id, field, text, folded): one row per name, intake answers, message,
  text layer or OCR text of an item; `folded` is `transliteration.fold_text(text)`, so Cyrillic
  and Latin spellings of a name meet there;
- `items`: per item, whether it is indexed, and if a part of it is "not indexed", why.

Flow:
- `index_items` (called after an import has committed, by whoever imported) extracts each item
  in the sandbox (`workstation.text_extraction`) and replaces its rows in one transaction. It
  never raises for an item: a failure is returned as a note and the import stands; `rebuild`
  repairs it.
- `rebuild_index` builds a new file next to the old one from every item in the store and
  renames it into place, so a search meanwhile sees the old index, and a failed rebuild leaves
  the old one.
- `search` turns the query into words (FTS5 syntax in it is never interpreted: every word is
  quoted), matches each word as a prefix both in the text and, folded, in the folded column, and
  returns one hit per item, best first, with a snippet of the text.
A missing index file is created empty on first use; a damaged one is `SearchIndexError`, whose
advice is to rebuild.
"""

from __future__ import annotations

import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from workstation.catalogue import Item, list_items, load_item
from workstation.errors import SearchIndexError
from workstation.sandbox import Sandbox, SandboxLimits
from workstation.store import EvidenceStore, utc_now
from workstation.text_extraction import Extracted, extract_item
from workstation.transliteration import fold_text

INDEX_DIR = "index"
INDEX_NAME = "search.sqlite"
SCHEMA_VERSION = 1
SNIPPET_TOKENS = 12
STEM_MIN_LENGTH = 5
MAX_ENDING = 3
FOLDED_VOWELS = "aeiou"
# A word is what the unicode61 tokenizer would keep: letters, digits, marks.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS entries USING fts5(
    item_id UNINDEXED, field UNINDEXED, text, folded,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    indexed_at TEXT NOT NULL,
    problems TEXT NOT NULL
);
PRAGMA user_version = {SCHEMA_VERSION};
"""

Extractor = Callable[[Item], Extracted]


@dataclass(frozen=True)
class SearchHit:
    item_id: str
    field: str
    snippet: str


def index_path(store: EvidenceStore) -> Path:
    return store.root / INDEX_DIR / INDEX_NAME


@contextmanager
def open_index(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to the index at `path`, created (empty) if missing."""
    path.parent.mkdir(mode=0o700, exist_ok=True)
    try:
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise SearchIndexError(f"{path} has schema version {version}")
            connection.executescript(_SCHEMA)
            yield connection
    except sqlite3.DatabaseError as exc:
        raise SearchIndexError(f"{path}: {exc}") from exc


def store_extracted(connection: sqlite3.Connection, item_id: str, found: Extracted) -> None:
    """Replace the rows of one item (the caller commits)."""
    connection.execute("DELETE FROM entries WHERE item_id = ?", (item_id,))
    connection.executemany(
        "INSERT INTO entries (item_id, field, text, folded) VALUES (?, ?, ?, ?)",
        [(item_id, field, text, fold_text(text)) for field, text in found.entries],
    )
    connection.execute(
        "INSERT OR REPLACE INTO items (item_id, indexed_at, problems) VALUES (?, ?, ?)",
        (item_id, utc_now(), "\n".join(found.problems)),
    )


def forget_item(store: EvidenceStore, item_id: str, path: Path | None = None) -> None:
    """Remove one deleted item's text from the index, so a search no longer shows it.

    Raises SearchIndexError when the index cannot be opened; `index rebuild` makes a new one
    from the store, which no longer holds the item.
    """
    with open_index(path or index_path(store)) as connection, connection:
        connection.execute("DELETE FROM entries WHERE item_id = ?", (item_id,))
        connection.execute("DELETE FROM items WHERE item_id = ?", (item_id,))


def sandbox_extractor(store: EvidenceStore, sandbox: Sandbox,
                      limits: SandboxLimits) -> Extractor:
    return lambda item: extract_item(store, item, sandbox, limits)


def index_items(store: EvidenceStore, item_ids: Sequence[str], extractor: Extractor,
                path: Path | None = None) -> list[str]:
    """Index (again) the given items; return a note per item not (fully) indexed. Never raises
    for an item: the notes say what to do."""
    notes: list[str] = []
    try:
        with open_index(path or index_path(store)) as connection:
            for item_id in item_ids:
                notes += _index_one(connection, store, item_id, extractor)
    except SearchIndexError as exc:
        notes.append(f"search index not updated: {exc}")
    return notes


def _index_one(connection: sqlite3.Connection, store: EvidenceStore, item_id: str,
               extractor: Extractor) -> list[str]:
    try:
        found = extractor(load_item(store.original_dir(item_id)))
    except Exception as exc:  # noqa: BLE001 - the import stands whatever the extractor does
        found = Extracted(problems=[f"the text could not be extracted ({exc})"])
    with connection:
        store_extracted(connection, item_id, found)
    return [f"{item_id[:16]} not indexed: {problem}" for problem in found.problems]


def rebuild_index(store: EvidenceStore, extractor: Extractor) -> list[str]:
    """Recreate the index from every item in the store; return the notes of `index_items`."""
    final = index_path(store)
    building = final.with_name(f"{INDEX_NAME}.new-{os.getpid()}")
    building.unlink(missing_ok=True)
    items: Iterable[Item] = list_items(store)
    try:
        notes = index_items(store, [item.item_id for item in items], extractor, building)
        os.replace(building, final)
    finally:
        building.unlink(missing_ok=True)
    return notes


def match_expression(query: str) -> str | None:
    """The FTS5 expression for a query typed by a person, or None if it has no words.

    Every word is quoted (so `"`, `*`, `:`, `NEAR`, `OR`, parentheses are just text) and matched
    as a prefix, which also finds inflected forms (Иванов finds Иванова). All words must occur
    in the text itself, or all, folded and stemmed (`stem_word`), in its folded form.
    """
    words = _WORD.findall(unicodedata.normalize("NFC", query))
    if not words:
        return None
    plain = " ".join(f'"{word}"*' for word in words)
    folded_words = [w for word in words for w in _WORD.findall(fold_text(word))]
    folded = " ".join(f'"{stem_word(word)}"*' for word in folded_words)
    if not folded:
        return f"text : ({plain})"
    return f"(text : ({plain})) OR (folded : ({folded}))"


def stem_word(folded: str) -> str:
    """A folded query word without its inflection ending: trailing vowels (at most three) of a
    word longer than five letters, so the prefix match finds the other cases of a Belarusian or
    Russian noun or name (Ціханоўская finds Ціханоўскую, Бяляцкі finds Бяляцкага)."""
    if len(folded) <= STEM_MIN_LENGTH:
        return folded
    stem = folded.rstrip(FOLDED_VOWELS)
    return stem if len(folded) - len(stem) <= MAX_ENDING else folded[:-MAX_ENDING]


def search(store: EvidenceStore, query: str, limit: int = 20,
           path: Path | None = None, markers: tuple[str, str] = ("[", "]")) -> list[SearchHit]:
    """Items matching `query`, best first, one hit per item; SearchIndexError if unusable.
    The snippet marks matched words with `markers` (the desk picks characters of its own)."""
    expression = match_expression(query)
    if expression is None:
        raise SearchIndexError("the query has no words to search for", advice=False)
    hits: dict[str, SearchHit] = {}
    with open_index(path or index_path(store)) as connection:
        try:
            rows = connection.execute(
                "SELECT item_id, field, snippet(entries, 2, ?, ?, '…', ?) FROM entries"
                " WHERE entries MATCH ? ORDER BY bm25(entries) LIMIT ?",
                (markers[0], markers[1], SNIPPET_TOKENS, expression, limit * 5),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise SearchIndexError(str(exc)) from exc
    for item_id, field, snippet in rows:
        if item_id not in hits:
            hits[item_id] = SearchHit(str(item_id), str(field), " ".join(str(snippet).split()))
    return list(hits.values())[:limit]


def index_problems(store: EvidenceStore, path: Path | None = None) -> dict[str, str]:
    """Items with a part not indexed, and why."""
    with open_index(path or index_path(store)) as connection:
        rows = connection.execute("SELECT item_id, problems FROM items WHERE problems != ''")
        return {str(item_id): str(problems) for item_id, problems in rows}
