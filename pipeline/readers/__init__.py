"""Readers: one per kind of source file. Each turns a file into (extracted text length,
documents) or raises InputError naming the file and the problem."""
from __future__ import annotations

from pathlib import Path

from ..documents import Document
from ..errors import InputError
from . import docx_file, pdf_file, survey, text_file

READERS = {
    ".txt": text_file.read,
    ".md": text_file.read,
    ".docx": docx_file.read,
    ".pdf": pdf_file.read,
    ".xlsx": survey.read,
    ".csv": survey.read,
}


def read(path: Path, data: bytes, cfg: dict) -> tuple[str, int | None, list[Document]]:
    """(reader name, characters of extracted text, documents) for one file's bytes."""
    suffix = path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        raise InputError(path, f"okänd filtyp '{suffix}' (kan läsa {', '.join(sorted(READERS))})")
    if not data.strip():
        raise InputError(path, "filen är tom")
    n_chars, docs = reader(path, data, cfg)
    if not docs:
        raise InputError(path, "ingen text att analysera hittades i filen")
    return suffix.lstrip("."), n_chars, docs
