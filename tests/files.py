"""Real input files written by the tests: PDF (text layer), xlsx, csv, docx."""
from __future__ import annotations

import re
from pathlib import Path

PLACEHOLDER = re.compile(r"\[[A-ZÅÄÖ-]+ \d+\](s?)")


def same_but_placeholders(stored: str, original: str) -> bool:
    """True when `stored` is `original` with some spans replaced by placeholders."""
    parts, pos = [], 0
    for m in PLACEHOLDER.finditer(stored):
        parts.append(re.escape(stored[pos:m.start()]))
        parts.append(r"\S.*?" + re.escape(m.group(1)))
        pos = m.end()
    parts.append(re.escape(stored[pos:]))
    return re.fullmatch("".join(parts), original, flags=re.S) is not None


def _pdf_string(line: str) -> bytes:
    raw = line.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def make_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with a real text layer (Helvetica, WinAnsiEncoding), one list of lines per page."""
    objects: list[bytes] = []
    n_pages = len(pages)
    font_id = 3 + 2 * n_pages
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, lines in enumerate(pages):
        content_id = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 {font_id} 0 R >> >>"
            f" /Contents {content_id} 0 R >>".encode())
        body = b"BT /F1 11 Tf 14 TL 50 800 Td " + b" ".join(_pdf_string(l) + b" Tj T*" for l in lines) + b" ET"
        objects.append(b"<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def make_docx(path: Path, blocks: list[tuple[str, str]]) -> Path:
    """blocks: ("h1".."h3" | "p" | "li", text)."""
    import docx
    document = docx.Document()
    for kind, text in blocks:
        if kind.startswith("h"):
            document.add_heading(text, level=int(kind[1:]))
        elif kind == "li":
            document.add_paragraph(text, style="List Bullet")
        else:
            document.add_paragraph(text)
    document.save(path)
    return path


def line_of(path: Path, needle: str) -> str:
    """The locator ("rad N") of the first line of `path` that contains `needle`: tests name a
    heading by its words, not by a line number that changes when the file does."""
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return f"rad {n}"
    raise AssertionError(f"{needle!r} not in {path}")


# A codebook as a person writes one: ids of several shapes, a theme without a description (for
# the QDA exchange tests, tests/test_qdpx.py and tests/test_qda_tools.py)
CODEBOOK = {
    "themes": [
        {"id": "egenmakt", "label": "Egenmakt och kontroll",
         "description": "Att själv ha inflytande över sin situation.",
         "examples": ["Jag fick vara med och bestämma", "Planen bygger på det jag vill"], "source": "codebook"},
        {"id": "K07", "label": "Väntan", "description": "Köer och väntetider innan stödet börjar.",
         "examples": ["Köer och väntetider innan stödet börjar."], "source": "codebook"},
        {"id": "x-3", "label": "Tacksamhet", "examples": ["Tacksamhet"], "source": "codebook"},
    ],
    "moves": {}, "exclude_segments": [],
}
