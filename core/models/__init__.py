"""The database schema, one module per noun. Import models from here."""

from core.models.audit import AuditCheckpoint, AuditEntry
from core.models.base import Base
from core.models.instance import InstanceConfig
from core.models.journalist import Journalist, JournalistSession, LoginAttempt
from core.models.reply import Reply, SeenReply
from core.models.source import Source
from core.models.source_session import SourceSession
from core.models.submission import SeenSubmission, Submission
from core.models.timestamp import TimestampLeaf, TimestampToken, TimestampTree

__all__ = [
    "AuditCheckpoint",
    "AuditEntry",
    "Base",
    "InstanceConfig",
    "Journalist",
    "JournalistSession",
    "LoginAttempt",
    "Reply",
    "SeenReply",
    "SeenSubmission",
    "Source",
    "SourceSession",
    "Submission",
    "TimestampLeaf",
    "TimestampToken",
    "TimestampTree",
]
