"""A tiny PDF writer for the demo's calls for projects (text only, A4, Helvetica).

The demo needs a few real PDF files so the collect stage's PDF path (pypdf)
runs end to end; writing them here keeps the demo free of binary fixtures and
of a PDF-generation dependency. French accents use WinAnsiEncoding (cp1252).
"""

from __future__ import annotations

import textwrap

_PAGE_W, _PAGE_H = 595, 842
_MARGIN, _LEADING = 56, 14
_LINES_PER_PAGE = (_PAGE_H - 2 * _MARGIN) // _LEADING


def _escape(line: str) -> bytes:
    raw = line.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _lines(title: str, paragraphs: list[str] | tuple[str, ...]) -> list[tuple[str, int]]:
    lines: list[tuple[str, int]] = [(part, 14) for part in textwrap.wrap(title, 60)]
    lines.append(("", 10))
    for paragraph in paragraphs:
        lines.extend((part, 10) for part in textwrap.wrap(paragraph, 95))
        lines.append(("", 10))
    return lines


def make_pdf(title: str, paragraphs: list[str] | tuple[str, ...], *, date: str = "") -> bytes:
    """A valid, deterministic PDF showing the title and the paragraphs."""
    lines = _lines(title, paragraphs)
    pages = [lines[i : i + _LINES_PER_PAGE] for i in range(0, len(lines), _LINES_PER_PAGE)]
    objects: list[bytes] = []  # object n is objects[n - 1]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(b"")  # pages tree, filled in below
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    page_ids = []
    for page in pages:
        ops = [b"BT", f"/F1 10 Tf {_LEADING} TL {_MARGIN} {_PAGE_H - _MARGIN} Td".encode()]
        for text, size in page:
            ops.append(f"/F1 {size} Tf".encode())
            ops.append(b"(" + _escape(text) + b") Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_id = len(objects)
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_W} {_PAGE_H}] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode()
        )
        page_ids.append(len(objects))
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects[1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
    # Document strings are PDFDocEncoding, not WinAnsi: write the title as UTF-16.
    title_hex = ("feff" + title.encode("utf-16-be").hex()).encode()
    info = b"<< /Title <" + title_hex + b"> /Producer (watcher demo)"
    if date:
        info += f" /CreationDate (D:{date})".encode()
    objects.append(info + b" >>")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, len(objects))
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
