"""What every desk response carries, and which requests the desk answers at all.

The desk listens on 127.0.0.1, but a web page on any other site open in the same browser can
still send requests there. Three things stop that from touching evidence: the launch cookie
(`workstation_app.launch`; a foreign page cannot read or set it and SameSite=Strict keeps the
browser from sending it along), CSRF tokens on every form (Flask-WTF), and the Host check here,
which turns away a request for any name but the address the desk printed (a DNS-rebinding page
would arrive as `Host: evil.example:PORT`). Pages load nothing from anywhere else (CSP), are
never cached, framed or referred from.
"""

from __future__ import annotations

from collections.abc import Collection

from flask import Flask, Response, abort, request

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store, max-age=0",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), usb=(), payment=()",
}


def harden_desk(app: Flask, hosts: Collection[str]) -> None:
    """Cookie flags, the Host check and the security headers for every response."""
    app.config.update(
        SESSION_COOKIE_NAME="skrynka_desk",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # Plain http on the loopback address: a Secure cookie would never come back.
        SESSION_COOKIE_SECURE=False,
        WTF_CSRF_ENABLED=True,
        WTF_CSRF_SSL_STRICT=False,
        # A person may look at one page for a long time before pressing a button.
        WTF_CSRF_TIME_LIMIT=None,
        PROPAGATE_EXCEPTIONS=False,
        TRAP_HTTP_EXCEPTIONS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    allowed = frozenset(host.lower() for host in hosts)

    def check_host() -> None:
        if request.host.lower() not in allowed:
            abort(421)

    def add_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        return response

    app.before_request(check_host)
    app.after_request(add_headers)
