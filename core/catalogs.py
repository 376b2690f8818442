"""Compiling the web apps' translation catalogs: each ``.po`` into the ``.mo`` gettext reads.

Both web apps keep their catalogs as ``<directory>/<code>/LC_MESSAGES/messages.po`` in git and
compile them at start (and ``scripts/compile_translations.sh`` at build time), so an edited
catalog serves what it says. Each ``.mo`` is written to a temporary file and renamed into place:
gunicorn workers starting together never read half a catalog. A catalog that cannot be read or
written raises :class:`~core.errors.CatalogUnusable` naming the file; each app turns that into
its own start-up error.
"""

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po

from core.errors import CatalogUnusable

DOMAIN = "messages"


def catalog_path(directory: Path, code: str) -> Path:
    """Where the ``.po`` of language ``code`` lives under ``directory``."""
    return directory / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def missing_catalogs(directory: Path, codes: Iterable[str]) -> list[str]:
    """The language codes among ``codes`` that have no ``.po`` under ``directory``."""
    return [code for code in codes if not catalog_path(directory, code).is_file()]


def compile_catalogs(directory: Path, *, only_stale: bool = False) -> list[Path]:
    """Compile every ``.po`` under ``directory`` (with ``only_stale``, those whose ``.mo`` is
    missing or older); returns the ``.mo`` files written.

    Fuzzy entries are left out, as gettext does.
    """
    written: list[Path] = []
    for po_path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if only_stale and mo_path.is_file() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=po_path.parent.parent.name, abort_invalid=True)
            fd, temp_name = tempfile.mkstemp(dir=po_path.parent, prefix=".messages-", suffix=".mo")
            try:
                with os.fdopen(fd, "wb") as mo_file:
                    write_mo(mo_file, catalog, use_fuzzy=False)
                os.chmod(temp_name, 0o644)
                os.replace(temp_name, mo_path)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise
        except (OSError, ValueError, PoFileError) as exc:
            raise CatalogUnusable(po_path, str(exc)) from exc
        written.append(mo_path)
    return written
