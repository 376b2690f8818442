"""The names of what staff can do, as the audit log stores them, and the channel they used.

The values are the exact strings written into existing audit entries: an entry's hash covers
its action, so renaming a value would make every old log fail verification. Add members; never
change a value.

The channel (web interface or API) is stored in the entry's ``detail`` field, as it always has
been: ``"web"`` or ``"api"`` alone, or ``"web: <more>"`` when the entry says more.
"""

from enum import StrEnum


class Channel(StrEnum):
    """How a member of staff reached the server."""

    WEB = "web"
    API = "api"

    def detail(self, more: str | None = None) -> str:
        """The ``detail`` of an audit entry made through this channel."""
        return self.value if more is None else f"{self.value}: {more}"

    @property
    def marks_delivered_items_seen(self) -> bool:
        """Whether handing over a file or bundle also marks its items seen and downloaded.

        A person downloading from the web interface is about to look at what they get. API
        clients download ahead of time and say what they have shown through ``/seen``, as
        SecureDrop's clients do, so a download through the API marks nothing.
        """
        return self is Channel.WEB


class AuditAction(StrEnum):
    """Every action the journalist interface and the API write to the audit log."""

    # Signing in and out.
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    # Evidence: what staff do with a source's submissions and replies.
    REPLY = "reply"
    DOWNLOAD = "download"
    DOWNLOAD_REFUSED = "download_refused"
    BUNDLE = "bundle"
    BUNDLE_REFUSED = "bundle_refused"
    STAR = "star"
    UNSTAR = "unstar"
    MARK_SEEN = "mark_seen"
    MARK_UNSEEN = "mark_unseen"
    DELETE_SUBMISSION = "delete_submission"
    DELETE_REPLY = "delete_reply"
    DELETE_CONVERSATION = "delete_conversation"
    DELETE_SOURCE = "delete_source"
    # The workstation's signed acknowledgements, and the deletions they allow.
    ACKNOWLEDGE = "acknowledge"
    ACKNOWLEDGEMENT_REFUSED = "acknowledgement_refused"
    DELETE_ACKNOWLEDGED = "delete_acknowledged"
    # Accounts and the instance (administrators, and each journalist for their own account).
    USER_CREATE = "user_create"
    USER_EDIT = "user_edit"
    USER_MAKE_ADMIN = "user_make_admin"
    USER_REMOVE_ADMIN = "user_remove_admin"
    USER_DELETE = "user_delete"
    USER_RESET_PASSPHRASE = "user_reset_passphrase"  # noqa: S105 (a name, no secret)
    USER_RESET_2FA = "user_reset_2fa"
    INSTANCE_SETTINGS = "instance_settings"
    LOGO_UPDATE = "logo_update"
    LOGO_REMOVE = "logo_remove"
    # Trusted time: a workstation's custody-head or renewal line stamped for staff.
    TIMESTAMP_HASH = "timestamp_hash"
