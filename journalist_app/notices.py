"""Short confirmations shown after a redirect, named by key in the URL (no session state)."""

from flask import request
from flask_babel import lazy_gettext

NOTICES = {
    "signed-out": lazy_gettext("You are signed out."),
    "session-ended": lazy_gettext("Your session has ended. Sign in again."),
    "reply-sent": lazy_gettext("Your reply was encrypted and sent."),
    "starred": lazy_gettext("Starred."),
    "unstarred": lazy_gettext("Star removed."),
    "seen": lazy_gettext("Marked as seen."),
    "unseen": lazy_gettext("Marked as unseen."),
    "deleted": lazy_gettext("Deleted. The files were removed from the server."),
    "conversation-deleted": lazy_gettext(
        "Every message, file and reply of this source was deleted."
    ),
    "sources-deleted": lazy_gettext("The selected sources and everything they sent were deleted."),
    "nothing-selected": lazy_gettext("Nothing was selected: tick at least one box first."),
    "user-saved": lazy_gettext("The account was saved."),
    "user-deleted": lazy_gettext(
        "The account was deleted. Its replies stay, shown as by a deleted user."
    ),
    "settings-saved": lazy_gettext("The instance settings were saved."),
    "logo-saved": lazy_gettext("The new logo is in place."),
    "logo-removed": lazy_gettext("The logo was removed."),
    "two-factor-verified": lazy_gettext("The authenticator works: the code was accepted."),
}


def current_notice() -> str | None:
    key = request.args.get("notice", "")
    notice = NOTICES.get(key)
    return str(notice) if notice is not None else None
