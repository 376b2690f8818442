"""The search index: a SQLite FTS5 file derived from the store, never the record of anything.

Layout: `DIR/index/search.sqlite` holds
- `passages`: one row per name, intake answers, message, text layer or OCR text of an item:
  (item id, field, text, folded), where `folded` is `transliteration.fold_text(text)`, so
  Cyrillic and Latin spellings of a name meet there; an ordinary index finds an item's rows;
- `words`, an FTS5 index of `passages.folded` only (external content, tokenizer `unicode61
  remove_diacritics 2`), kept in step by triggers. Queries are folded the same way, so one
  indexed column serves every script; the text itself is stored once, for the snippet;
- `items`: per item, whether it is indexed, and if a part of it is "not indexed", why.

Flow:
- `index_items` (called after an import has committed, by whoever imported) extracts each item
  in the sandbox (`workstation.text_extraction`) and replaces its rows in one transaction. It
  never raises for an item: a failure is returned as a note and the import stands; `rebuild`
  repairs it.
- `rebuild_index` builds a new file next to the old one from every item in the store, merges
  the FTS5 segments into one (`optimize_index`) and renames it into place, so a search meanwhile
  sees the old index, and a failed rebuild leaves the old one.
- `search` turns the query into words (FTS5 syntax in it is never interpreted: every word is
  quoted), folds them, matches each word of two letters or more as a prefix (one letter alone
  would be the prefix of a thirtieth of all words), ranks by BM25 in SQL, and then reads the
  text of the best rows only, for one hit per item with a snippet around the first match.
A missing index file is created empty on first use; a damaged one, or one of an older schema,
is `SearchIndexError`, whose advice is to rebuild.
"""

from __future__ import annotations

import os
import re
import sqlite3
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from workstation.catalogue import Item, list_items, load_item
from workstation.errors import SearchIndexError
from workstation.sandbox import Sandbox, SandboxLimits
from workstation.store import EvidenceStore, utc_now
from workstation.text_extraction import Extracted, extract_item
from workstation.transliteration import fold_text

INDEX_DIR = "index"
INDEX_NAME = "search.sqlite"
SCHEMA_VERSION = 2
SNIPPET_TOKENS = 12
# Rows read per hit wanted: an item has a few rows (name, intake, text), one hit each.
ROWS_PER_HIT = 5
STEM_MIN_LENGTH = 5
MAX_ENDING = 3
FOLDED_VOWELS = "aeiou"
# A word is what the unicode61 tokenizer would keep: letters, digits, marks.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL,
    field TEXT NOT NULL,
    text TEXT NOT NULL,
    folded TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_by_item ON passages (item_id);
