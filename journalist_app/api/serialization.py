"""The JSON objects of API v1 (Source, Submission, Reply, User), every key the clients require.

URLs are server-relative and end in the object's uuid (downloads add `/download`), because the
SDK takes a source's uuid from the last path segment of `source_url`.
"""

from datetime import UTC, datetime
from typing import Any

from core.inbox import SourceRow
from core.models import Journalist
from journalist_app.api.listing import ReplyRow, SubmissionRow

PREFIX = "/api/v1"
# Replies whose author's account was deleted stay, attributed to this placeholder.
DELETED_USER = "deleted"


def format_datetime(value: datetime) -> str:
    """`%Y-%m-%dT%H:%M:%S.%fZ` always with microseconds: older clients parse nothing else."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def source_url(source_uuid: str) -> str:
    return f"{PREFIX}/sources/{source_uuid}"


def serialize_source(row: SourceRow) -> dict[str, Any]:
    source = row.source
    url = source_url(source.uuid)
    return {
        "uuid": source.uuid,
        "url": url,
        "journalist_designation": source.journalist_designation,
        "is_flagged": False,
        "is_starred": source.is_starred,
        "last_updated": format_datetime(source.last_updated),
        "interaction_count": source.interaction_count,
        "key": {
            "type": "PGP",
            "public": source.reply_key_public,
            "fingerprint": source.reply_key_fingerprint,
        },
        "number_of_documents": row.counts.documents,
        # SecureDrop's clients know two kinds: whatever is not a file is shown as a message.
        "number_of_messages": row.counts.not_files,
        "submissions_url": f"{url}/submissions",
        "add_star_url": f"{url}/add_star",
        "remove_star_url": f"{url}/remove_star",
        "replies_url": f"{url}/replies",
    }


def serialize_submission(row: SubmissionRow) -> dict[str, Any]:
    url = f"{source_url(row.source_uuid)}/submissions/{row.uuid}"
    return {
        "uuid": row.uuid,
        "filename": row.filename,
        "size": row.size,
        "is_file": row.kind == "file",
        "is_message": row.kind != "file",
        # Read means someone on staff has looked at it (SecureDrop counts a download too).
        "is_read": row.downloaded or bool(row.seen_by),
        "seen_by": row.seen_by,
        "source_url": source_url(row.source_uuid),
        "submission_url": url,
        "download_url": f"{url}/download",
    }


def serialize_reply(row: ReplyRow) -> dict[str, Any]:
    deleted = row.journalist_uuid is None
    return {
        "uuid": row.uuid,
        "filename": row.filename,
        "size": row.size,
        "journalist_username": DELETED_USER if deleted else row.journalist_username,
        "journalist_first_name": None if deleted else row.journalist_first_name,
        "journalist_last_name": None if deleted else row.journalist_last_name,
        "journalist_uuid": DELETED_USER if deleted else row.journalist_uuid,
        "is_deleted_by_source": row.deleted_by_source,
        "seen_by": row.seen_by,
        "source_url": source_url(row.source_uuid),
        "reply_url": f"{source_url(row.source_uuid)}/replies/{row.uuid}",
    }


def serialize_user(journalist: Journalist) -> dict[str, Any]:
    return {
        "username": journalist.username,
        "uuid": journalist.uuid,
        "first_name": journalist.first_name,
        "last_name": journalist.last_name,
    }


def serialize_current_user(journalist: Journalist) -> dict[str, Any]:
    last_login = journalist.last_login
    return {
        **serialize_user(journalist),
        "is_admin": journalist.is_admin,
        "last_login": None if last_login is None else format_datetime(last_login),
    }
