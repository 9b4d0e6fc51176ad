"""Word documents (.docx) with python-docx. Heading styles (Heading N / Rubrik N) become
'#'-headings and list paragraphs become bullets; the result goes through structure.parse in
Markdown mode. Positions are given as paragraph numbers ("stycke N")."""
from __future__ import annotations

import bisect
import io
import re
import zipfile
from pathlib import Path

from ..documents import Document
from ..errors import InputError
from . import structure

HEADING_STYLE = re.compile(r"^(?:heading|rubrik)\s*(\d)$", re.I)


def read(path: Path, data: bytes, cfg: dict) -> tuple[int, list[Document]]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(path, f"inte en läsbar Word-fil (.docx): filen är skadad eller av annat format ({type(exc).__name__})") from None
    except Exception as exc:  # lxml errors inside a damaged package
        raise InputError(path, f"Word-filen går inte att läsa ({type(exc).__name__})") from None

    parts: list[str] = []
    starts: list[int] = []
    numbers: list[int] = []
    pos = 0
    has_heading = False
    for number, para in enumerate(document.paragraphs, start=1):
        text = para.text.replace("\r", "").strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        m = HEADING_STYLE.match(style)
        if m or style.lower() in ("title", "rubrik"):
            text = "#" * (int(m.group(1)) if m else 1) + " " + text.replace("\n", " ")
            has_heading = True
        elif "list" in style.lower() or "lista" in style.lower():
            text = "- " + text
        starts.append(pos)
        numbers.append(number)
        parts.append(text)
        pos += len(text) + 2
    full = "\n\n".join(parts)
    if not full.strip():
        raise InputError(path, "Word-filen innehåller ingen text")

    def locate(offset: int) -> str:
        return f"stycke {numbers[max(0, bisect.bisect_right(starts, offset) - 1)]}"

    return len(full), structure.parse(full, cfg, markdown=has_heading, locate=locate)
