"""Errors of the staff web interface; each message tells the user what to do."""


class JournalistAppError(Exception):
    """Base class of the journalist app's own errors."""


class LogoRejected(JournalistAppError):
    """An uploaded logo is not a PNG of acceptable size and dimensions."""


class StaffTranslationsUnavailable(JournalistAppError):
    """A staff-interface catalog is missing or cannot be compiled."""

    def __init__(self, what: str, directory: object, *, reason: str = "") -> None:
        detail = f" ({reason})" if reason else ""
        super().__init__(
            f"The staff interface's translations for {what} under {directory} cannot be used"
            f"{detail}; restore journalist_app/translations from the repository, or run "
            "scripts/compile_translations.sh as a user who may write there."
        )
