"""A real RFC 3161 time-stamping authority for the tests: `openssl ts -reply` behind HTTP.

`make_test_ca` makes a root CA and a TSA certificate (critical extendedKeyUsage timeStamping)
with the `cryptography` package, so a test can also make an expired TSA certificate or one
under another root. `TimestampAuthority` serves RFC 3161 over HTTP on a loopback port: each
POSTed query is written to a file, `openssl ts -reply` signs it with the TSA key, and the
reply goes back as `application/timestamp-reply`. `.down = True` makes it answer 503, as a TSA
that is out of service would; `.requests` counts the queries it signed.
"""

from __future__ import annotations

import datetime
import http.server
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.ports import free_port

POLICY = "1.3.6.1.4.1.99999.1.1"


@dataclass(frozen=True)
class TsaPki:
    """Files of one test PKI: the root a verifier trusts and the TSA's certificate and key."""

    root_pem: Path
    tsa_cert_pem: Path
    tsa_key_pem: Path
    directory: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_test_ca(
    directory: Path,
    *,
    label: str = "Skrynka Test",
    tsa_not_before: datetime.datetime | None = None,
    tsa_not_after: datetime.datetime | None = None,
) -> TsaPki:
    """A root CA and a TSA certificate signed by it, as PEM files in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} Root CA"))
        .issuer_name(_name(f"{label} Root CA"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=3650))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} TSA"))
        .issuer_name(root.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(tsa_not_before or now - datetime.timedelta(days=1))
        .not_valid_after(tsa_not_after or now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()),
                       critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    files = TsaPki(
        root_pem=directory / "root.pem",
        tsa_cert_pem=directory / "tsa.pem",
        tsa_key_pem=directory / "tsa.key",
        directory=directory,
    )
    files.root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    files.tsa_cert_pem.write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    files.tsa_key_pem.write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _openssl_config(ca: TsaPki) -> Path:
    config = ca.directory / "tsa.cnf"
    serial = ca.directory / "serial"
    if not serial.exists():
        serial.write_text("01\n")
    config.write_text(
        "[ tsa ]\n"
        "default_tsa = test_tsa\n"
        "[ test_tsa ]\n"
        f"serial = {serial}\n"
        "crypto_device = builtin\n"
        f"signer_cert = {ca.tsa_cert_pem}\n"
        f"certs = {ca.tsa_cert_pem}\n"
        f"signer_key = {ca.tsa_key_pem}\n"
        "signer_digest = sha256\n"
        f"default_policy = {POLICY}\n"
        "digests = sha256, sha384, sha512\n"
        "accuracy = secs:1\n"
        "ordering = yes\n"
        "tsa_name = yes\n"
        "ess_cert_id_chain = no\n"
        "ess_cert_id_alg = sha256\n"
    )
    return config


class TimestampAuthority:
    """``openssl ts -reply`` served over HTTP on 127.0.0.1; ``url`` is where to POST."""

    def __init__(self, ca: TsaPki) -> None:
        self.ca = ca
        self.config = _openssl_config(ca)
        self.down = False
        self.requests = 0
        self._lock = threading.Lock()
        authority = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                query = self.rfile.read(length)
                if authority.down:
                    self._answer(503, b"out of service", "text/plain")
                    return
                reply = authority.sign(query)
                if reply is None:
                    self._answer(400, b"bad query", "text/plain")
                    return
                self._answer(200, reply, "application/timestamp-reply")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.port = free_port()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tsa"

    def sign(self, query: bytes) -> bytes | None:
        """What `openssl ts -reply` answers to ``query`` (None if it refuses to)."""
        with self._lock, tempfile.TemporaryDirectory() as work:
            query_path = Path(work) / "query.tsq"
            reply_path = Path(work) / "reply.tsr"
            query_path.write_bytes(query)
            result = subprocess.run(
                ["openssl", "ts", "-reply", "-config", str(self.config),
                 "-queryfile", str(query_path), "-out", str(reply_path)],
                capture_output=True, timeout=60, check=False,
            )
            if result.returncode != 0 or not reply_path.exists():
                return None
            self.requests += 1
            return reply_path.read_bytes()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def openssl_verify(token: Path, data: Path, ca: Path, *, untrusted: Path | None = None
                   ) -> subprocess.CompletedProcess[str]:
    """`openssl ts -verify` on a reply and the data it stamps, trusting only ``ca``."""
    command = ["openssl", "ts", "-verify", "-in", str(token), "-data", str(data),
               "-CAfile", str(ca)]
    if untrusted is not None:
        command += ["-untrusted", str(untrusted)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
