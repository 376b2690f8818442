"""The source interface: where a source gets a codename, submits, and reads replies.

Build it with :func:`create_app`; nothing happens at import time.
"""

from importlib import metadata

from flask import Flask

from core.bridges import parse_bridge_lines
from core.instance import Instance, open_instance
from core.settings import Settings, load_settings
from core.source_sessions import SourceSessionRegistry
from core.web import harden_app
from crypto.submission_key import export_public_key
from source_app import info, main
from source_app.answers import register_answer_forms
from source_app.branding import register_branding
from source_app.connection import register_connection_notices
from source_app.consent import make_consent_blueprint
from source_app.context import EXTENSION_KEY, SourceContext
from source_app.derivation_gate import DEFAULT_SLOTS, DEFAULT_WAIT_SECONDS, DerivationGate
from source_app.drain import ClosingAnswers
from source_app.error_page import register_error_pages
from source_app.guidance import register_guidance
from source_app.i18n import SUPPORTED_LOCALES, init_i18n
from source_app.request import FORM_MEMORY_BYTES, SourceRequest
from source_app.session import SourceSessionBox, derive_cookie_key
from source_app.upload import FORM_OVERHEAD_BYTES

# Stricter than the shared default: the source interface needs no fonts either.
SOURCE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


#: Sources created per minute by all visitors together: far above what real sources need (a few
#: a day), low enough that pending sources cannot use up the 90 000 designations before they
#: are pruned (core.sources.prune_pending_sources).
CREATIONS_PER_MINUTE = 30


def create_app(
    settings: Settings | None = None,
    instance: Instance | None = None,
    *,
    derivations: DerivationGate | None = None,
    derivation_slots: int = DEFAULT_SLOTS,
    derivation_wait_seconds: float = DEFAULT_WAIT_SECONDS,
    creations_per_minute: int = CREATIONS_PER_MINUTE,
) -> Flask:
    """Build the source app for ``instance`` (opened from ``settings`` or the environment).

    ``derivations`` bounds the Argon2id work unauthenticated requests start in this process
    (one gate per process, shared by its threads); without it one is made from
    ``derivation_slots`` and ``derivation_wait_seconds``, which gunicorn's factory syntax can
    set (``source_app:create_app(derivation_slots=1)``).
    """
    if instance is None:
        instance = open_instance(settings if settings is not None else load_settings())
    settings = instance.settings
    app = Flask(__name__)
    app.request_class = SourceRequest
    # The CSRF token is checked after the body of an upload has arrived: allow for the upload.
    csrf = harden_app(
        app,
        instance,
        csp=SOURCE_CSP,
        csrf_time_limit_seconds=settings.csrf_time_limit_seconds + settings.worker_timeout_seconds,
    )
    app.config.update(
        MAX_FORM_MEMORY_SIZE=FORM_MEMORY_BYTES,
        # Requests other than /submit are small; /submit sets its own limit per request.
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + FORM_OVERHEAD_BYTES,
        SESSION_COOKIE_NAME="skrynka_source",
        PERMANENT_SESSION_LIFETIME=settings.source_session_seconds
        + settings.worker_timeout_seconds,
        SUPPORTED_LANGUAGES=SUPPORTED_LOCALES,
    )
    init_i18n(app, default_locale=settings.source_default_locale)
    app.extensions[EXTENSION_KEY] = SourceContext(
        instance=instance,
        sessions=SourceSessionBox(
            cookie_key=derive_cookie_key(instance.session_key),
            lifetime_seconds=settings.source_session_seconds,
            registry=SourceSessionRegistry(instance.sessions),
        ),
        public_key=export_public_key(settings.gnupg_home, instance.submission_fingerprint),
        version=_version(),
        derivations=derivations or DerivationGate(derivation_slots, derivation_wait_seconds),
        creations_per_minute=creations_per_minute,
    )
    app.register_blueprint(main.bp)
    app.register_blueprint(info.bp)
    app.register_blueprint(make_consent_blueprint())
    # The settings refused to load if a line is malformed, so these are good lines.
    bridges, _problems = parse_bridge_lines(settings.source_bridge_lines)
    register_guidance(app, bridge_lines=bridges.lines)
    register_branding(app)
    register_connection_notices(app, dev_mode=settings.dev_mode)
    register_answer_forms(app)
    register_error_pages(app)
    # /submit reads its body itself and checks the CSRF token there (source_app.upload).
    csrf.exempt(main.submit)
    # Early answers to an upload end their connection (source_app.drain).
    app.wsgi_app = ClosingAnswers(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _version() -> str:
    try:
        return metadata.version("skrynka")
    except metadata.PackageNotFoundError:
        return "0"
