"""Errors of the server: set-up, serving and backups. Every message says what to do next.

Everything here derives from `ServerError`. `server.cli` catches `ServerError` together with
`CoreError`, `CryptoError` and `OnionError` (see its docstring) and prints the message.
"""


class ServerError(Exception):
    """Base class of every error the server package raises on purpose."""


class SetupError(ServerError):
    """A new instance could not be created; nothing was left behind."""


class ServeError(ServerError):
    """The web servers could not be started or stopped."""


class BackupError(ServerError):
    """A backup could not be written; nothing was left behind."""


class BackupKeyError(BackupError):
    """The administrator's backup key is missing, unusable or not a public key."""


class RestoreError(ServerError):
    """A backup could not be restored; the target directory was left empty."""


class DumpError(ServerError):
    """pg_dump or pg_restore could not do its part of a backup or restore (server.database_dump);
    the caller removes what it wrote and re-raises it as BackupError or RestoreError."""
