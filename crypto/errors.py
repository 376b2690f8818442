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


class GpgFailed(CryptoError):
    """The gpg binary is missing or failed in a way that is not a decryption failure."""
