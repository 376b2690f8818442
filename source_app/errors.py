"""Errors the source interface raises on purpose. Every message says what to do next."""


class SourceAppError(Exception):
    """Base class of the source interface's own errors."""


class TranslationsUnavailable(SourceAppError):
    """A language catalog is missing or cannot be compiled; the interface cannot start."""


class SpoolingRefused(SourceAppError):
    """Something asked Werkzeug to buffer an uploaded file; only /submit may receive files."""


class MalformedUpload(SourceAppError):
    """The submitted form data is not well-formed multipart data, or it ended early."""


class TooManyParts(MalformedUpload):
    """The form holds more parts than any form of ours has: refused before it costs more."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"The form holds more than {limit} parts.")


class ServerBusy(SourceAppError):
    """Too much work of one kind is already running; the source should try again shortly."""

    def __init__(self) -> None:
        super().__init__("The server is busy with other visitors; try again in a minute.")
