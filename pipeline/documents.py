"""The unit every reader produces and the store keeps: one document (an answer, a quote, an
interview, a report section) with where it came from."""
from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("answer", "quote", "interview", "section")
# Kinds that are the participants' (or interviewees') own words, themed by default.
VOICE_KINDS = ("answer", "quote", "interview")


@dataclass
class Document:
    kind: str
    text: str
    title: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    # Character offsets of `text` in the source's extracted text (source_text[src_start:src_end]
    # == text), when the source is running text; None for spreadsheet cells.
    src_start: int | None = None
    src_end: int | None = None
    # Human-readable position: "rad 12, kolumn 'Vad har varit bra?'", "rad 173" (line), ...
    locator: str = ""
    # Documents from one respondent share this key (one survey row = one respondent).
    respondent: str | None = None
    # What identifies this unit in its file apart from its text and position, when the file says
    # (a survey's respondent id + question); None: its heading and text do (see stable_ids).
    key: str | None = None
    # Person names seen in metadata (e.g. an interview heading). Handed to pseudonymisation as
    # a deny-list; never stored.
    names: list[str] = field(default_factory=list)
    # After pseudonymisation: [new_start, new_end, old_start, old_end] per replacement, so that
    # positions in the stored text map back to the source (see pseudonymise.source_offset).
    offset_map: list[list[int]] | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown document kind {self.kind!r}")
