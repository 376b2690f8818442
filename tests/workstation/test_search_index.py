"""Search: what sources wrote and what their files say is found in any script; the index is
derived from the store, rebuilt from it, and a hostile file is recorded as not indexed."""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.pictures import scanned_pdf
from tests.support.workstation import MakeBundle, Workstation
from tests.workstation.bundles import Sent, intake_document
from tests.workstation.documents import _pdf, _stream, docx
from workstation.converters import Converter, convert_pdf
from workstation.errors import SearchIndexError
from workstation.sandbox import Sandbox, SandboxLimits, SandboxResult
from workstation.search_index import (
    index_items,
    index_path,
    index_problems,
    match_expression,
    open_index,
    optimize_index,
    query_words,
    sandbox_extractor,
    search,
    snippet,
    store_extracted,
)
from workstation.store import EvidenceStore, open_store
from workstation.text_extraction import Extracted, ocr_pages
from workstation.transliteration import fold_text


def pdf_that_takes_long_to_read() -> bytes:
    """230 kB: one page whose compressed content draws a glyph four million times."""
    content = b"BT /F1 1 Tf " + b"1 0 0 1 10 10 Tm (x) Tj " * 4_000_000 + b"ET"
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        _stream(zlib.compress(content, 9), b"/Filter /FlateDecode"),
    ])


def imported(workstation: Workstation, make_bundle: MakeBundle, sent: list[Sent]) -> str:
    code, out, err = workstation.run("import", str(make_bundle(sent)))
    assert code == 0, err
    return out


def found(workstation: Workstation, query: str) -> list[str]:
    code, out, err = workstation.run("search", query)
    assert code == 0, err
    return [line.split()[0] for line in out.splitlines() if line != "no items match"]


def open_store_at(root: Path) -> EvidenceStore:
    """A bare store directory: the index needs nothing else of a store."""
    return EvidenceStore(root)


