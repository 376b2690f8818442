"""Renditions: what staff are shown instead of an original, made once in the sandbox.

Flow of `render_item`:

1. If `renditions/<item id>/rendition.json` exists, that rendition is returned; nothing runs.
2. The converter chosen by the original's content (`workstation.converters`) runs in the
   sandbox, writing into a staging directory of the store; the store lock is not held meanwhile,
   so a slow conversion does not block imports.
3. What the converter produced is copied (never followed through a link) into a new directory:
   `page-0001.png`... or `image.png`, `keyframe-001.png`... and `video.webm`, `audio.ogg`, or
   `text.txt`, each read-only, with `rendition.json` naming the kind, every file's SHA-256, the
   tools and their Debian package versions, the note, who asked and when.
4. Under the store lock: if another command made the rendition meanwhile, ours is dropped and
   theirs returned; otherwise the directory is renamed into place (atomic, same filesystem)
   and a signed custody entry (action "render") records the outcome, the tools and versions and
   the output hashes.

A file the sandbox stopped, or a tool could not read, is not an error to the caller: the refusal
is stored the same way (kind "none", `refused: true`, the reason as note), logged in custody, and
returned, so it is not retried every time someone looks at it. An item that does not exist is
`ItemNotFound`; a machine without bubblewrap is `SandboxUnavailable` and nothing is recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.catalogue import load_item
from workstation.converters import (
    KIND_AUDIO,
    KIND_IMAGE,
    KIND_NONE,
    KIND_PAGES,
    KIND_TEXT,
    KIND_VIDEO,
    KINDS,
    Converted,
    convert_file,
)
from workstation.custody import CustodyLog
from workstation.errors import ConversionRefused, ItemNotFound, StoreLocked
from workstation.sandbox import Sandbox, SandboxLimits
from workstation.store import (
    EvidenceStore,
    fsync_dir,
    read_json,
    remove_tree,
    utc_now,
    write_bytes_atomic,
    write_json_atomic,
)

RENDITION_FORMAT = "skrynka-rendition"
RENDITION_VERSION = 1
RECORD_NAME = "rendition.json"
TEXT_NAME = "text.txt"
LOCK_WAIT_SECONDS = 10.0
_ITEM_ID = re.compile(r"^[0-9a-f]{64}$")
# A file of each tool: the Debian package that owns it, and that package's version, are what
# the rendition records (dpkg knows which variant is installed, e.g. a -nogui LibreOffice).
TOOL_FILES = {
    "bwrap": "/usr/bin/bwrap",
    "pdfinfo": "/usr/bin/pdfinfo",
    "pdftoppm": "/usr/bin/pdftoppm",
    "soffice": "/usr/lib/libreoffice/program/soffice.bin",
    "ffprobe": "/usr/bin/ffprobe",
    "ffmpeg": "/usr/bin/ffmpeg",
    "pillow": "/usr/lib/python3/dist-packages/PIL/Image.py",
    "heif-info": "/usr/bin/heif-info",
    "heif-convert": "/usr/bin/heif-convert",
}
MEDIA_TYPES = {".png": "image/png", ".webm": "video/webm", ".ogg": "audio/ogg",
               ".txt": "text/plain"}


@dataclass(frozen=True)
class Rendition:
    """A rendition as stored; `files` are read-only and in display order."""

    item_id: str
    kind: str
    files: tuple[Path, ...]
    text: str | None
    tools: dict[str, str]
    note: str | None
    made_at: str
    # True when the sandbox stopped the conversion or a tool could not read the file.
    refused: bool = False

    @property
    def directory(self) -> Path | None:
        return self.files[0].parent if self.files else None

    @property
    def pages(self) -> tuple[Path, ...]:
        """The images to show one by one: pages, the image, or a video's keyframes."""
        return tuple(path for path in self.files if path.suffix == ".png")


def rendition_dir(store: EvidenceStore, item_id: str) -> Path:
    return store.root / "renditions" / item_id


def find_rendition(store: EvidenceStore, item_id: str) -> Rendition | None:
    """The stored rendition of an item, or None (also for anything that is not an item id)."""
    if not _ITEM_ID.match(item_id):
        return None
    directory = rendition_dir(store, item_id)
    if not (directory / RECORD_NAME).is_file():
        return None
    record = read_json(directory / RECORD_NAME)
    text = None
    if record.get("text_file"):
        text = (directory / TEXT_NAME).read_text(encoding="utf-8")
    return Rendition(
        item_id=str(record["item_id"]),
        kind=str(record["kind"]),
        files=tuple(directory / str(entry["name"]) for entry in record["files"]),
        text=text,
        tools={str(k): str(v) for k, v in record["tools"].items()},
        note=record.get("note"),
        made_at=str(record["made_at"]),
        refused=bool(record.get("refused")),
    )


