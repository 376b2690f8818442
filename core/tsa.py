"""Asking RFC 3161 time-stamping authorities for tokens, over HTTP through tor.

`TsaClient.stamp(url, message)` builds a request (crypto.timestamp_token), POSTs it as
`application/timestamp-query` through tor's SOCKS port (core.socks; directly only on dev-mode
instances without a proxy), and checks the answer against the operator's TSA roots before it is
returned: a token that does not verify is never stored. Network trouble raises
:class:`TsaUnreachable`, a bad token :class:`TsaTokenRefused`; both name the authority.
"""

from __future__ import annotations

import http.client
import ssl
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from core.errors import TimestampError, TsaTokenRefused, TsaUnreachable
from core.settings import Settings, tsa_url_list
from core.socks import open_socks_connection
from crypto.errors import TimestampTokenInvalid
from crypto.timestamp_token import TokenFacts, build_request, load_roots, verify_token

# An RFC 3161 response is a few kilobytes; anything far larger is not one.
MAX_RESPONSE_BYTES = 256 * 1024


@dataclass(frozen=True)
class StampedToken:
    url: str
    response: bytes
    facts: TokenFacts


class TsaClient:
    """Requests and checks tokens; built from the settings by `tsa_client_from`."""

    def __init__(self, urls: list[str], roots: list[x509.Certificate], proxy: str,
                 timeout: float) -> None:
        self.urls = urls
        self.roots = roots
        self.proxy = proxy
        self.timeout = timeout

    def stamp(self, url: str, message: bytes, algorithm: str = "sha256") -> StampedToken:
        request = build_request(message, algorithm)
        response = self._post(url, request.der)
        try:
            facts = verify_token(response, message, self.roots, nonce=request.nonce)
        except TimestampTokenInvalid as exc:
            raise TsaTokenRefused(url, exc.reason) from exc
        return StampedToken(url=url, response=response, facts=facts)

    def _post(self, url: str, body: bytes) -> bytes:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        connection: http.client.HTTPConnection
        if not self.proxy:
            connection = (http.client.HTTPSConnection if https else http.client.HTTPConnection)(
                host, port, timeout=self.timeout)
        elif https:
            connection = _TorHTTPSConnection(self.proxy, host, port, timeout=self.timeout)
        else:
            connection = _TorHTTPConnection(self.proxy, host, port, timeout=self.timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", target, body=body, headers={
                "Content-Type": "application/timestamp-query",
                "Accept": "application/timestamp-reply",
                # No User-Agent beyond the protocol: nothing that tells one server from another.
                "User-Agent": "rfc3161",
            })
            answer = connection.getresponse()
            data = answer.read(MAX_RESPONSE_BYTES + 1)
        except TsaUnreachable:
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise TsaUnreachable(url, f"{type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()
        if answer.status != 200:
            raise TsaUnreachable(url, f"HTTP {answer.status} {answer.reason}")
        if len(data) > MAX_RESPONSE_BYTES:
            raise TsaUnreachable(url, "the answer is far too large to be a time-stamp response")
        return data


class _TorHTTPConnection(http.client.HTTPConnection):
    """HTTP over a socket tor opened (core.socks). http.client's own connect() would also set
    TCP_NODELAY, which a Unix-socket SOCKS port (/run/tor/socks) refuses; tor's end is TCP."""

    def __init__(self, proxy: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._proxy = proxy
        self._timeout = timeout

    def connect(self) -> None:
        self.sock = open_socks_connection(self._proxy, self.host, self.port, self._timeout)


class _TorHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS over a socket tor opened; TLS is end to end with the authority."""

    def __init__(self, proxy: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._proxy = proxy
        self._timeout = timeout

    def connect(self) -> None:
        sock = open_socks_connection(self._proxy, self.host, self.port, self._timeout)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            sock, server_hostname=self.host)


def tsa_client_from(settings: Settings) -> TsaClient | None:
    """The client the settings describe, or None when time-stamping is off."""
    urls = tsa_url_list(settings)
    if not urls:
        return None
    try:
        roots = load_roots(Path(settings.tsa_ca_file).read_bytes())
    except (OSError, TimestampTokenInvalid) as exc:
        raise TimestampError(
            f"the TSA root file {settings.tsa_ca_file} cannot be used ({exc}); fix "
            "SKRYNKA_TSA_CA_FILE"
        ) from exc
    return TsaClient(urls, roots, settings.tsa_socks_proxy, float(settings.tsa_timeout_seconds))
