"""The evidence desk at scale: listing, filtering and paging 100,000 items.

A store with 100,000 generated items (2,000 sources; messages, photos, documents; item.json and
one submission record each, as an import writes them, without content) is laid out on disk.
In the same run this module times

- the baseline: what a list costs without the catalogue index, reading every `item.json`
  and submission record (`workstation.catalogue.list_items`, what `list` did before);
- `catalogue rebuild` (the index made from the store);
- one page of the list through the service layer, first and deep pages, each filter;
- the same pages as the desk serves them (Flask test client, the full HTML page).

Target from the issue: every page under 300 ms at 100,000 items. The ratio baseline / page is
reported too.

    python -m bench desk          # through the bench runner (make bench)
    python -m bench.bench_desk    # alone
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.timing import median_ms
from workstation.catalogue import list_items
from workstation.catalogue_index import ItemFilter, rebuild_index
from workstation.service import WorkstationService
from workstation.store import EvidenceStore
from workstation_app import create_app
from workstation_app.launch import LaunchGate

ITEMS = 100_000
SOURCES = 2_000
PAGE_TARGET_MS = 300.0
KINDS = ("message", "file", "file", "file")
NAMES = ("IMG_{n:05d}.jpg", "protocol-{n:05d}.pdf", "VID_{n:05d}.mp4")


def generate_store(root: Path, count: int = ITEMS, sources: int = SOURCES) -> EvidenceStore:
    """Lay out `count` items the way an import stores them (no content files: lists never
    open them)."""
    store = EvidenceStore(root)
    store.originals_dir.mkdir(parents=True)
    source_ids = [str(uuid.UUID(int=n + 1)) for n in range(sources)]
    for n in range(count):
        item_id = f"{n:064x}"[::-1]
        kind = KINDS[n % len(KINDS)]
        directory = store.originals_dir / item_id
        (directory / "submissions").mkdir(parents=True)
        day = 1 + n % 28
        month = 1 + (n // 28) % 12
        received_on = f"2025-{month:02d}-{day:02d}"
        name = None if kind == "message" else NAMES[n % len(NAMES)].format(n=n)
        _write(directory / "item.json", {
            "id": item_id, "kind": kind, "size": 1000 + n, "sha256": item_id,
            "sha512": "0" * 128, "original_name": name,
            "first_imported_at": f"2025-{month:02d}-{day:02d}T12:00:00.{n % 1_000_000:06d}Z",
        })
        submission = str(uuid.UUID(int=10**9 + n))
        source = n % sources
        _write(directory / "submissions" / f"{submission}.json", {
            "submission_uuid": submission, "source_uuid": source_ids[source],
            "source_designation": f"source {source:04d}", "kind": kind,
            "received_on": received_on, "receipt": {"received_at": f"{received_on}T08:00:00Z"},
        })
    return store


def _write(path: Path, value: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(value, handle)


def _desk_client(service: WorkstationService) -> Any:
    gate, secret = LaunchGate.create()
    app = create_app(service, gate, hosts={"localhost"})
    client = app.test_client()
    client.get(f"/launch/{secret}")
    page = client.get("/who").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    client.post("/who", data={"name": "bench", "language": "ru", "csrf_token": token.group(1)})
    return client


def run(report: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="skrynka-bench-desk-") as tmp:
        started = time.perf_counter()
        store = generate_store(Path(tmp) / "store")
        report.measure(f"generate {ITEMS:,} items on disk", time.perf_counter() - started, "s")

        started = time.perf_counter()
        everything = list_items(store)
        baseline_ms = (time.perf_counter() - started) * 1000
        assert len(everything) == ITEMS
        report.measure("baseline: read every item.json for one list", baseline_ms, "ms")

        started = time.perf_counter()
        assert rebuild_index(store) == ITEMS
        report.measure("catalogue rebuild from the store", time.perf_counter() - started, "s")

        service = WorkstationService(store)
        heavy_source = service.list_sources().rows[0].source_uuid
        filters = {
            "page 1, no filter": (ItemFilter(), 1),
            "page 2,000 (the last), no filter": (ItemFilter(), 2_000),
            "kind = message, page 250": (ItemFilter(kind="message"), 250),
            "one source's items": (ItemFilter(source_uuid=heavy_source), 1),
            "name contains 'protocol-0999'": (ItemFilter(text="protocol-0999"), 1),
            "received in March 2025, page 50": (
                ItemFilter(received_from="2025-03-01", received_to="2025-03-31"), 50),
        }
        first_ms = 0.0
        for label, (wanted, page) in filters.items():
            result = service.list_items(wanted, page)
            assert result.rows, label
            value = median_ms(lambda w=wanted, p=page: service.list_items(w, p))
            first_ms = first_ms or value
            report.measure(f"service: {label}", value, "ms", at_most=PAGE_TARGET_MS)
        report.measure("service: sources, page 20", median_ms(
            lambda: service.list_sources(20)), "ms", at_most=PAGE_TARGET_MS)
        report.ratio("baseline list / indexed page 1 (x faster)", baseline_ms, first_ms)

        client = _desk_client(service)
        pages = {
            "desk page /": "/",
            "desk page /?page=2000": "/?page=2000",
            "desk page /?kind=message&page=250": "/?kind=message&page=250",
            "desk page /?q=IMG_0999": "/?q=IMG_0999",
            "desk page /?source=…&from=2025-03-01": (
                f"/?source={heavy_source}&from=2025-03-01"),
            "desk page /sources?page=20": "/sources?page=20",
        }
        for label, url in pages.items():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            report.measure(label, median_ms(lambda u=url: client.get(u)), "ms",
                           at_most=PAGE_TARGET_MS)


if __name__ == "__main__":
    from bench.__main__ import Report

    standalone = Report()
    standalone.module = "bench_desk"
    run(standalone)
