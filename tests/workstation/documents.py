"""Small documents and media built by the tests themselves: benign ones of every kind the
converters handle, and hostile ones (bombs, loops, links to the network and to other files)."""

from __future__ import annotations

import io
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

from tests.workstation.media import _png_chunk

# PDF ------------------------------------------------------------------------------------------


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF whose object n (1-based) is objects[n-1]; object 1 must be the catalogue."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def pdf_with_pages(count: int) -> bytes:
    """A PDF of `count` A4 pages, each saying its number in Helvetica."""
    # 1 catalogue, 2 page tree, 3 font, then a page and its content per page.
    kids = b" ".join(b"%d 0 R" % (4 + 2 * n) for n in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for n in range(count):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
                       b" /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * n))
        objects.append(_stream(b"BT /F1 36 Tf 72 700 Td (Page %d) Tj ET" % (n + 1)))
    return _pdf(objects)


def pdf_of_a_million_pages() -> bytes:
    """About 1 kB: a page tree six levels deep, each node naming the level below ten times."""
    levels = 6
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(levels):
        child = 3 + level
        count = 10 ** (levels - level)
        if level == levels - 1:
            kids = b" ".join([b"%d 0 R" % (2 + levels)] * 10)
        else:
            kids = b" ".join([b"%d 0 R" % child] * 10)
        objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count))
    objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 200 200] >>" % (1 + levels))
    return _pdf(objects)


def pdf_of_nested_forms(depth: int = 40) -> bytes:
    """One page drawing form 0, which draws form 1 twice, which draws form 2 twice...: 2^depth
    draws of nothing visible (pure CPU), in a few kB."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200]"
        b" /Resources << /XObject << /X 5 0 R >> >> /Contents 4 0 R >>",
        _stream(b"/X Do"),
    ]
    for level in range(depth):
        number = 5 + level
        if level == depth - 1:
            objects.append(_stream(b"0 0 1 1 re f", b"/Type /XObject /Subtype /Form"
                                                    b" /BBox [0 0 200 200]"))
        else:
            objects.append(_stream(
                b"q /X Do Q q /X Do Q",
                b"/Type /XObject /Subtype /Form /BBox [0 0 200 200]"
                b" /Resources << /XObject << /X %d 0 R >> >>" % (number + 1),
            ))
    return _pdf(objects)


# Office documents (ZIP-based), RTF -------------------------------------------------------------


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data, method)
    return out.getvalue()


_ODF_OFFICE = (b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
               b' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
               b' xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
               b' xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"'
               b' xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.2"')


def odt(body: bytes = b"<text:p>Hello from an ODT.</text:p>") -> bytes:
    content = (b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content '
               + _ODF_OFFICE + b"><office:body><office:text>" + body
               + b"</office:text></office:body></office:document-content>")
    manifest = (b'<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
                b'"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                b'<manifest:file-entry manifest:full-path="/" manifest:media-type='
                b'"application/vnd.oasis.opendocument.text"/>'
                b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type='
                b'"text/xml"/></manifest:manifest>')
    return _zip([("mimetype", b"application/vnd.oasis.opendocument.text"),
                 ("META-INF/manifest.xml", manifest), ("content.xml", content)])


def odt_linking_out(port: int, local_file: Path) -> bytes:
    """An ODT whose images are linked, not embedded: one on 127.0.0.1:`port`, one file://."""
    frame = (b'<text:p>Linked:<draw:frame draw:name="%s" svg:width="4cm" svg:height="4cm">'
             b'<draw:image xlink:href="%s" xlink:type="simple" xlink:show="embed"'
             b' xlink:actuate="onLoad"/></draw:frame></text:p>')
    return odt(frame % (b"net", b"http://127.0.0.1:%d/pixel.png" % port)
               + frame % (b"local", local_file.as_uri().encode()))


