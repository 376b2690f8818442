"""Uploads through real gunicorn against `gpg --encrypt` alone, and the worker's memory.

One instance, one submission key, one random 256 MiB file: gpg's CLI encrypts the file to the
key (file to file, no compression: the fastest anything can be), then the same bytes go through
the source interface under gunicorn (multipart over loopback, streamed into gpg, stored). The
client sends the file with sendfile() so it takes as little CPU as possible from the server on
this 2-core machine. While each upload runs, the worker's RSS is sampled every 10 ms.

An upload must also hash what gpg never does: SHA-256 and SHA-512 of the plaintext (receipt),
the gzip CRC-32 and SHA-256 of the ciphertext. Their single-thread cost on the same file, plus
gpg's CPU time, divided by the number of cores, is a lower bound on an upload's time; the best
ratio this machine allows is printed next to the measured one.

    python -m bench upload        # through the bench runner (make bench)
    python -m bench.bench_upload  # alone
"""

import hashlib
import os
import re
import resource
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.instance import open_bench_instance
from core.instance import Instance
from server.serve import AppServer, GunicornProcess, gunicorn_command, server_environment

MIB = 1024 * 1024
BIG_MIB = 256
SIZES_FOR_MEMORY = (64, 256)
REPEATS = 3
RATIO_TARGET = 0.8
RSS_TARGET_MIB = 100.0
BOUNDARY = "----SkrynkaBenchBoundaryx7Qp2"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CODENAME_FORM = re.compile(r'id="codename"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _random_file(path: Path, mib: int) -> Path:
    with path.open("wb") as handle:
        for _ in range(mib):
            handle.write(os.urandom(MIB))
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _required_hash_seconds(data: bytes) -> float:
    """One thread's time for every digest an upload computes: SHA-256 twice (plaintext and
    ciphertext, about the same size), SHA-512 and CRC-32."""
    view = memoryview(data)
    started = time.perf_counter()
    for _ in range(2):
        digest = hashlib.sha256()
        for start in range(0, len(view), MIB):
            digest.update(view[start : start + MIB])
    digest = hashlib.sha512()
    crc = 0
    for start in range(0, len(view), MIB):
        digest.update(view[start : start + MIB])
        crc = zlib.crc32(view[start : start + MIB], crc)
    return time.perf_counter() - started


def _gpg_cli_seconds(instance: Instance, source: Path, output: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one `gpg --encrypt` of ``source``."""
    output.unlink(missing_ok=True)
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(
        [
            "gpg",
            "--homedir",
            str(instance.settings.gnupg_home),
            "--batch",
            "--no-tty",
            "--trust-model",
            "always",
            "--compress-algo",
            "none",
            "--encrypt",
            "--recipient",
            instance.submission_fingerprint,
            "--output",
            str(output),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - started
    output.unlink()
    return elapsed, _children_cpu() - cpu


class _Source:
    """A logged-in source on the server (requests for the small pages)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        index = self.http.get(base_url + "/?l=en", timeout=30)
        page = self.http.post(
            base_url + "/generate", data={"csrf_token": _token(index.text)}, timeout=30
        )
        assert _CODENAME_FORM.search(page.text)
        self.http.post(base_url + "/create", data={"csrf_token": _token(page.text)}, timeout=30)

    def upload(self, path: Path, port: int) -> float:
        """Send ``path`` as the file of one /submit; seconds until the answer arrived."""
        token = _token(self.http.get(self.base_url + "/lookup", timeout=30).text)
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="msg"\r\n\r\n\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fh"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        size = path.stat().st_size
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        request_head = (
            f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookies}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(head) + size + len(tail)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=600) as connection:
            started = time.perf_counter()
            connection.sendall(request_head + head)
            with path.open("rb") as handle:
                connection.sendfile(handle)
            connection.sendall(tail)
            response = b""
            while chunk := connection.recv(65536):
                response += chunk
            elapsed = time.perf_counter() - started
        status = response[9:12]
        if status != b"303":
            raise RuntimeError(f"the upload was not accepted: {response[:300]!r}")
        return elapsed


def _token(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


class _PeakRss(threading.Thread):
    """Samples a process's resident memory until stopped; keeps the peak."""

    def __init__(self, process: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.peak = process.memory_info().rss
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.01):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> int:
        self._done.set()
        self.join()
        return int(self.peak)


def run(report: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="skrynka-bench-upload-", dir="/var/tmp") as tmp:
        workdir = Path(tmp)
        instance = open_bench_instance(workdir)
        port = _free_port()
        log = (workdir / "gunicorn.log").open("wb")
        server = GunicornProcess(
            AppServer("source_app", "source_app:create_app()", port),
            gunicorn_command(
                "source_app:create_app()",
                port,
                workers=1,
                threads=4,
                worker_tmp_dir=Path("/dev/shm"),
            ),
            server_environment(instance.settings.data_dir),
            stdout=log,
            stderr=log,
        )
        server.start()
        try:
            server.wait_ready(60)
            [worker] = psutil.Process(server.pid).children()
            source = _Source(f"http://127.0.0.1:{port}")
            files = {mib: _random_file(workdir / f"upload-{mib}.bin", mib) for mib in (64, 256)}
            big = files[BIG_MIB]

            gpg_times, gpg_cpu, upload_times, hash_times = [], [], [], []
            big_bytes = big.read_bytes()
            for _ in range(REPEATS):
                # Each timed run starts with no one else's dirty pages waiting for the disk.
                os.sync()
                wall, cpu = _gpg_cli_seconds(instance, big, workdir / "cli.gpg")
                gpg_times.append(wall)
                gpg_cpu.append(cpu)
                os.sync()
                upload_times.append(source.upload(big, port))
                hash_times.append(_required_hash_seconds(big_bytes))
            gpg_seconds = statistics.median(gpg_times)
            gpg_rate = BIG_MIB / gpg_seconds
            upload_rate = BIG_MIB / statistics.median(upload_times)
            report.measure(f"gpg --encrypt CLI, {BIG_MIB} MiB (median)", gpg_rate, "MiB/s")
            report.measure(f"upload through gunicorn, {BIG_MIB} MiB (median)", upload_rate, "MiB/s")
            report.ratio(
                "upload / gpg CLI throughput", upload_rate, gpg_rate, at_least=RATIO_TARGET
            )
            # The bound: gpg's CPU plus the required digests, spread perfectly over every core
            # (no parsing, copying or client counted, so no upload can reach it).
            hash_seconds = statistics.median(hash_times)
            cores = os.cpu_count() or 1
            floor = max(gpg_seconds, (statistics.median(gpg_cpu) + hash_seconds) / cores)
            report.measure(
                f"required digests alone, one thread, {BIG_MIB} MiB (median)",
                hash_seconds,
                "s",
            )
            report.measure(
                f"gpg --encrypt CPU time, {BIG_MIB} MiB (median)", statistics.median(gpg_cpu), "s"
            )
            report.ratio(f"upper bound on {cores} cores: gpg CPU + digests", gpg_seconds, floor)
            del big_bytes

            for mib in SIZES_FOR_MEMORY:
                sampler = _PeakRss(worker)
                sampler.start()
                source.upload(files[mib], port)
                peak = sampler.stop() / MIB
                report.measure(
                    f"gunicorn worker peak RSS, {mib} MiB upload",
                    peak,
                    "MiB",
                    at_most=RSS_TARGET_MIB,
                )
        finally:
            server.stop()
            log.close()
            instance.close()


if __name__ == "__main__":
    from bench.__main__ import Report

    standalone = Report()
    standalone.module = "bench_upload"
    run(standalone)
