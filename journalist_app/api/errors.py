"""Errors the API answers with: each carries its HTTP status and the exact client-facing message.

SecureDrop clients recognise outcomes by status code and, for some, by the message text, so the
messages below are part of the contract (../../docs and API-V1) and must not be reworded.
"""

from http import HTTPStatus


class ApiError(Exception):
    """Base class: an error the API turns into `{"error": <reason>, "message": <message>}`."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidBody(ApiError):
    """The request body is not the JSON the endpoint expects; send valid JSON."""


class MissingField(ApiError):
    """A required field is absent from the request body."""


class InvalidField(ApiError):
    """A field has the wrong type or an unusable value."""


class PlaintextReply(ApiError):
    """A reply was not an armored OpenPGP message: clients must encrypt replies themselves."""


class BodyTooLarge(ApiError):
    """The request body is larger than any API request needs to be."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class TokenMissing(ApiError):
    """No usable `Authorization: Token <token>` header."""

    status = HTTPStatus.FORBIDDEN


class TokenInvalid(ApiError):
    """The token is unknown, revoked or expired: sign in again with POST /api/v1/token."""

    status = HTTPStatus.FORBIDDEN


class SignInFailed(ApiError):
    """Username, passphrase or one-time code refused, or the account is throttled."""

    status = HTTPStatus.FORBIDDEN


class UnknownObject(ApiError):
    """No source, submission or reply with that uuid (or not under that source)."""

    status = HTTPStatus.NOT_FOUND


class UuidInUse(ApiError):
    """The uuid a client chose for its reply already names another object."""

    status = HTTPStatus.CONFLICT


class DamagedCiphertext(ApiError):
    """A stored file no longer matches the SHA-256 recorded at intake; nothing was sent."""

    status = HTTPStatus.CONFLICT


class AcknowledgementNotAccepted(ApiError):
    """The acknowledgement is malformed or not signed by the pinned workstation key."""


class NoWorkstationKeyPinned(ApiError):
    """No workstation key is pinned on the server, so no acknowledgement can be checked."""

    status = HTTPStatus.CONFLICT
