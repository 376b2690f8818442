"""Search: query time over 100,000 items, index build against its extractors, OCR throughput.

- 100,000 generated items (a file name and a 30-word message each, in Belarusian, Russian and
  English words, with a name from a list in either script) are written into an index; then the
  median time of queries: a rare name in Latin script that was written in Cyrillic, a common
  word, two words, an inflected Russian word. Target < 100 ms each.
- Building the index of 12 items from a store (6 two-page text PDFs, whose text layers
  `pdftotext` reads in the sandbox, and 6 messages) against running the same extractors on the
  same items without writing an index: extractors' time / build time, target ≥ 0.8.
- OCR: pages per minute of `tesseract -l bel+rus+eng` in the sandbox on 1240 × 1754 page
  images of Russian text (rendered by Debian's Pillow with DejaVu Sans).

    python -m bench search
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Protocol

from bench.bench_rendition import _text_pdf
from bench.timing import median_ms
from workstation.catalogue import list_items
from workstation.converters import Converter
from workstation.sandbox import Sandbox, SandboxLimits
from workstation.search_index import (
    index_path,
    open_index,
    rebuild_index,
    sandbox_extractor,
    search,
    store_extracted,
)
from workstation.store import EvidenceStore
from workstation.text_extraction import Extracted, ocr_pages

ITEMS = 100_000
WORDS_PER_MESSAGE = 30
PDFS = 6
MESSAGES = 6
OCR_PAGES = 3
REPEAT = 5
NAMES = ["Ціханоўская", "Бяляцкі", "Иванов", "Колесникова", "Babaryka", "Protasevich",
         "Лосік", "Marfa Rabkova", "Юрий Воскресенский", "Мікалай Статкевіч"]
WORDS = [
    "затрымалі", "двары", "сёння", "суд", "пратакол", "міліцыя", "вакзал", "горад", "ноч",
    "доктар", "задержали", "суда", "протокол", "полиция", "улица", "здание", "свидетель",
    "ночью", "избили", "арест", "detained", "court", "night", "police", "station", "street",
    "witness", "beaten", "prison", "hospital",
]
PAGE_SCRIPT = """
import sys
from PIL import Image, ImageDraw, ImageFont
font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 30)
for n in range(int(sys.argv[2])):
    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    for line in range(30):
        draw.text((90, 120 + 50 * line), sys.argv[3], font=font, fill=0)
    page.save(f"{sys.argv[1]}/page-{n + 1:04d}.png")
"""
OCR_LINE = "Протокол задержания гражданина у здания районного суда"


class Reporter(Protocol):
    def measure(self, name: str, value: float, unit: str, *, at_most: float | None = None,
                at_least: float | None = None) -> float: ...


def fill_index(path: Path, count: int) -> None:
    generator = random.Random(12)
    with open_index(path) as connection, connection:
        for n in range(count):
            words = generator.choices(WORDS, k=WORDS_PER_MESSAGE)
            # One item in a hundred names someone.
            if n % 100 == 0:
                words.insert(generator.randrange(len(words)), generator.choice(NAMES))
            found = Extracted([("name", f"IMG_{n:06d}.jpg"), ("message", " ".join(words))])
            store_extracted(connection, f"{n:064x}", found)


def fake_store(root: Path) -> EvidenceStore:
    """A store holding items only (no keys or custody: indexing reads nothing else)."""
    store = EvidenceStore(root)
    store.originals_dir.mkdir(parents=True)
    store.tmp_dir.mkdir()
    contents = [(f"statement-{n}.pdf", "file", _text_pdf(2) + b"%" + str(n).encode())
                for n in range(PDFS)]
    contents += [(None, "message", f"Паведамленне {n}: {' '.join(WORDS)}".encode())
                 for n in range(MESSAGES)]
    for name, kind, content in contents:
        item_id = hashlib.sha256(content).hexdigest()
        directory = store.original_dir(item_id)
        (directory / "submissions").mkdir(parents=True)
        (directory / "content").write_bytes(content)
        (directory / "item.json").write_text(json.dumps({
            "id": item_id, "kind": kind, "size": len(content), "sha256": item_id,
            "sha512": "", "original_name": name, "first_imported_at": "2026-12-06T00:00:00Z"}))
    return store


def bench_queries(report: Reporter, root: Path) -> None:
    path = root / "big.sqlite"
    started = time.perf_counter()
    fill_index(path, ITEMS)
    report.measure(f"writing {ITEMS} generated items into the index", time.perf_counter()
                   - started, "s")
    store = EvidenceStore(root)
    for label, query in [("a name in the other script (Tsikhanouskaya)", "Tsikhanouskaya"),
                         ("a common word (суд)", "суд"),
                         ("two words (police night)", "police night"),
                         ("an inflected word (задержан)", "задержан")]:
        assert search(store, query, path=path), query
        report.measure(f"query over {ITEMS} items: {label}",
                       median_ms(lambda q=query: search(store, q, path=path), REPEAT), "ms",
                       at_most=100)


def bench_build(report: Reporter, root: Path) -> None:
    store = fake_store(root / "store")
    extractor = sandbox_extractor(store, Sandbox(), SandboxLimits())
    items = list_items(store)
    started = time.perf_counter()
    for item in items:
        extractor(item)
    alone = time.perf_counter() - started
    started = time.perf_counter()
    notes = rebuild_index(store, extractor)
    build = time.perf_counter() - started
    assert not notes, notes
    with sqlite3.connect(index_path(store)) as connection:
        rows = connection.execute("SELECT count(*) FROM entries").fetchone()[0]
    assert rows >= len(items), rows
    report.measure(f"extractors alone, {len(items)} items", alone, "s")
    report.measure(f"index rebuild, {len(items)} items", build, "s")
    report.measure("index build speed / extractors' speed", alone / build, "x", at_least=0.8)


def bench_ocr(report: Reporter, root: Path) -> None:
    pages = root / "pages"
    pages.mkdir()
    subprocess.run(["/usr/bin/python3", "-I", "-c", PAGE_SCRIPT, str(pages), str(OCR_PAGES),
                    OCR_LINE], check=True)
    work = root / "ocr"
    work.mkdir()
    converter = Converter(Sandbox(), SandboxLimits(), work)
    started = time.perf_counter()
    text = ocr_pages(converter, sorted(pages.glob("*.png")))
    seconds = time.perf_counter() - started
    assert "задержания" in text, text[:200]
    report.measure("OCR (bel+rus+eng) in the sandbox, full text pages", OCR_PAGES * 60 / seconds,
                   "pages/min")


def run(report: Reporter) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-search-") as temp:
        root = Path(temp)
        bench_queries(report, root)
        bench_build(report, root)
        bench_ocr(report, root)
