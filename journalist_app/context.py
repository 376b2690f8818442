"""What every staff view shares, web page or API call: the instance, the audit log, the sign-in
throttle and the signed-in journalist.

One :class:`StaffContext` serves each way in (:class:`~core.audit_actions.Channel`): the web
interface's is :func:`staff`, the API's is :func:`journalist_app.api.context.api`. They differ
only in the channel, which every audit entry and every action on evidence carries. Asking for a
context the app never installed is a programming error and fails loudly.
"""

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

# Where each channel's context lives in ``app.extensions``.
EXTENSION_KEYS = {Channel.WEB: "skrynka.staff", Channel.API: "skrynka.api"}


@dataclass(frozen=True)
class StaffContext:
    instance: Instance
    audit: AuditLog
    #: How staff reach the server through this context; recorded with everything they do.
    channel: Channel = Channel.WEB
    #: Wrong passphrases per client, shared by the web sign-in and the API's (one per process).
    sign_in_throttle: ClientThrottle = field(default_factory=lambda: ClientThrottle(5, 60))

    @property
    def session_lifetime(self) -> timedelta:
        """How long a web session or an API token lives; every request renews it."""
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
        """Add an audit entry in the request's transaction (the view commits it); the detail
        names the channel, so the log tells the web and the API apart."""
        self.audit.record(
            db,
            actor=journalist.uuid if journalist is not None else "unknown",
            action=action,
            object=object,
            ciphertext_sha256=ciphertext_sha256,
            detail=self.channel.detail(detail),
        )

    def actor(self, db: Session, journalist: Journalist) -> StaffActor:
        """``journalist`` acting on evidence through this context's channel."""
        return StaffActor(
            db=db,
            instance=self.instance,
            audit=self.audit,
            journalist=journalist,
            channel=self.channel,
        )


def install_context(app: Flask, context: StaffContext) -> None:
    """Make ``context`` the one its channel's views find (:func:`context_for`)."""
    app.extensions[EXTENSION_KEYS[context.channel]] = context


def context_for(channel: Channel) -> StaffContext:
    """The context for ``channel`` in the app serving this request."""
    context = current_app.extensions[EXTENSION_KEYS[channel]]
    assert isinstance(context, StaffContext)
    assert context.channel is channel
    return context


def staff() -> StaffContext:
    """The web interface's context."""
    return context_for(Channel.WEB)


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
