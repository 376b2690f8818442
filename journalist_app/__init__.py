"""The journalist (staff) interface: sign-in with 2FA, inbox, source pages, administration.

Built by ``create_app``; nothing happens at import time. Every page works without
JavaScript; a small same-origin script only adds conveniences (select all).
"""

from flask import Flask

from core.audit import AuditLog
from core.client_throttle import ClientThrottle
from core.instance import Instance, open_instance
from core.settings import Settings, load_settings
from core.web import harden_app
from journalist_app import account, acknowledgements, admin, auth, conversation, inbox, timestamps
from journalist_app.api import register_api
from journalist_app.context import StaffContext, install_context
from journalist_app.deletion_warning import register_deletion_warning
from journalist_app.error_pages import install_error_pages
from journalist_app.i18n import init_staff_i18n
from journalist_app.session import COOKIE_NAME, TokenSessionInterface

# Same-origin scripts are allowed for progressive enhancement only; no inline script or style.
STAFF_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Forms are small; the logo upload is the largest (256 KiB) plus multipart overhead.
MAX_REQUEST_BYTES = 2 * 1024 * 1024


def create_app(settings: Settings | None = None, instance: Instance | None = None) -> Flask:
    """Build the staff app for ``instance`` (opened from ``settings`` or the environment)."""
    if instance is None:
        instance = open_instance(settings if settings is not None else load_settings())
    app = Flask(__name__)
    harden_app(
        app,
        instance,
        csp=STAFF_CSP,
        csrf_time_limit_seconds=instance.settings.journalist_session_minutes * 60,
    )
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_REQUEST_BYTES,
    )
    app.session_interface = TokenSessionInterface(instance.session_key)
    init_staff_i18n(app, default_locale=instance.settings.source_default_locale)
    throttle = ClientThrottle(
        instance.settings.login_attempt_limit, instance.settings.login_attempt_window_seconds
    )
    install_context(
        app,
        StaffContext(instance=instance, audit=AuditLog(instance.signer), sign_in_throttle=throttle),
    )
    auth.install_session_handling(app)
    install_error_pages(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(conversation.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(acknowledgements.bp)
    app.register_blueprint(timestamps.bp)
    register_api(app, instance, sign_in_throttle=throttle)
    register_deletion_warning(app)
    return app
