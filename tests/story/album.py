"""Numbered screenshots (and terminal transcripts) of a story, to follow it step by step."""

from pathlib import Path
from typing import Any


class Album:
    """Writes ``NN-name.png`` into one directory, in the order the pictures were taken."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for old in [*directory.glob("*.png"), *directory.glob("*.txt")]:
            old.unlink()
        self.directory = directory
        self._count = 0

    def take(self, page: Any, name: str) -> Path:
        path = self._next(name, "png")
        page.screenshot(path=str(path), full_page=True)
        return path

    def write(self, name: str, text: str) -> Path:
        """A step without a browser (a terminal session), kept as text in the same sequence."""
        path = self._next(name, "txt")
        path.write_text(text, encoding="utf-8")
        return path

    def _next(self, name: str, extension: str) -> Path:
        self._count += 1
        return self.directory / f"{self._count:02d}-{name}.{extension}"
