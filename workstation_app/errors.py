"""Errors of the evidence desk (the local web interface); one base class, advice in each message.

Errors of the store and its evidence are `workstation.errors.WorkstationError`s and are shown
as pages (`workstation_app.error_page`); these are about starting the desk itself.
"""

from __future__ import annotations


class DeskError(Exception):
    """Base class of what stops the desk from starting."""


class AddressRefused(DeskError):
    def __init__(self, host: str) -> None:
        super().__init__(
            f"the desk listens only on 127.0.0.1, never on {host!r}: it shows evidence and must"
            " not be reachable from any other machine. Leave out --host, or pass --host"
            " 127.0.0.1"
        )


class PortUnavailable(DeskError):
    def __init__(self, port: int, reason: str) -> None:
        super().__init__(
            f"cannot listen on 127.0.0.1:{port} ({reason}); is a desk already running? Stop it,"
            " or choose another --port (0 picks a free one)"
        )


class TranslationsUnavailable(DeskError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            f"the desk's translations cannot be loaded ({detail}); reinstall skrynka or restore"
            " workstation_app/translations from the repository"
        )