def docx(text: str = "Hello from a DOCX.", external_image: str | None = None) -> bytes:
    """A minimal DOCX; with `external_image`, a picture linked (TargetMode External) to it."""
    ns = (b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
          b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
    picture = b""
    relationships = b""
    if external_image is not None:
        relationships = (b'<Relationship Id="rIdImg" Type="http://schemas.openxmlformats.org/'
                         b'officeDocument/2006/relationships/image" Target="%s"'
                         b' TargetMode="External"/>' % external_image.encode())
        picture = (b'<w:p><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"'
                   b' style="width:100pt;height:100pt"><v:imagedata r:id="rIdImg"/>'
                   b"</v:shape></w:pict></w:r></w:p>")
    document = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document '
                + ns + b"><w:body><w:p><w:r><w:t>" + text.encode() + b"</w:t></w:r></w:p>"
                + picture + b"</w:body></w:document>")
    types = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.'
             b'openxmlformats.org/package/2006/content-types"><Default Extension="rels"'
             b' ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             b'<Default Extension="xml" ContentType="application/xml"/><Override PartName='
             b'"/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
             b'wordprocessingml.document.main+xml"/></Types>')
    rels = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            b'"http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'officeDocument" Target="word/document.xml"/></Relationships>')
    document_rels = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://'
                     b'schemas.openxmlformats.org/package/2006/relationships">' + relationships
                     + b"</Relationships>")
    return _zip([("[Content_Types].xml", types), ("_rels/.rels", rels),
                 ("word/document.xml", document),
                 ("word/_rels/document.xml.rels", document_rels)])


def xlsx(value: str = "Hello from an XLSX") -> bytes:
    main = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    types = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.'
             b'openxmlformats.org/package/2006/content-types"><Default Extension="rels"'
             b' ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             b'<Default Extension="xml" ContentType="application/xml"/>'
             b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
             b'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
             b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
             b'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
    rels = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            b'"http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'officeDocument" Target="xl/workbook.xml"/></Relationships>')
    workbook = (b'<?xml version="1.0" encoding="UTF-8"?>\n<workbook ' + main + b" " + rel_ns
                + b'><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    workbook_rels = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://'
                     b'schemas.openxmlformats.org/package/2006/relationships"><Relationship'
                     b' Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                     b'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet ' + main
             + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>' + value.encode()
             + b'</t></is></c><c r="B1"><v>42</v></c></row></sheetData></worksheet>')
    return _zip([("[Content_Types].xml", types), ("_rels/.rels", rels),
                 ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", workbook_rels),
                 ("xl/worksheets/sheet1.xml", sheet)])


def rtf(text: str = "Hello from an RTF.") -> bytes:
    return b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}}\\f0\\fs28 " + text.encode() + b"\\par}"


# Images ---------------------------------------------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height RGB pixels (a pixel bomb's first line)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + _png_chunk(b"IEND", b""))


def png_decompression_bomb(side: int) -> bytes:
    """A real side × side greyscale PNG of zeros: a few hundred kB that decode to side² bytes."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body)
            + _png_chunk(b"IEND", b""))


def gif_of_frames(frames: int, side: int = 64) -> bytes:
    """An animated GIF of `frames` frames, each a single pixel (LZW: clear, index, end)."""
    out = io.BytesIO()
    out.write(b"GIF89a" + struct.pack("<HHBBB", side, side, 0x80, 0, 0))
    out.write(b"\x00\x00\x00\xff\xff\xff")  # a two-colour global table
    out.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")
    for n in range(frames):
        out.write(b"\x21\xf9\x04\x00\x01\x00\x00\x00")  # graphic control: 1/100 s
        x, y = n % side, (n // side) % side
        out.write(b"\x2c" + struct.pack("<HHHHB", x, y, 1, 1, 0))
        # Minimum code size 2: clear (4), colour 1, end (5), packed LSB-first in 3-bit codes.
        out.write(b"\x02\x02\x4c\x01\x00")
    out.write(b"\x3b")
    return out.getvalue()


def encode_with_ffmpeg(tmp: Path, name: str, *args: str) -> bytes:
    """Make a media or image file with ffmpeg (outside any sandbox: the input is ours)."""
    target = tmp / name
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args, str(target)], check=True,
                   timeout=120)
    return target.read_bytes()


def pattern_image(tmp: Path, name: str, width: int = 320, height: int = 240) -> bytes:
    return encode_with_ffmpeg(tmp, name, "-f", "lavfi", "-i",
                              f"testsrc=size={width}x{height}", "-frames:v", "1")


def hls_playlist(segment: Path) -> bytes:
    """An HLS playlist naming another local file as its only segment."""
    return (b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n"
            + str(segment).encode() + b"\n#EXT-X-ENDLIST\n")


def encode_heic(source: Path, target: Path) -> bytes:
    """A HEIC made from `source` by libheif's encoder (Debian's libheif-examples)."""
    subprocess.run(["heif-enc", "-o", str(target), str(source)], check=True,
                   capture_output=True, timeout=120)
    return target.read_bytes()
