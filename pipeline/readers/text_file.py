"""Plain text and Markdown (.txt, .md): decode, then structure.parse."""
from __future__ import annotations

import codecs
from pathlib import Path

from ..documents import Document
from ..errors import InputError
from . import structure


def decode(path: Path, data: bytes, encodings: list[str]) -> str:
    """Text of a file in the first encoding that fits (UTF-8, then Windows-1252 as Excel and
    Notepad write it). Newlines are normalised to \\n; offsets refer to the result."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    else:
        if b"\x00" in data:
            raise InputError(path, "filen innehåller binära data och är ingen textfil")
        for enc in encodings:
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InputError(path, f"okänd teckenkodning (provade {', '.join(encodings)}); spara filen som UTF-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(path, "filen är tom")
    return text


def read(path: Path, data: bytes, cfg: dict) -> tuple[int, list[Document]]:
    text = decode(path, data, cfg["encodings"])
    return len(text), structure.parse(text, cfg)
