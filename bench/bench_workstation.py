"""Workstation throughput: importing a bundle against plain `gpg --decrypt`, and exporting.

One random file of N MiB (default 1 GiB) is encrypted as a file submission exactly as the server
does (stored-gzip layer, no gpg compression), put in a signed transfer bundle, then

- `gpg --decrypt` of that ciphertext to a file (the floor: nothing can decrypt faster), and
- `import` of the bundle (signature, ciphertext SHA-256, decrypt, gunzip, SHA-256 + SHA-512
  against the receipt, fsync, store read-only) are timed in the same run, and their ratio is the
  figure that matters (target ≥ 0.7);
- the bound this machine allows: gpg's CPU time plus every digest an import must compute
  (SHA-256 of the ciphertext, SHA-256, SHA-512 and the gzip CRC-32 of the plaintext), spread
  perfectly over all cores, against gpg's time alone;
- `export` of a case holding the item (copy into a BagIt bag, SHA-256 + SHA-512 manifests, then
  a full validation pass, in a child process) is timed as payload MiB/s.

    python -m bench.bench_workstation --size-mib 256
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from crypto.encryption import encrypt_bytes, open_encryptor
from crypto.signing import Signer, generate_signing_seed
from crypto.submission_key import export_secret_key, generate_key_pair
from crypto.types import Fingerprint

MIB = 1024 * 1024
CHUNK = 4 * MIB
DEFAULT_SIZE_MIB = 1024


class Reporter(Protocol):
    def measure(self, name: str, value: float, unit: str, *, at_most: float | None = None,
                at_least: float | None = None) -> float: ...

    def ratio(self, name: str, numerator: float, denominator: float, *,
              at_least: float | None = None) -> float: ...


def _write_random_submission(home: Path, fingerprint: Fingerprint, size: int,
                             ciphertext: Path) -> Any:
    encryptor = open_encryptor(home, [fingerprint], ciphertext, gzip_name="footage.bin")
    remaining = size
    while remaining:
        chunk = os.urandom(min(CHUNK, remaining))
        encryptor.write(chunk)
        remaining -= len(chunk)
    return encryptor.finish()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _build_bundle(work: Path, home: Path, fingerprint: Fingerprint, signer: Signer,
                  size: int) -> Path:
    ciphertext = work / "1-bench_source-doc.gz.gpg"
    digest = _write_random_submission(home, fingerprint, size, ciphertext)
    submission_uuid = str(uuid.uuid4())
    receipt = {
        "format": "skrynka-receipt", "version": 1, "submission_uuid": submission_uuid,
        "kind": "file", "original_name": "footage.bin", "size": digest.size,
        "sha256": digest.sha256, "sha512": digest.sha512,
        "received_at": "2026-11-27T05:11:16.055418Z",
        "consent": {"format": "skrynka-consent", "version": 1,
                    "recorded_at": "2026-11-27T05:11:16.055418Z",
                    "destinations": ["platform", "un"], "replies": False,
                    "investigator_contact": False},
    }
    receipt_ct = encrypt_bytes(home, [fingerprint], json.dumps(receipt).encode())
    manifest = {
        "format": "skrynka-transfer-bundle", "version": 1,
        "instance_id": str(uuid.uuid4()),
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "signing_key": signer.fingerprint,
        "items": [{
            "uuid": submission_uuid, "source_uuid": str(uuid.uuid4()),
            "source_designation": "bench source", "kind": "file",
            "path": "items/bench_source/1-bench_source-doc.gz.gpg",
            "filename": "1-bench_source-doc.gz.gpg",
            "size": ciphertext.stat().st_size, "sha256": _sha256_file(ciphertext),
            "received_on": "2026-11-27",
            "receipt": {"path": "items/bench_source/1-bench_source-receipt.gpg",
                        "size": len(receipt_ct),
                        "sha256": hashlib.sha256(receipt_ct).hexdigest()},
        }],
    }
    manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode()
    bundle = work / "skrynka-bundle-bench.zip"
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.write(ciphertext, "items/bench_source/1-bench_source-doc.gz.gpg")
        archive.writestr("items/bench_source/1-bench_source-receipt.gpg", receipt_ct)
        archive.writestr("manifest.json", manifest_bytes)
        archive.writestr("manifest.json.sig", base64.b64encode(signer.sign(manifest_bytes)))
    return bundle


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(*argv: str) -> str:
    from workstation.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    if code != 0:
        raise RuntimeError(f"skrynka-workstation {argv[0]} failed: {out.getvalue()}")
    return out.getvalue()


def _drop_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
                   check=False, capture_output=True)


def run(report: Reporter, size_mib: int = DEFAULT_SIZE_MIB) -> None:
    size = size_mib * MIB
    work = Path(tempfile.mkdtemp(prefix="skrynka-bench-workstation-"))
    home = work / "server-gnupg"
    store = work / "evidence"
    try:
        home.mkdir(mode=0o700)
        fingerprint = generate_key_pair(home, "bench submission key")
        secret = work / "secret.asc"
        secret.write_bytes(export_secret_key(home, fingerprint))
        signer = Signer(generate_signing_seed())
        server_pub = work / "server.pub"
        server_pub.write_bytes(base64.b64encode(signer.public_key))
        bundle = _build_bundle(work, home, fingerprint, signer, size)
        ciphertext = work / "1-bench_source-doc.gz.gpg"
        _cli("init", "--store", str(store), "--secret-key", str(secret),
             "--server-key", str(server_pub))

        # The floor: gpg alone, ciphertext file to plaintext file, same key, same disk; the
        # agent is started first (import finds it running too) and the best of two runs counts.
        gpg = ["gpg", "--homedir", str(store / "gnupg"), "--batch", "--quiet"]
        warm = work / "warm.gpg"
        warm.write_bytes(encrypt_bytes(home, [fingerprint], b"warm up the agent"))
        subprocess.run([*gpg, "--decrypt", str(warm)], check=True, capture_output=True)
        plain = work / "gpg-plain.out"
        gpg_seconds = gpg_cpu = float("inf")
        for _ in range(2):
            plain.unlink(missing_ok=True)
            # Building the bundle left gigabytes of dirty pages: write them out first, so
            # neither gpg nor the import is timed while the kernel flushes someone else's data.
            os.sync()
            cpu = _children_cpu()
            started = time.perf_counter()
            subprocess.run([*gpg, "--output", str(plain), "--decrypt", str(ciphertext)],
                           check=True, capture_output=True)
            gpg_seconds = min(gpg_seconds, time.perf_counter() - started)
            gpg_cpu = min(gpg_cpu, _children_cpu() - cpu)
        # What the digests alone cost in this Python: the import must compute SHA-256 of the
        # ciphertext and SHA-256, SHA-512 and the gzip CRC-32 of the plaintext, on top of gpg.
        with plain.open("rb") as handle:
            sha256, sha512, sha256_ct, crc = hashlib.sha256(), hashlib.sha512(), hashlib.sha256(), 0
            hash_seconds = 0.0
            while chunk := handle.read(CHUNK):
                started = time.perf_counter()
                sha256.update(chunk)
                sha512.update(chunk)
                sha256_ct.update(chunk)
                crc = zlib.crc32(chunk, crc)
                hash_seconds += time.perf_counter() - started
        plain.unlink()
        ciphertext.unlink()

        os.sync()
        started = time.perf_counter()
        _cli("import", "--store", str(store), str(bundle))
        import_seconds = time.perf_counter() - started

        gpg_rate = size / MIB / gpg_seconds
        import_rate = size / MIB / import_seconds
        report.measure(f"gpg --decrypt alone ({size_mib} MiB)", gpg_rate, "MiB/s")
        report.measure(f"import: verify+decrypt+hash+store ({size_mib} MiB)", import_rate,
                       "MiB/s")
        report.ratio("import / gpg --decrypt", import_rate, gpg_rate, at_least=0.7)
        report.measure("the four digests alone, one thread (context)", size / MIB / hash_seconds,
                       "MiB/s")
        cores = os.cpu_count() or 1
        report.measure(f"gpg --decrypt CPU time ({size_mib} MiB)", gpg_cpu, "s")
        # No import can beat this: it ignores every copy, pipe, write and fsync.
        bound = max(gpg_seconds, (gpg_cpu + hash_seconds) / cores)
        report.ratio(f"upper bound on {cores} cores: gpg CPU + digests", gpg_seconds, bound)

        item = json.loads(_cli("list", "--store", str(store), "--json"))[0]["id"]
        _cli("case", "--store", str(store), "create", "bench")
        _cli("case", "--store", str(store), "add", "bench", item)
        out = work / "out"
        out.mkdir()
        started = time.perf_counter()
        _cli("export", "--store", str(store), "--case", "bench", "--to", "un", "--out", str(out))
        export_seconds = time.perf_counter() - started
        report.measure(f"export: copy+bag(sha256,sha512)+validate ({size_mib} MiB)",
                       size / MIB / export_seconds, "MiB/s")
        report.ratio("export / gpg --decrypt", size / MIB / export_seconds, gpg_rate)
    finally:
        _drop_agent(home)
        _drop_agent(store / "gnupg")
        for directory, _dirs, _files in os.walk(work):
            os.chmod(directory, 0o700)
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import Report

    parser = argparse.ArgumentParser(prog="python -m bench.bench_workstation")
    parser.add_argument("--size-mib", type=int, default=DEFAULT_SIZE_MIB)
    args = parser.parse_args(argv)
    report = Report()
    report.module = "bench_workstation"
    run(report, args.size_mib)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
