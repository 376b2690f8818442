"""Short confirmations shown after a redirect, named by key in the URL (no session state)."""

from flask import request

NOTICES = {
    "signed-out": "You are signed out.",
    "session-ended": "Your session has ended. Sign in again.",
    "reply-sent": "Your reply was encrypted and sent.",
    "starred": "Starred.",
    "unstarred": "Star removed.",
    "seen": "Marked as seen.",
    "unseen": "Marked as unseen.",
    "deleted": "Deleted. The files were removed from the server.",
    "conversation-deleted": "Every message, file and reply of this source was deleted.",
    "sources-deleted": "The selected sources and everything they sent were deleted.",
    "nothing-selected": "Nothing was selected: tick at least one box first.",
    "user-saved": "The account was saved.",
    "user-deleted": "The account was deleted. Its replies stay, shown as by a deleted user.",
    "settings-saved": "The instance settings were saved.",
    "logo-saved": "The new logo is in place.",
    "logo-removed": "The logo was removed.",
    "two-factor-verified": "The authenticator works: the code was accepted.",
}


def current_notice() -> str | None:
    key = request.args.get("notice", "")
    return NOTICES.get(key)
