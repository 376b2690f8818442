"""Renditions: a 20-page PDF and a 12-megapixel JPEG through the sandboxed converters, and the
sandbox's own cost against the same tools run directly.

- `convert_file` of a 20-page text PDF (pdfinfo, then pdftoppm of every page at 1600 px, two
  page ranges at once), target < 10 s; the CPU seconds the same work takes are printed too,
  since wall time on a shared machine depends on everyone else;
- `convert_file` of a 4000 × 3000 JPEG (Pillow decodes and re-encodes it as PNG), target < 2 s;
- the same pdfinfo + pdftoppm and the same Pillow script run without bubblewrap, in the same
  run: sandboxed time over direct time is the sandbox's overhead (target < 15 %, i.e. ≤ 1.15).

Each figure is the median of a few runs. The files are made here (the PDF by hand, the JPEG by
ffmpeg's test pattern).

    python -m bench rendition
"""

from __future__ import annotations

import io
import resource
import subprocess
import tempfile
from pathlib import Path
from typing import Protocol

from bench.timing import median_ms
from workstation.converters import PILLOW_SCRIPT, convert_file, pdftoppm_script
from workstation.sandbox import INPUT_DIR, OUTPUT_DIR, Sandbox, SandboxLimits

PAGES = 20
REPEAT = 3


class Reporter(Protocol):
    def measure(self, name: str, value: float, unit: str, *, at_most: float | None = None,
                at_least: float | None = None) -> float: ...


def _text_pdf(pages: int) -> bytes:
    """A PDF of `pages` A4 pages of 40 lines of Helvetica each, like a typed statement."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = b" ".join(b"%d 0 R" % (4 + 2 * n) for n in range(pages))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for n in range(pages):
        lines = b"".join(
            b"(Page %d, line %d: the quick brown fox jumps over the lazy dog.) Tj T* "
            % (n + 1, line) for line in range(40))
        content = b"BT /F1 11 Tf 14 TL 56 780 Td " + lines + b"ET"
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
                       b" /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
                       % (5 + 2 * n))
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content
                       + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def _convert(source: Path, work_root: Path) -> None:
    work = Path(tempfile.mkdtemp(dir=work_root))
    convert_file(Sandbox(), source, work, SandboxLimits())


def _direct_pdf(source: Path, work_root: Path) -> None:
    """The same pdfinfo and the same pdftoppm script, with real paths instead of the sandbox's."""
    out = Path(tempfile.mkdtemp(dir=work_root))
    subprocess.run(["pdfinfo", str(source)], check=True, capture_output=True)
    script = pdftoppm_script(PAGES, SandboxLimits().render_processes)
    script = script.replace(f"{INPUT_DIR}/document.pdf", str(source))
    script = script.replace(f"{OUTPUT_DIR}/page", str(out / "page"))
    subprocess.run(["/bin/sh", "-c", script], check=True, capture_output=True)


def _direct_image(source: Path, work_root: Path) -> None:
    out = Path(tempfile.mkdtemp(dir=work_root))
    subprocess.run(["/usr/bin/python3", "-I", "-c", PILLOW_SCRIPT, str(source), "JPEG",
                    str(SandboxLimits().max_pixels), str(out / "image.png")],
                   check=True, capture_output=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(report: Reporter) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-rendition-") as temp:
        root = Path(temp)
        pdf = root / "statement.pdf"
        pdf.write_bytes(_text_pdf(PAGES))
        jpeg = root / "photo.jpg"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                        "testsrc2=size=4000x3000", "-frames:v", "1", "-q:v", "3", str(jpeg)],
                       check=True)
        sandboxed_pdf = median_ms(lambda: _convert(pdf, root), REPEAT) / 1000
        cpu_before = _children_cpu()
        direct_pdf = median_ms(lambda: _direct_pdf(pdf, root), REPEAT) / 1000
        direct_pdf_cpu = (_children_cpu() - cpu_before) / REPEAT
        sandboxed_jpeg = median_ms(lambda: _convert(jpeg, root), REPEAT) / 1000
        direct_jpeg = median_ms(lambda: _direct_image(jpeg, root), REPEAT) / 1000
    report.measure(f"{PAGES}-page PDF rendered in the sandbox", sandboxed_pdf, "s", at_most=10)
    report.measure("12-megapixel JPEG rendered in the sandbox", sandboxed_jpeg, "s", at_most=2)
    report.measure("PDF: sandboxed / direct time", sandboxed_pdf / direct_pdf, "x",
                   at_most=1.15)
    report.measure("JPEG: sandboxed / direct time", sandboxed_jpeg / direct_jpeg, "x",
                   at_most=1.15)
    report.measure(f"{PAGES}-page PDF rendered directly (baseline)", direct_pdf, "s")
    # CPU seconds do not depend on how many others share the machine; wall time does.
    report.measure(f"{PAGES}-page PDF: CPU time of the converters", direct_pdf_cpu, "s")
    report.measure("12-megapixel JPEG rendered directly (baseline)", direct_jpeg, "s")
