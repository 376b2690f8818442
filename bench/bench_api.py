"""Journalist API at scale: GET /api/v1/sources and /api/v1/submissions at 1,000 and 10,000
sources, with their query counts (which must not grow with the number of sources).

The first 1,000 sources come from `skrynka dev-data` (real reply keys, real ciphertext; its
seeding time is reported too). The next 9,000 are copies of their rows with fresh uuids, ids and
designations: the list endpoints never open a ciphertext file, and each copy keeps a real
armored reply key, so the responses are as large as real ones.

    python -m bench api          # through the bench runner (make bench)
    python -m bench.bench_api    # alone
"""

import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.bench_inbox import QueryCounter
from bench.instance import insert_rows, open_bench_instance
from bench.timing import median_ms
from core.instance import Instance
from core.models import Journalist, Reply, SeenSubmission, Source, Submission
from core.staff_sessions import open_session
from devtools.devdata import seed_dev_data

# From the issue: under 1 s at 10,000 sources, query count independent of size.
LIST_TARGET_MS = 1000.0
DEV_DATA_SOURCES = 1_000
SIZES = (1_000, 10_000)


def copy_sources(instance: Instance, copies: int) -> None:
    """Add `copies` sources cloned (rows only) from the dev-data sources, round robin."""
    with instance.sessions() as db:
        originals = db.scalars(select(Source).order_by(Source.id)).all()
        submissions: dict[int, list[Submission]] = {}
        for item in db.scalars(select(Submission)):
            submissions.setdefault(item.source_id, []).append(item)
        replies: dict[int, list[Reply]] = {}
        for reply in db.scalars(select(Reply)):
            replies.setdefault(reply.source_id, []).append(reply)
        reader = db.scalar(select(Journalist.id).order_by(Journalist.id).limit(1))
        source_rows = []
        for i in range(copies):
            original = originals[i % len(originals)]
            source_rows.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "filesystem_id": uuid.uuid4().hex * 2,
                    "journalist_designation": f"{original.journalist_designation} copy{i}",
                    "is_starred": i % 10 == 0,
                    "pending": False,
                    "last_updated": original.last_updated - timedelta(minutes=i),
                    "interaction_count": original.interaction_count,
                    # Unique as the schema demands; the key text is a real one of real size.
                    "reply_key_fingerprint": uuid.uuid4().hex.upper() + f"{i:08X}",
                    "reply_key_public": original.reply_key_public,
                    "reply_key_wrapped": original.reply_key_wrapped,
                }
            )
        insert_rows(db, Source, source_rows)
        new_ids = dict(
            db.execute(
                select(Source.uuid, Source.id).where(
                    Source.uuid.in_([r["uuid"] for r in source_rows])
                )
            ).all()
        )
        submission_rows, reply_rows = [], []
        for i, row in enumerate(source_rows):
            original = originals[i % len(originals)]
            source_id = new_ids[row["uuid"]]
            for item in submissions.get(original.id, []):
                submission_rows.append(
                    {
                        "uuid": str(uuid.uuid4()),
                        "source_id": source_id,
                        "kind": item.kind,
                        "filename": item.filename,
                        "size": item.size,
                        "sha256": item.sha256,
                        "receipt_filename": item.receipt_filename,
                        "receipt_size": item.receipt_size,
                        "receipt_sha256": item.receipt_sha256,
                        "created_at": item.created_at,
                        "downloaded": False,
                    }
                )
            for reply in replies.get(original.id, []):
                reply_rows.append(
                    {
                        "uuid": str(uuid.uuid4()),
                        "source_id": source_id,
                        "journalist_id": reply.journalist_id,
                        "filename": reply.filename,
                        "size": reply.size,
                        "sha256": reply.sha256,
                        "created_at": reply.created_at,
                        "deleted_by_source": False,
                    }
                )
        insert_rows(db, Submission, submission_rows)
        insert_rows(db, Reply, reply_rows)
        seen = db.scalars(
            select(Submission.id).where(
                Submission.source_id.in_(list(new_ids.values())), Submission.kind == "message"
            )
        ).all()
        seen_rows = [{"submission_id": s, "journalist_id": reader} for s in seen]
        insert_rows(db, SeenSubmission, seen_rows)
        db.commit()


def _measure(report: Any, instance: Instance, client: Any, token: str, size: int) -> None:
    headers = {"Authorization": f"Token {token}"}
    counter = QueryCounter(instance.engine)
    for path, key in (("/api/v1/sources", "sources"), ("/api/v1/submissions", "submissions")):

        def fetch(path: str = path, key: str = key) -> int:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.status_code
            return len(response.get_json()[key])

        with counter.counting():
            count = fetch()
        queries = counter.count
        report.measure(
            f"GET {path} at {size:,} sources ({count:,} items)",
            median_ms(fetch),
            "ms",
            at_most=LIST_TARGET_MS,
        )
        report.measure(f"GET {path} at {size:,} sources: SQL queries", queries, "queries")


def run(report: Any) -> None:
    from journalist_app import create_app

    with tempfile.TemporaryDirectory(prefix="skrynka-bench-api-") as tmp:
        instance = open_bench_instance(Path(tmp))
        try:
            started = time.perf_counter()
            seed_dev_data(instance, sources=DEV_DATA_SOURCES, login_sources=1)
            report.measure(
                f"skrynka dev-data: {DEV_DATA_SOURCES:,} sources with real ciphertext",
                time.perf_counter() - started,
                "s",
            )
            app = create_app(instance=instance)
            with instance.sessions() as db:
                journalist = db.scalars(
                    select(Journalist).where(Journalist.username == "journalist")
                ).one()
                token, _ = open_session(db, journalist, kind="api", lifetime=timedelta(hours=2))
                db.commit()
            client = app.test_client()
            present = DEV_DATA_SOURCES
            for size in SIZES:
                if size > present:
                    copy_sources(instance, size - present)
                    present = size
                _measure(report, instance, client, token, size)
        finally:
            instance.close()


if __name__ == "__main__":
    from bench.__main__ import Report

    standalone = Report()
    standalone.module = "bench_api"
    run(standalone)
