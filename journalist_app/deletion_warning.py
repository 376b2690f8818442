"""The warning on every page that asks before deleting sources: material not yet bundled.

A source's items reach the workstation only in a downloaded transfer bundle. Before anyone
deletes a source or its data, the confirmation page says how many of its items were never in
one, so nothing is thrown away that the evidence team has not received. Templates call
``never_bundled(sources)``; it only reads.
"""

from collections.abc import Sequence

from flask import Flask

from core.inbox import count_never_bundled
from core.models import Source
from journalist_app.context import db


def register_deletion_warning(app: Flask) -> None:
    def never_bundled(sources: Sequence[Source]) -> int:
        return count_never_bundled(db(), sources)

    @app.context_processor
    def deletion_warning_context() -> dict[str, object]:
        return {"never_bundled": never_bundled}
