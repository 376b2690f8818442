"""What the source app's views share, built once by the app factory and kept on the app."""

from dataclasses import dataclass

from flask import current_app

from core.instance import Instance
from source_app.session import SourceSessionBox

EXTENSION_KEY = "skrynka.source"


@dataclass(frozen=True)
class SourceContext:
    instance: Instance
    sessions: SourceSessionBox
    public_key: str
    version: str


def source_context() -> SourceContext:
    context: SourceContext = current_app.extensions[EXTENSION_KEY]
    return context
