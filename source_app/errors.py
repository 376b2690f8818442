"""Errors the source interface raises on purpose. Every message says what to do next."""


class SourceAppError(Exception):
    """Base class of the source interface's own errors."""


class TranslationsUnavailable(SourceAppError):
    """A language catalog is missing or cannot be compiled; the interface cannot start."""


class SpoolingRefused(SourceAppError):
    """Something asked Werkzeug to buffer an uploaded file; only /submit may receive files."""


class MalformedUpload(SourceAppError):
    """The submitted form data is not well-formed multipart data, or it ended early."""
