"""Errors raised by core, the domain and its storage. Every message says what to do next.

Everything core raises on purpose derives from `CoreError`; the command line (`server.cli`) and
the two web apps catch it at their edges. The server's own errors (set-up, serving, backups) are
in `server.errors`, the development tools' in `devtools.errors`.
"""

from collections.abc import Sequence
from dataclasses import dataclass


class CoreError(Exception):
    """Base class of every error core raises on purpose."""


class SettingsError(CoreError):
    """The settings are invalid; the message lists every problem, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "The settings are not usable:\n" + "\n".join(f"- {p}" for p in self.problems)
        )


class DatabaseError(CoreError):
    """The database cannot be reached or its schema cannot be brought up to date."""


class CiphertextStoreError(CoreError):
    """A ciphertext store (`core.store`) operation was refused or failed."""


class UnsafeStorePath(CiphertextStoreError):
    """A source id or file name would leave the store or does not look like ours."""


class StoredFileMissing(CiphertextStoreError):
    """The database points at a ciphertext file that is not on disk."""


@dataclass(frozen=True)
class DamagedFile:
    """One stored file whose bytes no longer hash to the SHA-256 recorded when it was stored."""

    item_uuid: str
    designation: str
    filename: str
    expected_sha256: str
    found_sha256: str
    receipt_of: str | None = None  # the item's own file name when the damaged file is its receipt

    def describe(self) -> str:
        what = self.filename
        if self.receipt_of is not None:
            what = f"{self.filename} (the receipt of {self.receipt_of})"
        return f"{what} from {self.designation} (item {self.item_uuid})"


class StoredFileDamaged(CiphertextStoreError):
    """Stored ciphertext no longer matches its recorded SHA-256; nothing of it was sent."""

    def __init__(self, damaged: Sequence[DamagedFile]) -> None:
        self.damaged = tuple(damaged)
        super().__init__(
            "Nothing was downloaded: the stored ciphertext of "
            + "; ".join(d.describe() for d in self.damaged)
            + " no longer matches the SHA-256 recorded when it was received, so the store is "
            "damaged or was changed. Tell the administrator, restore the file from a backup "
            "(or delete the item), then download again."
        )


class InstanceError(CoreError):
    """The instance is not fit to serve; the message lists every problem, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "This Skrynka instance cannot start:\n" + "\n".join(f"- {p}" for p in self.problems)
        )


# --- Staff accounts, replies, deletion, transfer bundles, the audit log ---


class AuthenticationFailed(CoreError):
    """A staff sign-in was refused. Subclasses never say which factor was wrong."""


class LoginFailed(AuthenticationFailed):
    """Username, passphrase or one-time code is wrong (deliberately not saying which)."""

    def __init__(
        self,
        message: str = (
            "Sign-in failed: check your username, passphrase and a fresh one-time code, "
            "then try again."
        ),
    ) -> None:
        super().__init__(message)


class LoginThrottled(AuthenticationFailed):
    """Too many failed sign-ins inside the window: wrong passphrases from this client, or
    wrong one-time codes after the right passphrase for this account."""

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            "Too many sign-in attempts. "
            f"Wait {retry_after_seconds} seconds, then try again."
        )


class JournalistError(CoreError):
    """A staff account could not be created or changed; nothing was changed."""


class InvalidUsername(JournalistError):
    """The username is empty, too long or uses characters other than letters, digits, . _ -."""

    def __init__(self) -> None:
        super().__init__(
            "Usernames are 3 to 64 characters: letters, digits, '.', '_' or '-', starting with "
            "a letter or digit. Choose another username."
        )


class InvalidName(JournalistError):
    """A first or last name is too long or holds control characters."""

    def __init__(self, what: str, max_chars: int) -> None:
        self.what = what
        super().__init__(
            f"The {what} must be at most {max_chars} printable characters. Shorten it."
        )


class InvalidPassphrase(JournalistError):
    """A passphrase given from outside (demo data, migrations) is too short or too long."""

    def __init__(self, min_chars: int, max_chars: int) -> None:
        super().__init__(
            f"A passphrase must be {min_chars} to {max_chars} characters; "
            "leave it out to have one generated."
        )


class UsernameTaken(JournalistError):
    """Another staff account already uses this username."""

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"The username {username!r} is taken. Choose another one.")


class InvalidOtpSecret(JournalistError):
    """A one-time-code secret is not valid base32 (TOTP) or hex/base32 (HOTP) of enough bits."""


class InvalidOtpCode(JournalistError):
    """A one-time code did not verify (wrong, expired or already used)."""


