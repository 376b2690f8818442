"""Errors of the staff web interface; each message tells the user what to do."""


class JournalistAppError(Exception):
    """Base class of the journalist app's own errors."""


class LogoRejected(JournalistAppError):
    """An uploaded logo is not a PNG of acceptable size and dimensions."""
