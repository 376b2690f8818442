"""Errors of the development tools (dev-data seeding). Every message says what to do next."""


class DevToolsError(Exception):
    """Base class of every error the development tools raise on purpose."""


class DevDataError(DevToolsError):
    """Development data could not be created; the instance was left as it was before the batch."""


class DevDataRefused(DevDataError):
    """The instance is not a development instance (or cannot take more seeded sources)."""


class GpgBatchFailed(DevDataError):
    """gpg failed while encrypting development data."""