def item_id(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.mark.slow
def test_a_scanned_russian_page_is_found_by_a_russian_word(
    workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path
) -> None:
    scan = scanned_pdf(tmp_path, ["ПРОТОКОЛ задержания", "Гражданин задержан у здания суда"])
    out = imported(workstation, make_bundle, [Sent("file", scan, name="scan-0001.pdf")])
    assert "not indexed" not in out
    assert found(workstation, "протокол") == [item_id(scan)]
    assert found(workstation, "задержан суда") == [item_id(scan)]
    assert found(workstation, "приговор") == []


@pytest.mark.slow
def test_the_text_of_an_office_document_is_found(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    document = docx("Тлумачэнне сведкі: затрыманне каля Акрэсціна.")
    out = imported(workstation, make_bundle, [Sent("file", document, name="statement.docx")])
    assert "not indexed" not in out
    assert found(workstation, "сведкі") == [item_id(document)]
    assert found(workstation, "Akrestsina") == [item_id(document)]


def test_a_name_in_cyrillic_is_found_by_its_latin_spelling_and_back(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    cyrillic = "Сёння ў двары бачылі Святлану Ціханоўскую і Алеся Бяляцкага.".encode()
    latin = b"Witness statement about Ales Bialiatski, Viasna."
    imported(workstation, make_bundle, [Sent("message", cyrillic), Sent("message", latin)])
    assert found(workstation, "Tsikhanouskaya") == [item_id(cyrillic)]
    assert found(workstation, "ЦІХАНОЎСКАЯ") == [item_id(cyrillic)]
    assert sorted(found(workstation, "Бяляцкі")) == sorted([item_id(cyrillic), item_id(latin)])
    assert sorted(found(workstation, "bialiatski")) == sorted([item_id(cyrillic), item_id(latin)])
    assert found(workstation, "Viasna") == [item_id(latin)]
    assert found(workstation, "Вясна") == [item_id(latin)]


def test_file_names_and_intake_answers_are_searchable(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    video = b"\x00\x00\x00\x18ftypmp42 not really a video"
    imported(workstation, make_bundle,
             [Sent("file", video, name="Okrestina_yard_night.mp4", intake=intake_document())])
    assert found(workstation, "okrestina") == [item_id(video)]
    # The intake says "Akrestsina, Minsk": the Belarusian spelling in Cyrillic finds it.
    assert found(workstation, "Акрэсціна") == [item_id(video)]
    assert found(workstation, "riot police") == [item_id(video)]


def test_a_deleted_item_is_no_longer_found(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    kept = "Затрымалі каля Акрэсціна ўначы.".encode()
    withdrawn = "Мяне збілі каля Акрэсціна, назавіце мяне толькі па імені Алеся.".encode()
    imported(workstation, make_bundle, [Sent("message", kept), Sent("message", withdrawn)])
    assert sorted(found(workstation, "Акрэсціна")) == sorted([item_id(kept), item_id(withdrawn)])

    code, _, err = workstation.run("delete", item_id(withdrawn), "--reason", "consent withdrawn",
                                   "--yes")

    assert code == 0, err
    assert found(workstation, "Акрэсціна") == [item_id(kept)]
    assert found(workstation, "Алеся") == []


def test_rebuilding_after_deleting_the_index_gives_the_same_results(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    imported(workstation, make_bundle, [
        Sent("message", "Затрымалі ў Гродне, побач з вакзалам.".encode()),
        Sent("message", b"Detained near the station in Hrodna."),
        Sent("file", b"plain notes about the station", name="notes.txt"),
    ])
    queries = ["вакзал", "station", "Hrodna", "Гродна", "notes"]
    before = {query: sorted(found(workstation, query)) for query in queries}
    assert all(before.values())
    index_path(open_store(workstation.store)).unlink()
    code, out, err = workstation.run("index", "rebuild")
    assert code == 0, err
    assert "rebuilt" in out
    assert {query: sorted(found(workstation, query)) for query in queries} == before


def test_a_pdf_whose_text_extraction_times_out_is_recorded_as_not_indexed(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    slow = pdf_that_takes_long_to_read()
    imported(workstation, make_bundle, [Sent("file", slow, name="Ivanov-report.pdf")])
    store = open_store(workstation.store)
    extractor = sandbox_extractor(store, Sandbox(), SandboxLimits(wall_seconds=0.5))
    notes = index_items(store, [item_id(slow)], extractor)
    assert len(notes) == 1
    assert "not indexed" in notes[0]
    assert "took more than 0.5 s" in notes[0]
    assert "pdftotext" in notes[0]
    assert "pdftotext" in index_problems(store)[item_id(slow)]
    # What could be read is still found: the name, in either script.
    assert [hit.item_id for hit in search(store, "Иванов")] == [item_id(slow)]


@pytest.mark.parametrize("query", ['"name', 'NEAR("a" "b")', "a* OR b:", "(((x", "-x AND",
                                   "^name", "name:x*"])
def test_a_query_with_search_syntax_characters_is_taken_as_words(
    workstation: Workstation, make_bundle: MakeBundle, query: str
) -> None:
    message = b"near a b or x and name"
    imported(workstation, make_bundle, [Sent("message", message)])
    assert found(workstation, query) == [item_id(message)]


def test_a_query_without_words_is_a_clear_error(workstation: Workstation) -> None:
    code, _out, err = workstation.run("search", "?! --")
    assert code != 0
    assert "no words" in err
    assert "Traceback" not in err


def test_every_query_word_is_quoted_and_folded() -> None:
    assert match_expression('Ціханоўская NEAR"') == '"tsihanousk"* "near"*'


def test_a_word_of_one_letter_is_matched_whole_not_as_a_prefix() -> None:
    # "у*" would be every word beginning with u: a thirtieth of a Russian text, and slow.
    assert match_expression("задержали у суда") == '"zaderzhal"* "u" "suda"*'


def test_a_word_of_one_letter_finds_that_word_only(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    with_word = "Его задержали у здания суда.".encode()
    without = "Удары по ногам, утром.".encode()
    imported(workstation, make_bundle, [Sent("message", with_word), Sent("message", without)])
    assert found(workstation, "у") == [item_id(with_word)]
    # Two letters are already a prefix.
    assert found(workstation, "уд") == [item_id(without)]


def test_indexing_an_item_again_replaces_its_rows(tmp_path: Path) -> None:
    store = open_store_at(tmp_path)
    path = index_path(store)
    with open_index(path) as connection, connection:
        store_extracted(connection, "a" * 64, Extracted([("message", "Затрымалі ў Гродне")]))
        store_extracted(connection, "b" * 64, Extracted([("message", "Hrodna station")]))
        store_extracted(connection, "a" * 64, Extracted([("ocr", "протокол задержания")]))
    assert search(store, "Гродна", path=path)[0].item_id == "b" * 64
    assert len(search(store, "Гродна", path=path)) == 1
    [hit] = search(store, "протокол", path=path)
    assert (hit.item_id, hit.field) == ("a" * 64, "ocr")
    with open_index(path) as connection:
        # FTS5 checks its index against the stored passages.
        connection.execute("INSERT INTO words (words) VALUES ('integrity-check')")
        assert connection.execute("SELECT count(*) FROM passages").fetchone()[0] == 2


def test_a_search_writes_nothing_to_the_index(tmp_path: Path) -> None:
    store = open_store_at(tmp_path)
    path = index_path(store)
    with open_index(path) as connection, connection:
        store_extracted(connection, "a" * 64, Extracted([("message", "Затрымалі ў Гродне")]))
    before = path.read_bytes()
    assert search(store, "Hrodna", path=path)
    assert path.read_bytes() == before


def test_an_index_of_an_older_layout_is_refused_with_advice_to_rebuild(tmp_path: Path) -> None:
    store = open_store_at(tmp_path)
    path = index_path(store)
    path.parent.mkdir()
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA user_version = 1")
    with pytest.raises(SearchIndexError, match=r"schema version 1.*index rebuild"):
        search(store, "Hrodna", path=path)


def test_rebuild_leaves_one_merged_segment(tmp_path: Path) -> None:
    store = open_store_at(tmp_path)
    path = index_path(store)
    with open_index(path) as connection:
        for n in range(30):
            with connection:
                store_extracted(connection, f"{n:064x}", Extracted([("message", f"слова {n}")]))
        segments_before = fts_segments(connection)
        optimize_index(connection)
        assert fts_segments(connection) == 1 < segments_before
    assert len(search(store, "слова", path=path)) == 20


def fts_segments(connection: sqlite3.Connection) -> int:
    # One row per leaf page of the segments: segment ids are the high bits of the page id.
    rows = connection.execute("SELECT DISTINCT id >> 37 FROM words_data WHERE id > 10")
    return len(rows.fetchall())


def test_a_snippet_shows_the_first_match_in_its_context() -> None:
    text = ("Сведка: «Мяне затрымалі 9 жніўня». Потым у двары бачылі Святлану Ціханоўскую "
            "і Алеся Бяляцкага; пасля іх павезлі на Акрэсціна, дзе трымалі тры дні.")
    shown = snippet(text, fold_text(text), query_words("Tsikhanouskaya"), size=8)
    assert shown == "…у двары бачылі Святлану [Ціханоўскую] і Алеся Бяляцкага…"
    assert snippet(text, fold_text(text), query_words("Сведка"), size=4) == (
        "[Сведка]: «Мяне затрымалі 9…")


def test_a_snippet_stays_right_where_a_word_folds_to_nothing() -> None:
    # A lone soft sign folds to no word, so the n-th words of text and fold no longer pair up.
    text = "ь ь ь Бяляцкі сказаў праўду"
    assert snippet(text, fold_text(text), query_words("праўду"), size=4) == (
        "…Бяляцкі сказаў [праўду]")


@dataclass(frozen=True)
class WatchedSandbox(Sandbox):
    """The real sandbox, noting the environment each tool was given."""

    environments: list[dict[str, str]] = field(default_factory=list)

    def run(self, command: Sequence[str], **kw: Any) -> SandboxResult:
        self.environments.append(dict(kw.get("environment") or {}))
        return super().run(command, **kw)


@pytest.mark.slow
def test_ocr_runs_tesseract_in_one_thread(tmp_path: Path) -> None:
    # OpenMP threads waiting on each other took three times as long on a busy machine.
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(scanned_pdf(tmp_path, ["ПРОТОКОЛ задержания"]))
    sandbox = WatchedSandbox()
    work = tmp_path / "work"
    work.mkdir()
    converter = Converter(sandbox, SandboxLimits(), work)
    pages = convert_pdf(converter, pdf).files

    text = ocr_pages(converter, pages)

    assert "задержания" in text
    assert sandbox.environments[-1]["OMP_THREAD_LIMIT"] == "1"


def test_a_word_index_out_of_step_with_its_passages_is_an_error_with_advice(
    tmp_path: Path
) -> None:
    store = open_store_at(tmp_path)
    path = index_path(store)
    with open_index(path) as connection, connection:
        store_extracted(connection, "a" * 64, Extracted([("message", "Затрымалі ў Гродне")]))
        # A passage removed behind the triggers' back (by hand, or a damaged file).
        connection.execute("DROP TRIGGER passage_removed")
        connection.execute("DELETE FROM passages")
    with pytest.raises(SearchIndexError, match=r"passage 1, which is not there.*index rebuild"):
        search(store, "Hrodna", path=path)
