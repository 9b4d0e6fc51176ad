"""Stable ids for documents and segments: the same answer keeps its id when its file is read
again, so that codebook pins and moves survive a new export of the same survey.

* A document's id is a short hash of its source file's name and its *identity* in that file:
  the respondent id and question when the survey has an id column; otherwise (and for quotes)
  the question or heading, the attributes and the (pseudonymised) text; for interviews and
  report sections the (pseudonymised) heading. Rows added, removed or reordered leave the ids
  of the others as they were; an answer whose text changed gets a new id (or, with an id
  column, keeps its document id and gets a new segment id).
* A segment's id is its document's id, a dot and a short hash of the segment's text:
  "3f9a1c2e7b.a41b2c". Editing one paragraph of an interview changes that paragraph's id only.
* True duplicates (the same answer twice in a file, the same sentence twice in a document)
  are numbered in the order they come: "-2", "-3".

Only pseudonymised text is hashed (never the original, whose hash would let someone check a
guessed name against the placeholder), and the ids hold nothing but hex digits, dots and
dashes: safe to show in reports and logs.
"""
from __future__ import annotations

import hashlib
import re

from .documents import Document

DOCUMENT_HEX = 10
SEGMENT_HEX = 6
# Ids made before stable ids: "<first 8 hex of the file hash>.<n>" and "<that>.<n>".
LEGACY_DOCUMENT = re.compile(r"^[0-9a-f]{8}\.\d+$")
# Kinds whose identity includes their text (short units without a heading of their own).
TEXT_IDENTITY = ("answer", "quote")
SEP = "\x1f"


def _hash(value: str, n: int) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:n]


def identity(doc: Document) -> str:
    """What identifies `doc` in its file, whatever its position (after pseudonymisation)."""
    parts = [doc.kind, doc.title or ""]
    if doc.key:
        parts.append(doc.key)
    elif doc.kind in TEXT_IDENTITY:
        parts += [f"{k}={v}" for k, v in sorted(doc.attributes.items()) if k != "question"]
        parts.append(doc.text or "")
    return SEP.join(parts)


def _numbered(bases: list[str], taken: set[str]) -> list[str]:
    out = []
    seen: dict[str, int] = {}
    for base in bases:
        n = seen.get(base, 0)
        candidate = base if n == 0 else f"{base}-{n + 1}"
        while candidate in taken:          # only for a collision with another file's ids
            n += 1
            candidate = f"{base}-{n + 1}"
        seen[base] = n + 1
        taken.add(candidate)
        out.append(candidate)
    return out


def document_ids(source_name: str, docs: list[Document], taken: set[str] = frozenset()) -> list[str]:
    """Ids for the documents of one source file, in order; `taken`: ids of other files."""
    bases = [_hash(source_name + SEP + identity(d), DOCUMENT_HEX) for d in docs]
    return _numbered(bases, set(taken))


def segment_ids(document_id: str, texts: list[str]) -> list[str]:
    """Ids for the segments of one document, in order."""
    return _numbered([f"{document_id}.{_hash(t, SEGMENT_HEX)}" for t in texts], set())


def document_of(segment_id: str) -> str:
    return segment_id.rsplit(".", 1)[0]


def is_legacy_document(document_id: str) -> bool:
    return bool(LEGACY_DOCUMENT.match(document_id))