CREATE VIRTUAL TABLE IF NOT EXISTS words USING fts5(
    folded, content = 'passages', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS passage_added AFTER INSERT ON passages BEGIN
    INSERT INTO words (rowid, folded) VALUES (new.id, new.folded);
END;
CREATE TRIGGER IF NOT EXISTS passage_removed AFTER DELETE ON passages BEGIN
    INSERT INTO words (words, rowid, folded) VALUES ('delete', old.id, old.folded);
END;
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    indexed_at TEXT NOT NULL,
    problems TEXT NOT NULL
);
"""

Extractor = Callable[[Item], Extracted]
T = TypeVar("T")


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
            if version == 0:
                # A new file. A search only reads: it writes nothing (and syncs nothing).
                connection.executescript(_SCHEMA)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
            elif version != SCHEMA_VERSION:
                raise SearchIndexError(f"{path} has schema version {version}, this program "
                                       f"reads version {SCHEMA_VERSION}")
            yield connection
    except sqlite3.DatabaseError as exc:
        raise SearchIndexError(f"{path}: {exc}") from exc


def store_extracted(connection: sqlite3.Connection, item_id: str, found: Extracted) -> None:
    """Replace the rows of one item (the caller commits)."""
    # The index on item_id finds the old rows; the trigger takes them out of `words`.
    connection.execute("DELETE FROM passages WHERE item_id = ?", (item_id,))
    connection.executemany(
        "INSERT INTO passages (item_id, field, text, folded) VALUES (?, ?, ?, ?)",
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
        # The trigger takes the passages' words out of `words` too.
        connection.execute("DELETE FROM passages WHERE item_id = ?", (item_id,))
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
        with open_index(building) as connection:
            optimize_index(connection)
        os.replace(building, final)
    finally:
        building.unlink(missing_ok=True)
    return notes


def optimize_index(connection: sqlite3.Connection) -> None:
    """Merge the FTS5 segments written item by item into one b-tree: a query then reads one
    list per word instead of one per segment."""
    with connection:
        connection.execute("INSERT INTO words (words) VALUES ('optimize')")


def query_words(query: str) -> list[str]:
    """The folded words of a query as the index holds them (NFC first, then `fold_text`)."""
    words = _WORD.findall(unicodedata.normalize("NFC", query))
    return [w for word in words for w in _WORD.findall(fold_text(word))]


def match_expression(query: str) -> str | None:
    """The FTS5 expression for a query typed by a person, or None if it has no words.

    Every word is folded and quoted (so `"`, `*`, `:`, `NEAR`, `OR`, parentheses are just text)
    and, stemmed (`stem_word`), matched as a prefix, which also finds inflected forms (Иванов
    finds Иванова) and other spellings (Tsikhanouskaya finds Ціханоўская). A word of one letter
    is matched whole. All words must occur in the same passage.
    """
    words = query_words(query)
    if not words:
        return None
    return " ".join(f'"{stem_word(word)}"*' if len(word) > 1 else f'"{word}"'
                    for word in words)


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
    words = query_words(query)
    hits: dict[str, SearchHit] = {}
    with open_index(path or index_path(store)) as connection:
        try:
            # Ranking needs only the FTS5 index; the text of a row is read for the best rows
            # alone (a snippet made in SQL would be made for every matching row before LIMIT).
            ranked = connection.execute(
                "SELECT rowid FROM words WHERE words MATCH ? ORDER BY bm25(words) LIMIT ?",
                (expression, limit * ROWS_PER_HIT),
            ).fetchall()
            for (rowid,) in ranked:
                row = connection.execute(
                    "SELECT item_id, field, text, folded FROM passages WHERE id = ?", (rowid,)
                ).fetchone()
                if row is None:
                    raise SearchIndexError(f"{path or index_path(store)}: the word index names"
                                           f" passage {rowid}, which is not there")
                item_id, field, text, folded = row
                if item_id not in hits:
                    hits[item_id] = SearchHit(str(item_id), str(field),
                                              snippet(text, folded, words, markers=markers))
                if len(hits) == limit:
                    break
        except sqlite3.DatabaseError as exc:
            raise SearchIndexError(str(exc)) from exc
    return list(hits.values())


def snippet(text: str, folded: str, words: Sequence[str], size: int = SNIPPET_TOKENS,
            markers: tuple[str, str] = ("[", "]")) -> str:
    """About `size` words of `text` around its first word matching a folded query word (as the
    index matches: whole for one letter, else by prefix of the stem), matches between
    `markers` ([ ] unless the caller picks others), `…` where text was left out, runs of white
    space as one space. `folded` is `fold_text(text)` as stored in the index."""
    stems = tuple(stem_word(word) for word in words if len(word) > 1)
    whole = frozenset(word for word in words if len(word) == 1)

    def matches(folded_word: str) -> bool:
        return folded_word in whole or folded_word.startswith(stems)

    def hit(token: re.Match[str]) -> bool:
        return any(matches(word) for word in _WORD.findall(fold_text(token.group())))

    # The n-th word of `folded` is nearly always the fold of the n-th word of `text`, so the
    # first match is found without folding each word again; a word that folds to no word or
    # to two (a lone soft sign, "½") breaks the pairing, and then every word is folded.
    pairs = zip(_WORD.finditer(text), _WORD.finditer(folded), strict=False)
    before, pair = _first_match(pairs, lambda p: matches(p[1].group()), size // 2)
    if pair is not None and hit(pair[0]):
        window = [token for token, _folded in before] + [pair[0]]
    else:
        plain_before, token = _first_match(_WORD.finditer(text), hit, size // 2)
        window = [*plain_before, token] if token is not None else []
    if not window:  # no word matches here (the tokenizers disagree): show the beginning
        first = _WORD.search(text)
        if first is None:
            return ""
        window = [first]
    for token in _WORD.finditer(text, window[-1].end()):
        if len(window) >= size:
            break
        window.append(token)
    parts, end = [], window[0].start()
    for token in window:
        parts += [text[end:token.start()],
                  f"{markers[0]}{token.group()}{markers[1]}" if hit(token) else token.group()]
        end = token.end()
    shown = " ".join("".join(parts).split())
    if text[: window[0].start()].strip():
        shown = "…" + shown
    if text[window[-1].end():].strip():
        shown += "…"
    return shown


def _first_match(tokens: Iterable[T], found: Callable[[T], bool],
                 keep: int) -> tuple[list[T], T | None]:
    """The first token `found` (None if none is) and up to `keep` tokens before it."""
    before: deque[T] = deque(maxlen=keep)
    for token in tokens:
        if found(token):
            return list(before), token
        before.append(token)
    return [], None


def index_problems(store: EvidenceStore, path: Path | None = None) -> dict[str, str]:
    """Items with a part not indexed, and why."""
    with open_index(path or index_path(store)) as connection:
        rows = connection.execute("SELECT item_id, problems FROM items WHERE problems != ''")
        return {str(item_id): str(problems) for item_id, problems in rows}
