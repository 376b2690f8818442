"""Load: many sources uploading large files at once while staff work, through real gunicorn.

20 sources each upload a 50 MiB file at the same moment through the source interface under
gunicorn (as `skrynka serve` runs it, on loopback only). Meanwhile one staff member browses the
journalist interface (the inbox and a source's page) and an API client lists sources and
submissions and downloads submissions, without pause. The run is bounded: uploads that have
not finished after ``DEADLINE_SECONDS`` count as failed, and the staff loops stop with them.

What is checked and reported:

- every upload was acknowledged (303 to /lookup) and its stored ciphertext decrypts, with the
  submission secret key the bench made, to exactly the bytes sent (SHA-256 compared);
- no answer in the 5xx range, to sources or staff;
- the peak RSS of any gunicorn worker of either app (gpg children are separate processes and
  reported apart), sampled every 50 ms;
- the uploads' combined throughput, and the median and 95th percentile latency of each staff
  page under that load.

    python -m bench load                    # through the bench runner (make bench)
    python -m bench.bench_load              # alone
    python -m bench.bench_load --sources 4 --mib 8    # a quick look
"""

import argparse
import hashlib
import http.client
import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import requests
from sqlalchemy import select

from bench.instance import open_bench_instance
from core.instance import Instance
from core.models import Journalist, Source, Submission
from core.staff_sessions import open_session
from core.two_factor import totp_code
from crypto.decryption import decrypt_file_submission
from devtools.devdata import DEV_OTP_SECRET, DEV_PASSPHRASE, ContentSizes, SizeRange, seed_dev_data
from server.serve import AppServer, GunicornProcess, gunicorn_command, server_environment

MIB = 1024 * 1024
SOURCES = 20
UPLOAD_MIB = 50
DEADLINE_SECONDS = 1200.0
SAMPLE_SECONDS = 0.05
# The source interface gets a thread per concurrent upload; staff get serve's defaults.
SOURCE_WORKERS, SOURCE_THREADS = 2, 10
STAFF_WORKERS, STAFF_THREADS = 2, 8
RSS_TARGET_MIB = 150.0
STAFF_P95_TARGET_MS = 2000.0
BOUNDARY = "----SkrynkaLoadBoundaryQ3v9"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SMALL = ContentSizes(
    message=SizeRange(20, 600), file=SizeRange(2_000, 200_000), reply=SizeRange(20, 300)
)


def _token(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise RuntimeError("a page without a CSRF token")
    return match.group(1)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Upload:
    """One source's upload: what was sent and what the server answered."""

    sha256: str = ""
    status: int = 0
    seconds: float = 0.0
    error: str = ""


@dataclass
class Latencies:
    """Wall-clock milliseconds of each staff request by page, and every status seen."""

    by_page: dict[str, list[float]] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, page: str, started: float, status: int) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.by_page.setdefault(page, []).append(elapsed)
            self.statuses.append(status)


def _serve(
    name: str, factory: str, data_dir: Path, workers: int, threads: int, log: Path
) -> GunicornProcess:
    port = _free_port()
    output = log.open("wb")
    process = GunicornProcess(
        AppServer(name, factory, port),
        gunicorn_command(factory, port, workers=workers, threads=threads),
        server_environment(data_dir, None),
        stdout=output,
        stderr=output,
    )
    process.start()
    process.wait_ready(60)
    return process


