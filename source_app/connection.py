"""How a page was reached, judged per request only to warn the source; never stored or logged.

Two warnings protect a source before they send anything:

- the page was not reached at an onion address, or came through a proxy (a tor2web gateway
  announces itself with `X-Tor2web`; other proxies add forwarding headers). Either way someone
  between the source and the service can read and change the page, and may know who the source
  is. The check runs on the server, so it works without JavaScript.
- the browser does not look like Tor Browser. Only the User-Agent is used, because Tor Browser
  makes it identical for all its users (desktop: Windows NT 10.0 with no platform details;
  Android: "Android 10; Mobile"), so reading it singles nobody out. Other headers that vary
  between Tor Browser users, such as the language, are not looked at. Chromium-based browsers
  announce themselves with client-hint headers, which Tor Browser never sends.

Nothing here is written anywhere: the result exists only while the page is rendered.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, request

# Headers that mean a proxy stood between the browser and this service. Tor delivers onion
# connections straight to the app on loopback, so none of them appear on the honest path.
PROXY_HEADERS = (
    "X-Tor2web",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Real-Ip",
    "Forwarded",
    "Via",
)
# Tor Browser's uniform User-Agent strings: the same Firefox ESR version number twice.
_TOR_BROWSER_AGENT = re.compile(
    r"Mozilla/5\.0 \((?:Windows NT 10\.0|Android 10; Mobile); rv:(?P<v>\d{2,3})\.0\) "
    r"Gecko/(?:20100101|(?P=v)\.0) Firefox/(?P=v)\.0"
)
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class ConnectionNotice:
    """What the page should warn about."""

    onion: bool
    proxied: bool
    loopback: bool
    tor_browser: bool

    @property
    def warn_not_onion(self) -> bool:
        """Someone between the source and us may read the page: warn loudly."""
        return self.proxied or not (self.onion or self.loopback)

    @property
    def warn_browser(self) -> bool:
        return not self.tor_browser


def host_name(host: str) -> str:
    """The Host header without its port, lower-case (IPv6 literals without brackets)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def inspect_connection(host: str, headers: Mapping[str, str]) -> ConnectionNotice:
    """Judge one request from its Host and headers."""
    name = host_name(host)
    lowered = {key.lower() for key in headers}
    agent = headers.get("User-Agent", "")
    return ConnectionNotice(
        onion=name.endswith(".onion"),
        proxied=any(header.lower() in lowered for header in PROXY_HEADERS),
        loopback=name in _LOOPBACK_HOSTS,
        tor_browser=bool(_TOR_BROWSER_AGENT.fullmatch(agent)) and "sec-ch-ua" not in lowered,
    )


def register_connection_notices(app: Flask, *, dev_mode: bool) -> None:
    """Give every template `connection` (a ConnectionNotice) and `demo_instance`.

    A loopback address counts as safe only on a development instance, where it is how the demo
    is opened; a production instance reached on loopback still gets the warning.
    """

    @app.context_processor
    def connection_context() -> dict[str, object]:
        notice = inspect_connection(request.host, dict(request.headers.items()))
        if notice.loopback and not dev_mode:
            notice = ConnectionNotice(
                onion=notice.onion,
                proxied=notice.proxied,
                loopback=False,
                tor_browser=notice.tor_browser,
            )
        return {"connection": notice, "demo_instance": dev_mode}