def render_item(
    store: EvidenceStore,
    custody: CustodyLog,
    item_id: str,
    *,
    actor: str,
    limits: SandboxLimits | None = None,
    sandbox: Sandbox | None = None,
) -> Rendition:
    """Make (once) and return the rendition of one item; see the module docstring."""
    existing = find_rendition(store, item_id)
    if existing is not None:
        return existing
    if not _ITEM_ID.match(item_id) or not (store.original_dir(item_id) / "item.json").is_file():
        raise ItemNotFound(item_id)
    item = load_item(store.original_dir(item_id))
    limits = limits or SandboxLimits()
    sandbox = sandbox or Sandbox()
    with store.staging_dir("render") as staging:
        work = staging / "work"
        work.mkdir(mode=0o700)
        refused = False
        try:
            converted = convert_file(sandbox, item.content_path, work, limits,
                                     is_message=item.kind in ("message", "reply"))
        except ConversionRefused as exc:
            refused = True
            converted = Converted(KIND_NONE, tools=exc.tools, note=exc.reason,
                                  details={"refused": True})
        build = staging / "build"
        build.mkdir(mode=0o700)
        record = _build(build, item.item_id, item.sha256, converted, refused, actor,
                        _tool_versions(("bwrap", *converted.tools)))
        with _store_lock(store):
            final = rendition_dir(store, item.item_id)
            if not final.exists():
                final.parent.mkdir(mode=0o700, exist_ok=True)
                os.chmod(build, 0o500)
                os.rename(build, final)
                fsync_dir(final.parent)
                custody.append(actor, "render", item.item_id, item.sha256, {
                    "outcome": "refused" if refused else "rendered",
                    "kind": record["kind"],
                    "tools": record["tools"],
                    "outputs": {entry["name"]: entry["sha256"] for entry in record["files"]},
                    "reason": record["note"] if refused else None,
                })
    rendition = find_rendition(store, item.item_id)
    if rendition is None:  # pragma: no cover (renamed into place just above)
        raise ConversionRefused("the rendition vanished from the store while it was stored")
    return rendition


def _build(build: Path, item_id: str, item_sha256: str, converted: Converted, refused: bool,
           actor: str, tools: dict[str, str]) -> dict[str, Any]:
    """Copy the converter's files into `build` under their display names; write the record."""
    entries = []
    for name, source in _display_names(converted):
        digest, size = _copy_regular_file(source, build / name)
        media_type = MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
        entries.append({"name": name, "sha256": digest, "size": size, "media_type": media_type})
    if converted.text is not None:
        write_bytes_atomic(build / TEXT_NAME, converted.text.encode("utf-8"), mode=0o444)
    record: dict[str, Any] = {
        "format": RENDITION_FORMAT,
        "version": RENDITION_VERSION,
        "item_id": item_id,
        "item_sha256": item_sha256,
        "kind": converted.kind if converted.kind in KINDS else KIND_NONE,
        "files": entries,
        "text_file": TEXT_NAME if converted.text is not None else None,
        "tools": tools,
        "note": converted.note,
        "refused": refused,
        "details": converted.details,
        "made_at": utc_now(),
        "actor": actor,
    }
    write_json_atomic(build / RECORD_NAME, record, mode=0o444)
    return record


def _display_names(converted: Converted) -> list[tuple[str, Path]]:
    pngs = [path for path in converted.files if path.suffix == ".png"]
    others = [path for path in converted.files if path.suffix != ".png"]
    if converted.kind == KIND_PAGES:
        named = [(f"page-{n:04d}.png", path) for n, path in enumerate(pngs, start=1)]
    elif converted.kind == KIND_VIDEO:
        named = [(f"keyframe-{n:03d}.png", path) for n, path in enumerate(pngs, start=1)]
    elif converted.kind == KIND_IMAGE:
        named = [("image.png", path) for path in pngs[:1]]
    else:
        named = []
    suffixes = {KIND_VIDEO: "video.webm", KIND_AUDIO: "audio.ogg"}
    if converted.kind in suffixes:
        named += [(suffixes[converted.kind], path) for path in others[:1]]
    if converted.kind == KIND_TEXT:
        named = []
    return named


def _copy_regular_file(source: Path, target: Path) -> tuple[str, int]:
    """Copy a file a sandboxed tool wrote, refusing links; return its SHA-256 and size."""
    digest = hashlib.sha256()
    size = 0
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        with os.fdopen(fd, "rb", closefd=False) as reader, target.open("xb") as writer:
            while chunk := reader.read(1024 * 1024):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
            writer.flush()
            os.fsync(writer.fileno())
    finally:
        os.close(fd)
    os.chmod(target, 0o444)
    return digest.hexdigest(), size


def _tool_versions(tools: tuple[str, ...]) -> dict[str, str]:
    """Each tool's Debian package and version, as dpkg knows them ("unknown" if it does not)."""
    names = list(dict.fromkeys(tools))
    files = {name: TOOL_FILES[name] for name in names if name in TOOL_FILES}
    owners: dict[str, str] = {}
    versions: dict[str, str] = {}
    try:
        found = subprocess.run(["dpkg", "-S", *files.values()], capture_output=True, text=True,
                               timeout=30, check=False)
        for line in found.stdout.splitlines():
            package, _, path = line.partition(": ")
            if path and not package.startswith("diversion"):
                owners[path.strip()] = package.split(":")[0]
        if owners:
            listed = subprocess.run(
                ["dpkg-query", "-W", "-f", "${Package}\t${Version}\n",
                 *sorted(set(owners.values()))],
                capture_output=True, text=True, timeout=30, check=False,
            )
            for line in listed.stdout.splitlines():
                package, _, version = line.partition("\t")
                if version:
                    versions[package] = version
    except (OSError, subprocess.TimeoutExpired):
        pass
    described = {}
    for name in names:
        package = owners.get(files.get(name, ""), "")
        described[name] = f"{package} {versions[package]}" if package in versions else "unknown"
    return described


@contextlib.contextmanager
def _store_lock(store: EvidenceStore) -> Iterator[None]:
    """The store lock, waiting a little for a command that holds it briefly."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        lock = store.locked()
        try:
            lock.__enter__()
        except StoreLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        break
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def remove_rendition(store: EvidenceStore, item_id: str) -> None:
    """Remove an item's rendition (when the item itself is deleted)."""
    if _ITEM_ID.match(item_id):
        remove_tree(rendition_dir(store, item_id))
