"""A source talking to a real server over HTTP (requests), as a browser without JavaScript."""

import re
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from tests.source_app.pages import codename_in, csrf_token_in


@dataclass
class HttpSource:
    base_url: str
    http: requests.Session = field(default_factory=requests.Session)
    codename: str = ""

    def create(self) -> None:
        # English texts are checked; the choice is remembered in the session.
        index = self.http.get(self.base_url + "/?l=en", timeout=30)
        page = self.http.post(
            self.base_url + "/generate", data={"csrf_token": csrf_token_in(index.text)}, timeout=30
        )
        self.codename = codename_in(page.text)
        created = self.http.post(
            self.base_url + "/create", data={"csrf_token": csrf_token_in(page.text)}, timeout=30
        )
        assert created.url.endswith("/lookup"), created.url

    def token(self) -> str:
        return csrf_token_in(self.http.get(self.base_url + "/lookup", timeout=30).text)

    def submit(self, message: str, file: tuple[str, bytes] | None = None) -> requests.Response:
        files = {"fh": file if file is not None else ("", b"")}
        return self.http.post(
            self.base_url + "/submit",
            data={"csrf_token": self.token(), "msg": message, "homepage": ""},
            files=files,
            timeout=300,
        )

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.base_url)
        assert parts.hostname is not None
        assert parts.port is not None
        return parts.hostname, parts.port

    def open_raw_upload(
        self, body_length: int, boundary: str, *, keep_alive: bool = False
    ) -> socket.socket:
        """Start a /submit request by hand; the caller sends ``body_length`` bytes of body."""
        connection = socket.create_connection(self.address(), timeout=30)
        host, port = self.address()
        head = (
            f"POST /submit HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Cookie: {self.cookie_header()}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {body_length}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        )
        connection.sendall(head.encode())
        return connection


def read_response(connection: socket.socket) -> tuple[int, str]:
    """Read a whole HTTP response from a raw socket; its status code and body text."""
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    assert match, head[:200]
    return int(match.group(1)), body.decode("utf-8", "replace")
