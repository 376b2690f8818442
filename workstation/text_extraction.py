"""The searchable text of one item, every untrusted parser run in the sandbox.

Flow of `extract_item`:

1. From the store's own records (JSON we wrote at import): the original file name and the
   intake answers of every submission that brought the item.
2. From the content, chosen by what its first bytes are (`converters.sniff_type`, which reads
   bytes and parses nothing):
   - messages and text files: decoded here like a text rendition (no parser runs on them);
   - PDF: `pdftotext` in the sandbox prints the text layer of at most `max_pages` pages; a PDF
     with (almost) no text layer is a scan, so its pages are rendered (the stored rendition if
     there is one, else `converters.convert_pdf` in the sandbox) and OCRed;
   - office documents: LibreOffice in the sandbox makes a PDF, which goes through `pdftotext` in
     a second sandbox;
   - images: Pillow in the sandbox re-encodes the image as PNG (`converters.convert_image`) and
     that PNG is OCRed;
   - OCR is `tesseract -l bel+rus+eng` in the sandbox, on PNGs the sandbox produced, never on an
     original, in one thread (`OCR_ENVIRONMENT`).
   Anything else (video, audio, unknown types) gives only its name and intake answers.
3. A tool that is stopped by a limit or fails is not an error: its `ConversionRefused` reason
   becomes a problem ("text layer: pdftotext ran out of time...") and whatever else was found is
   still returned, so the item is indexed by name and intake answers at least.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.catalogue import Item
from workstation.converters import (
    OFFICE_EXTENSIONS,
    SNIFF_BYTES,
    Converter,
    clean_text,
    convert_image,
    convert_pdf,
    convert_text,
    sniff_type,
)
from workstation.errors import ConversionRefused
from workstation.rendition import find_rendition
from workstation.sandbox import INPUT_DIR, OUTPUT_DIR, Sandbox, SandboxLimits
from workstation.store import EvidenceStore

FIELD_NAME = "name"
FIELD_INTAKE = "intake"
FIELD_MESSAGE = "message"
FIELD_TEXT = "text"
FIELD_OCR = "ocr"
OCR_LANGUAGES = "bel+rus+eng"
# tesseract's OpenMP threads spin while they wait for each other: on a busy machine one page
# took 3 times the wall time and twice the CPU time it takes in one thread (measured by
# bench_search). Pages are OCRed one after another anyway.
OCR_ENVIRONMENT = {"OMP_THREAD_LIMIT": "1"}
# Fewer visible characters than this per page means a scan without a usable text layer.
SCAN_CHARS_PER_PAGE = 20
OFFICE_PATHS = ("/etc/fonts", "/etc/alternatives", "/etc/libreoffice")
IMAGE_KINDS = ("jpeg", "png", "webp", "tiff", "gif")


@dataclass
class Extracted:
    """What was found: (field, text) pairs, and why parts of the item could not be read."""

    entries: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, field_name: str, text: str | None) -> None:
        if text and text.strip():
            self.entries.append((field_name, text))


def extract_item(store: EvidenceStore, item: Item, sandbox: Sandbox,
                 limits: SandboxLimits) -> Extracted:
    """Everything searchable about `item`; see the module docstring."""
    found = Extracted()
    found.add(FIELD_NAME, item.original_name)
    for submission in item.submissions:
        found.add(FIELD_INTAKE, intake_text(submission.intake))
    with item.content_path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    kind = "text" if item.kind == "message" else sniff_type(head, item.content_path)
    with tempfile.TemporaryDirectory(prefix="index-", dir=store.tmp_dir) as work:
        converter = Converter(sandbox, limits, Path(work))
        try:
            _extract_content(store, item, kind, converter, found)
        except ConversionRefused as exc:
            found.problems.append(exc.reason)
    return found


def _extract_content(store: EvidenceStore, item: Item, kind: str, converter: Converter,
                     found: Extracted) -> None:
    source = item.content_path
    if kind == "text":
        text = convert_text(source, converter.limits).text
        found.add(FIELD_MESSAGE if item.kind == "message" else FIELD_TEXT, text)
    elif kind == "pdf":
        text, pages = pdf_text(converter, source)
        found.add(FIELD_TEXT, text)
        if len("".join(text.split())) < SCAN_CHARS_PER_PAGE * max(pages, 1):
            found.add(FIELD_OCR, ocr_pages(converter, _page_images(store, item, converter)))
    elif kind in OFFICE_EXTENSIONS:
        found.add(FIELD_TEXT, office_text(converter, source, OFFICE_EXTENSIONS[kind]))
    elif kind in (*IMAGE_KINDS, "heif"):
        found.add(FIELD_OCR, ocr_pages(converter, _page_images(store, item, converter, kind)))


def intake_text(intake: Any) -> str:
    """Every string in the intake answers (free text and chosen codes), one per line."""
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for key, inner in value.items():
                if key not in ("format", "version"):
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(intake)
    return "\n".join(strings)


def pdf_text(converter: Converter, source: Path) -> tuple[str, int]:
    """The text layer of the first `max_pages` pages, and how many pages that text covers."""
    name = "document.pdf"
    pages = converter.limits.max_pages
    result = converter.run(
        ["/usr/bin/pdftotext", "-q", "-enc", "UTF-8", "-l", str(pages), f"{INPUT_DIR}/{name}",
         "-"],
        source, name, extra_paths=(),
    )
    text = clean_text(result.stdout[: converter.limits.max_text_bytes])
    # pdftotext ends every page with a form feed (removed by clean_text, counted first).
    return text, max(1, result.stdout.count(b"\f"))


def office_text(converter: Converter, source: Path, extension: str) -> str:
    name = f"document.{extension}"
    result = converter.run(
        ["/usr/bin/soffice", "--headless", "--norestore", "--nolockcheck", "--nodefault",
         "--nologo", "-env:UserInstallation=file:///tmp/profile", "--convert-to", "pdf",
         "--outdir", OUTPUT_DIR, f"{INPUT_DIR}/{name}"],
        source, name, extra_paths=OFFICE_PATHS,
    )
    pdfs = [path for path in result.files if path.name == "document.pdf"]
    if not pdfs:
        raise ConversionRefused("LibreOffice could not read the document (it made no PDF)")
    # LibreOffice's PDF is no more trusted than its input: read in a second sandbox.
    return pdf_text(converter, pdfs[0])[0]


def _page_images(store: EvidenceStore, item: Item, converter: Converter,
                 image_kind: str | None = None) -> tuple[Path, ...]:
    """PNGs made by the sandbox: the stored rendition's, or made now and not kept."""
    rendition = find_rendition(store, item.item_id)
    if rendition is not None and not rendition.refused and rendition.pages:
        return rendition.pages
    if image_kind is None:
        return convert_pdf(converter, item.content_path).files
    return convert_image(converter, item.content_path, image_kind).files


def ocr_pages(converter: Converter, pages: Iterable[Path]) -> str:
    """OCR every page image in the sandbox; the text of all pages, in order."""
    texts = []
    for page in sorted(pages)[: converter.limits.max_pages]:
        name = "page.png"
        result = converter.run(
            ["/usr/bin/tesseract", f"{INPUT_DIR}/{name}", "stdout", "-l", OCR_LANGUAGES],
            page, name, extra_paths=(), environment=OCR_ENVIRONMENT,
        )
        texts.append(clean_text(result.stdout[: converter.limits.max_text_bytes]))
    return "\n".join(texts)
