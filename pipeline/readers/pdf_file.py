"""PDF text layer with pypdf (pure Python, BSD-3; extracts å/ä/ö correctly here — pdfplumber
would add pdfminer + pypdfium2 for layout and tables, which free-text answers don't need).
Scanned PDFs without a text layer are reported, not silently skipped."""
from __future__ import annotations

import bisect
import io
import logging
from pathlib import Path

from ..documents import Document
from ..errors import InputError
from . import structure


def read(path: Path, data: bytes, cfg: dict) -> tuple[int, list[Document]]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InputError(path, "PDF-filen är lösenordsskyddad")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except InputError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise InputError(path, f"inte en läsbar PDF: filen är skadad eller av annat format ({type(exc).__name__})") from None
    starts, chunks, pos = [], [], 0
    for text in pages:
        text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        starts.append(pos)
        chunks.append(text)
        pos += len(text) + 2
    full = "\n\n".join(chunks)
    if not full.strip():
        raise InputError(path, "PDF-filen har inget textlager (inskannad bild?); kör OCR först")

    def locate(offset: int) -> str:
        return f"sida {bisect.bisect_right(starts, offset)}"

    return len(full), structure.parse(full, cfg, locate=locate)
