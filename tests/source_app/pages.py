"""Driving the source interface like a source does, through the Flask test client."""

import re
from dataclasses import dataclass, field

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CODENAME = re.compile(r'id="codename">([^<]+)<')


BOUNDARY = "----SkrynkaTestBoundary7MA4YWxkTrZu0gW"


def multipart_body(fields: list[tuple[str, bytes, str | None]]) -> tuple[bytes, str]:
    """Encode form fields as multipart/form-data exactly as RFC 7578 and browsers do.

    (Werkzeug's test client drops the line break before a boundary that follows an empty
    field, which strict streaming parsers rightly reject.) File names are sent as raw UTF-8,
    as browsers do.
    """
    parts = []
    for name, value, filename in fields:
        disposition = f'form-data; name="{name}"'.encode()
        headers = b"Content-Disposition: " + disposition
        if filename is not None:
            headers += b'; filename="' + filename.encode("utf-8", "surrogateescape") + b'"'
            headers += b"\r\nContent-Type: application/octet-stream"
        parts.append(b"--" + BOUNDARY.encode() + b"\r\n" + headers + b"\r\n\r\n" + value + b"\r\n")
    body = b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def csrf_token_in(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def codename_in(html: str) -> str:
    match = _CODENAME.search(html)
    assert match, "the page shows no codename"
    return match.group(1)


@dataclass
class SourceClient:
    client: FlaskClient
    codename: str = field(default="")

    def get_codename(self) -> str:
        index = self.client.get("/")
        page = self.client.post("/generate", data={"csrf_token": csrf_token_in(index.text)})
        assert page.status_code == 200
        self.codename = codename_in(page.text)
        self._create_form = page.text
        return self.codename

    def create(self) -> TestResponse:
        self.get_codename()
        response = self.client.post(
            "/create", data={"csrf_token": csrf_token_in(self._create_form)}
        )
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/lookup")
        return response

    def lookup(self) -> TestResponse:
        return self.client.get("/lookup")

    def submit(
        self, message: str | bytes = "", file: tuple[bytes, str] | None = None, **extra: str
    ) -> TestResponse:
        """Post the /lookup form as a browser does (a file part even when none is chosen)."""
        fields: list[tuple[str, bytes, str | None]] = [
            ("csrf_token", csrf_token_in(self.lookup().text).encode(), None),
            ("homepage", extra.pop("homepage", "").encode(), None),
            ("msg", message.encode() if isinstance(message, str) else message, None),
        ]
        content, name = file if file is not None else (b"", "")
        fields.append(("fh", content, name))
        fields += [(key, value.encode(), None) for key, value in extra.items()]
        body, content_type = multipart_body(fields)
        return self.client.post("/submit", data=body, content_type=content_type)

    def logout(self) -> TestResponse:
        token = csrf_token_in(self.lookup().text)
        return self.client.post("/logout", data={"csrf_token": token})

    def login(self, codename: str) -> TestResponse:
        token = csrf_token_in(self.client.get("/login").text)
        return self.client.post("/login", data={"csrf_token": token, "codename": codename})
