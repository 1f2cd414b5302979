"""A minimal PDF writer for the sandboxes' documents (shipping labels): A4 pages of boxes of
text in Helvetica, with a correct cross-reference table, so any PDF reader opens them.

Text is written in PDF's standard Latin encoding; characters it lacks are reduced to their
ASCII base letter (`Pražská` -> `Prazska`) or `?`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

#: A4 in points.
PAGE_WIDTH, PAGE_HEIGHT = 595, 842
FONT_SIZE = 11
LINE_HEIGHT = 14


@dataclass(frozen=True, slots=True)
class Box:
    """A framed box of text lines on a page, its lower-left corner at (x, y), in points."""

    x: float
    y: float
    width: float
    height: float
    lines: Sequence[str]


def pdf_document(pages: Sequence[Sequence[Box]]) -> bytes:
    """A PDF of these pages (at least one; an empty page for none)."""
    pages = list(pages) or [[]]
    font_id = 3
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the page ids are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for boxes in pages:
        content = _content(boxes)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        content_id = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, content_id, font_id)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    return _assemble(objects)


def _assemble(objects: Sequence[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _content(boxes: Sequence[Box]) -> bytes:
    ops = [b"0.5 w"]
    for box in boxes:
        ops.append(b"%.1f %.1f %.1f %.1f re S" % (box.x, box.y, box.width, box.height))
        top = box.y + box.height - LINE_HEIGHT - 6
        for index, line in enumerate(box.lines):
            at = (box.x + 10, top - index * LINE_HEIGHT)
            ops.append(b"BT /F1 %d Tf %.1f %.1f Td (%s) Tj ET" % (FONT_SIZE, *at, _text(line)))
    return b"\n".join(ops)


def _text(line: str) -> bytes:
    """A PDF literal string's content: Latin-1 bytes with `\\`, `(` and `)` escaped."""
    plain = "".join(_latin(ch) for ch in line)
    raw = plain.encode("latin-1")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _latin(ch: str) -> str:
    if ord(ch) < 256 and (ch.isprintable() or ch == " "):
        return ch
    base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    return base if base.isprintable() and base else "?"
