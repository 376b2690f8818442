"""What every staff view shares: the instance, the audit log and the signed-in journalist."""

from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, abort, current_app, g
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.audit_actions import AuditAction, Channel
from core.client_throttle import ClientThrottle
from core.instance import Instance
from core.models import Journalist
from core.staff_actions import StaffActor

EXTENSION_KEY = "skrynka.staff"


@dataclass(frozen=True)
class StaffContext:
    instance: Instance
    audit: AuditLog
    #: Wrong passphrases per client, shared by the web sign-in and the API's (one per process).
    sign_in_throttle: ClientThrottle = field(default_factory=lambda: ClientThrottle(5, 60))

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(minutes=self.instance.settings.journalist_session_minutes)

    def record(
        self,
        db: Session,
        journalist: Journalist | None,
        action: AuditAction,
        *,
        object: str | None = None,
        ciphertext_sha256: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Add an audit entry in the request's transaction (the view commits it)."""
        self.audit.record(
            db,
            actor=journalist.uuid if journalist is not None else "unknown",
            action=action,
            object=object,
            ciphertext_sha256=ciphertext_sha256,
            detail=Channel.WEB.detail(detail),
        )

    def actor(self, db: Session, journalist: Journalist) -> StaffActor:
        """The signed-in journalist acting on evidence through the web interface."""
        return StaffActor(
            db=db,
            instance=self.instance,
            audit=self.audit,
            journalist=journalist,
            channel=Channel.WEB,
        )


def install_context(app: Flask, context: StaffContext) -> None:
    app.extensions[EXTENSION_KEY] = context


def staff() -> StaffContext:
    context = current_app.extensions[EXTENSION_KEY]
    assert isinstance(context, StaffContext)
    return context


def db() -> Session:
    """The request's database session (opened before the view, closed after the response)."""
    session = g.get("db")
    assert isinstance(session, Session)
    return session


def me() -> Journalist:
    """The signed-in journalist; views reach this only behind ``login_required``."""
    journalist = g.get("journalist")
    if not isinstance(journalist, Journalist):
        abort(401)
    return journalist


def acting() -> StaffActor:
    """The signed-in journalist, ready to act on evidence in the request's transaction."""
    return staff().actor(db(), me())
