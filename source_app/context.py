"""What the source app's views share, built once by the app factory and kept on the app."""

from dataclasses import dataclass

from flask import current_app

from core.instance import Instance
from source_app.derivation_gate import DerivationGate
from source_app.session import SourceSessionBox

EXTENSION_KEY = "skrynka.source"


@dataclass(frozen=True)
class SourceContext:
    instance: Instance
    sessions: SourceSessionBox
    public_key: str
    version: str
    #: Bounds the Argon2id derivations /create and /login start (source_app.derivation_gate).
    derivations: DerivationGate
    #: Sources /create may make per minute, all visitors together (a global throttle).
    creations_per_minute: int


def source_context() -> SourceContext:
    context: SourceContext = current_app.extensions[EXTENSION_KEY]
    return context