def _body(size: int, token: str, digest: Any) -> Iterator[bytes]:
    """The multipart body of one upload; the file part is fresh random bytes, hashed as sent."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="msg"\r\n\r\n\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fh"; filename="load.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    sent = 0
    while sent < size:
        chunk = os.urandom(min(MIB, size - sent))
        digest.update(chunk)
        sent += len(chunk)
        yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _body_length(size: int, token: str) -> int:
    digest = hashlib.sha256()
    return sum(len(part) for part in _body(0, token, digest)) + size


def _upload(base_url: str, port: int, size: int, start: threading.Barrier, out: Upload) -> None:
    """Become a source, wait for the others, then upload ``size`` random bytes."""
    try:
        browser = requests.Session()
        index = browser.get(base_url + "/?l=en", timeout=60)
        page = browser.post(
            base_url + "/generate", data={"csrf_token": _token(index.text)}, timeout=60
        )
        browser.post(base_url + "/create", data={"csrf_token": _token(page.text)}, timeout=60)
        token = _token(browser.get(base_url + "/lookup", timeout=60).text)
        cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    except Exception as exc:  # noqa: BLE001 (reported as a failed upload, with its type)
        out.error = f"{type(exc).__name__}: {exc}"
        start.wait()
        return
    start.wait()
    try:
        digest = hashlib.sha256()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE_SECONDS)
        started = time.perf_counter()
        connection.request(
            "POST",
            "/submit",
            body=_body(size, token, digest),
            headers={
                "Cookie": cookie,
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(_body_length(size, token)),
            },
        )
        response = connection.getresponse()
        response.read()
        out.seconds = time.perf_counter() - started
        out.status = response.status
        out.sha256 = digest.hexdigest()
        connection.close()
    except Exception as exc:  # noqa: BLE001 (reported as a failed upload, with its type)
        out.error = f"{type(exc).__name__}: {exc}"


def _staff_web(
    base_url: str, source_uuids: list[str], stop: threading.Event, seen: Latencies
) -> None:
    http = requests.Session()
    login = http.get(base_url + "/login", timeout=60)
    signed_in = http.post(
        base_url + "/login",
        data={
            "csrf_token": _token(login.text),
            "username": "journalist",
            "passphrase": DEV_PASSPHRASE,
            "code": totp_code(DEV_OTP_SECRET, datetime.now(UTC)),
        },
        timeout=60,
    )
    if "/login" in signed_in.url:
        raise RuntimeError("the staff sign-in failed")
    turn = 0
    while not stop.is_set():
        started = time.perf_counter()
        seen.record("inbox (web)", started, http.get(base_url + "/", timeout=60).status_code)
        uuid = source_uuids[turn % len(source_uuids)]
        started = time.perf_counter()
        answer = http.get(f"{base_url}/source/{uuid}", timeout=60)
        seen.record("source page (web)", started, answer.status_code)
        turn += 1


def _staff_api(
    base_url: str, token: str, items: list[tuple[str, str]], stop: threading.Event, seen: Latencies
) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Token {token}"
    http.headers["Accept"] = "application/json"
    turn = 0
    while not stop.is_set():
        for page, path in (
            ("sources (API)", "/api/v1/sources"),
            ("submissions (API)", "/api/v1/submissions"),
        ):
            started = time.perf_counter()
            seen.record(page, started, http.get(base_url + path, timeout=60).status_code)
        source_uuid, item_uuid = items[turn % len(items)]
        started = time.perf_counter()
        answer = http.get(
            f"{base_url}/api/v1/sources/{source_uuid}/submissions/{item_uuid}/download",
            timeout=60,
        )
        seen.record("download (API)", started, answer.status_code)
        turn += 1


class _RssSampler(threading.Thread):
    """Peak RSS of each app's gunicorn workers (its master's children) and of gpg children."""

    def __init__(self, masters: dict[str, int]) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.masters = {name: psutil.Process(pid) for name, pid in masters.items()}
        self.worker_peak = dict.fromkeys(masters, 0)
        self.gpg_peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_SECONDS):
            for name, master in self.masters.items():
                try:
                    workers = master.children()
                except psutil.Error:
                    continue
                for worker in workers:
                    try:
                        rss = worker.memory_info().rss
                        self.worker_peak[name] = max(self.worker_peak[name], rss)
                        for child in worker.children():
                            self.gpg_peak = max(self.gpg_peak, child.memory_info().rss)
                    except psutil.Error:
                        continue


def _staff_token(instance: Instance) -> str:
    with instance.sessions() as db:
        account = db.scalars(select(Journalist).where(Journalist.username == "dellsberg")).one()
        token, _ = open_session(db, account, kind="api", lifetime=timedelta(hours=2))
        db.commit()
    return token


def _seeded_items(instance: Instance) -> tuple[list[str], list[tuple[str, str]]]:
    with instance.sessions() as db:
        sources = list(db.scalars(select(Source.uuid)))
        items = [
            (source_uuid, item_uuid)
            for source_uuid, item_uuid in db.execute(
                select(Source.uuid, Submission.uuid).join(Submission.source)
            )
        ]
    return sources, items


def _verify(instance: Instance, key_home: Path, expected: set[str]) -> int:
    """How many stored uploads decrypt to a file whose SHA-256 is one of ``expected``."""
    found = 0
    with instance.sessions() as db:
        rows = db.execute(
            select(Source.filesystem_id, Submission.filename).join(Submission.source)
        ).all()
    for filesystem_id, filename in rows:
        path = instance.store.path_of(filesystem_id, filename)
        if not filename.endswith("-doc.gz.gpg") or path.stat().st_size < MIB:
            continue

        class _Hasher:
            def __init__(self) -> None:
                self.digest = hashlib.sha256()

            def write(self, data: bytes) -> int:
                self.digest.update(data)
                return len(data)

        sink = _Hasher()
        decrypt_file_submission(key_home, path, sink)  # type: ignore[arg-type]
        if sink.digest.hexdigest() in expected:
            found += 1
    return found


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(report: Any, sources: int = SOURCES, upload_mib: int = UPLOAD_MIB) -> None:
    with tempfile.TemporaryDirectory(prefix="skrynka-bench-load-") as temp:
        work = Path(temp)
        instance = open_bench_instance(work)
        processes: list[GunicornProcess] = []
        try:
            seed_dev_data(instance, sources=10, login_sources=0, sizes=_SMALL, seed=11)
            source_uuids, items = _seeded_items(instance)
            token = _staff_token(instance)
            data_dir = instance.settings.data_dir
            source_app = _serve(
                "source",
                "source_app:create_app()",
                data_dir,
                SOURCE_WORKERS,
                SOURCE_THREADS,
                work / "source.log",
            )
            processes.append(source_app)
            staff_app = _serve(
                "journalist",
                "journalist_app:create_app()",
                data_dir,
                STAFF_WORKERS,
                STAFF_THREADS,
                work / "journalist.log",
            )
            processes.append(staff_app)
            sampler = _RssSampler({"source": source_app.pid, "journalist": staff_app.pid})
            sampler.start()

            uploads = [Upload() for _ in range(sources)]
            barrier = threading.Barrier(sources + 1)
            source_url = source_app.server.url.rstrip("/")
            staff_url = staff_app.server.url.rstrip("/")
            uploaders = [
                threading.Thread(
                    target=_upload,
                    args=(source_url, source_app.server.port, upload_mib * MIB, barrier, upload),
                    daemon=True,
                )
                for upload in uploads
            ]
            for thread in uploaders:
                thread.start()
            stop = threading.Event()
            seen = Latencies()
            staff = [
                threading.Thread(
                    target=_staff_web, args=(staff_url, source_uuids, stop, seen), daemon=True
                ),
                threading.Thread(
                    target=_staff_api, args=(staff_url, token, items, stop, seen), daemon=True
                ),
            ]
            barrier.wait(timeout=300)
            started = time.perf_counter()
            for thread in staff:
                thread.start()
            deadline = time.monotonic() + DEADLINE_SECONDS
            for thread in uploaders:
                thread.join(max(0.0, deadline - time.monotonic()))
            wall = time.perf_counter() - started
            stop.set()
            for thread in staff:
                thread.join(120)
            sampler.stop.set()
            sampler.join()

            acknowledged = [u for u in uploads if u.status == 303]
            verified = _verify(instance, work / "key", {u.sha256 for u in acknowledged})
            server_errors = sum(1 for s in seen.statuses if s >= 500) + sum(
                1 for u in uploads if u.status >= 500
            )
            for upload in uploads:
                if upload.error:
                    print(f"    upload failed: {upload.error}")
            report.measure("uploads acknowledged", len(acknowledged), "of", at_least=sources)
            report.measure("uploads decrypted to the bytes sent", verified, "of", at_least=sources)
            report.measure("5xx answers (sources and staff)", server_errors, "", at_most=0)
            total_mib = len(acknowledged) * upload_mib
            report.measure(
                f"throughput, {sources} x {upload_mib} MiB at once", total_mib / wall, "MiB/s"
            )
            report.measure("slowest upload", max((u.seconds for u in uploads), default=0), "s")
            for name, peak in sampler.worker_peak.items():
                report.measure(
                    f"peak RSS of a {name} gunicorn worker",
                    peak / MIB,
                    "MiB",
                    at_most=RSS_TARGET_MIB,
                )
            report.measure("peak RSS of a gpg child", sampler.gpg_peak / MIB, "MiB")
            for page, times in sorted(seen.by_page.items()):
                report.measure(f"{page}: requests under load", len(times), "")
                report.measure(f"{page}: median", statistics.median(times), "ms")
                report.measure(
                    f"{page}: p95", _percentile(times, 0.95), "ms", at_most=STAFF_P95_TARGET_MS
                )
        finally:
            for process in processes:
                process.stop()
            instance.close()


class _PrintReport:
    def measure(self, name: str, value: float, unit: str, **target: float) -> float:
        bound = "".join(f"  ({k.replace('_', ' ')} {v:g})" for k, v in target.items())
        print(f"  {name:<58} {value:>10.1f} {unit}{bound}", flush=True)
        return value


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=SOURCES)
    parser.add_argument("--mib", type=int, default=UPLOAD_MIB)
    options = parser.parse_args()
    run(_PrintReport(), options.sources, options.mib)