class ReplyError(CoreError):
    """A reply could not be encrypted or stored; nothing was stored."""


class EmptyReply(ReplyError):
    """The reply text is empty or only white space."""

    def __init__(self) -> None:
        super().__init__("The reply is empty: type a message before sending it.")


class ReplyUuidInUse(ReplyError):
    """A reply with this uuid already exists (an API client sent the same reply twice)."""


class ReplyNotReadable(ReplyError):
    """A reply an API client encrypted is not one the source (and the workstation) can read."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The reply was refused: {reason}. Encrypt it, without compression or signature, "
            "to exactly the source's reply key (the source's `key`) and the submission key."
        )


class BundleError(CoreError):
    """A transfer bundle could not be written."""


class BundleItemMissing(BundleError):
    """An item chosen for a bundle was deleted or its file is gone; choose again."""


class EmptyBundle(BundleError):
    """No items were chosen for the bundle."""


class AuditError(CoreError):
    """The audit log could not be written or read."""


# --- Sources and submissions ------------------------------------------------------------------


class DesignationExhausted(CoreError):
    """No unused journalist designation could be drawn."""


class UnknownSource(CoreError):
    """No source matches the codename or id given (it never existed or was deleted)."""


class SubmissionRefused(CoreError):
    """A submission was refused because of what the source sent; nothing was stored."""


class EmptySubmission(SubmissionRefused):
    """Neither a message nor a file was sent."""


class EmptyFile(SubmissionRefused):
    """A file was chosen but it holds no bytes."""


class MessageNotText(SubmissionRefused):
    """The message bytes are not valid UTF-8 text."""


class MessageTooLong(SubmissionRefused):
    """The message is longer than a message may be (files have their own, larger limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"The message is longer than {limit} bytes; send long texts as a file.")


class MessageTooShort(SubmissionRefused):
    """A source's first message is shorter than the instance's minimum."""

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum
        super().__init__(f"A first message must be at least {minimum} characters long.")


class MessageContainsCodename(SubmissionRefused):
    """The message contains the source's own codename (it would then sit in the inbox)."""


class UploadsDisabled(SubmissionRefused):
    """A file was sent while the instance accepts messages only."""


class TooManyFiles(SubmissionRefused):
    """More files in one submission than an instance accepts; nothing was stored."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"A submission may hold at most {limit} files; send the others in another one."
        )


class UploadTooLarge(SubmissionRefused):
    """The upload is larger than the instance's limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"The upload is larger than the limit of {limit} bytes.")


# --- Acknowledgements from the workstation -----------------------------------------------------


class AcknowledgementError(CoreError):
    """An acknowledgement was refused as a whole; nothing was deleted."""


class WorkstationKeyInvalid(AcknowledgementError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The workstation key is not usable: {detail}. Export it on the workstation with "
            "`skrynka-workstation public-key --out FILE` and pin that file."
        )


class NoWorkstationKey(AcknowledgementError):
    def __init__(self) -> None:
        super().__init__(
            "No workstation key is pinned, so no acknowledgement can be trusted and nothing was "
            "deleted. An administrator pins it with `skrynka workstation-key set FILE`."
        )


class AcknowledgementRefused(AcknowledgementError):
    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"{detail} Nothing was deleted.")


class TimestampError(CoreError):
    """A trusted timestamp could not be obtained or checked; nothing was recorded for it."""


class TsaUnreachable(TimestampError):
    """The time-stamping authority (or tor on the way to it) did not answer usefully."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(
            f"the time-stamping authority {url} could not be reached: {reason}. The tree stays "
            "waiting and is retried on the next run; check tor (`skrynka check`) and the "
            "authority's status page if this repeats"
        )


class TsaTokenRefused(TimestampError):
    """An authority answered, but its token does not check out."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(
            f"the token from {url} was refused: {reason}. Nothing was stored; check that "
            "SKRYNKA_TSA_CA_FILE holds this authority's current root certificate"
        )


class StampRequestInvalid(TimestampError):
    """An uploaded stamp request is not a workstation's custody-head or renewal request."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"this file is not a stamp request from the evidence workstation ({reason}); "
            "upload the file `skrynka-workstation stamp-request` wrote, unchanged"
        )


class CatalogUnusable(CoreError):
    """A translation catalog (``.po``) cannot be read or compiled into its ``.mo``."""

    def __init__(self, po_path: object, reason: str) -> None:
        self.po_path = po_path
        self.reason = reason
        super().__init__(
            f"Could not compile {po_path}: {reason}. Fix the catalog, or run "
            "scripts/compile_translations.sh as a user who may write to that directory."
        )
