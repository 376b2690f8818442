"""Every error the crypto package raises derives from :class:`CryptoError`.

Messages say what went wrong and what the operator (or the source, through the app) can do.
They never contain secrets or the input that was refused.
"""


class CryptoError(Exception):
    """Base class of the crypto package's errors."""


class InvalidCodename(CryptoError):
    """Typed text is not a codename this instance could have issued."""


class DecryptionFailed(CryptoError):
    """Decryption or unwrapping failed; deliberately says nothing about why."""

    def __init__(self, message: str = "Decryption failed: wrong key or damaged data.") -> None:
        super().__init__(message)


class PlaintextTooLarge(DecryptionFailed):
    """Decryption was stopped because the plaintext grew past the size it may have."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Decryption was stopped: the plaintext grew past {limit} bytes, more than it may "
            "hold (a decompression bomb or a false size)."
        )
        self.limit = limit


class SubmissionKeyError(CryptoError):
    """The submission key cannot be used safely."""


class SubmissionKeyMissing(SubmissionKeyError):
    """No (usable) submission public key was found."""


class SubmissionKeyExpired(SubmissionKeyError):
    """The submission key, or every encryption subkey of it, has expired."""


class SubmissionKeyRevoked(SubmissionKeyError):
    """The submission key, or every encryption subkey of it, has been revoked."""


class WeakSubmissionKey(SubmissionKeyError):
    """The submission key uses an algorithm or size that is too weak."""


class SecretKeyPresent(SubmissionKeyError):
    """A secret key is where only public keys may be (the server must not be able to decrypt)."""


class InvalidSubmissionKey(SubmissionKeyError):
    """The data is not exactly one OpenPGP public key with an encryption subkey."""


class BadSignature(CryptoError):
    """An Ed25519 signature does not verify with the given public key."""


class SealError(CryptoError):
    """A sealed token is malformed, was sealed under another key, or was altered."""


class SealExpired(SealError):
    """A sealed token was valid but its lifetime is over."""


class WordListUnavailable(CryptoError):
    """The EFF word list could not be loaded from the installed ``diceware`` package."""


class UnacceptableReply(CryptoError):
    """An encrypted reply is not exactly a message to the source's and the submission key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GpgFailed(CryptoError):
    """The gpg binary is missing or failed in a way that is not a decryption failure."""


class BadInclusionPath(CryptoError):
    """A Merkle inclusion path (or its leaf, index or size) is malformed."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"malformed Merkle inclusion path: {reason}; the proof cannot be checked as given"
        )


class TimestampTokenInvalid(CryptoError):
    """An RFC 3161 time-stamp token does not verify (the reason says which check failed)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"time-stamp token refused: {reason}")


class TimestampTokenMismatch(TimestampTokenInvalid):
    """The token is for other data: its message imprint is not the hash of this message."""


class NoSpaceForOutput(GpgFailed):
    """gpg could not write its output because the file system it writes to is full."""

    def __init__(self, directory: str) -> None:
        super().__init__(
            f"gpg could not write into {directory}: no space is left on that file system. Free "
            "space there (old backups, logs) or grow the disk; the partial output was removed."
        )
