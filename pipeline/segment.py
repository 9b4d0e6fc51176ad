"""Segment stage: documents -> segments (the units that get embedded and themed).

* Answers and quotes are split into sentences: one answer often carries several themes
  ("fått rutiner ... Fått hjälp med myndigheter"), and a sentence is the smallest unit that
  usually carries one. Sentences shorter than `min_sentence_chars` ("Tack!", "Rätt stöd <3")
  are merged into a neighbour; answers up to `keep_whole_chars` stay whole. Prevalence is
  counted per respondent later, so splitting does not inflate counts.
* Interviews and report sections are split into paragraphs (the writer's own units of
  meaning); a paragraph longer than `max_passage_chars` becomes runs of whole sentences.

Sentences come from spaCy's Swedish tokenizer + rule sentencizer (spacy.blank("sv")); it keeps
"t.ex." and "bl.a." whole. Offsets are character offsets into the document text. Segment ids
are stable (pipeline/stable_ids.py): the document's id and a hash of the segment's text.
"""
from __future__ import annotations

import re
from functools import cached_property

from . import stable_ids
from .store import Store

QUOTES = "\"”“„«»'’"
SHORT_KINDS = ("answer", "quote")


class Segmenter:
    def __init__(self, min_sentence_chars: int = 25, keep_whole_chars: int = 60,
                 max_passage_chars: int = 600):
        self.min_sentence_chars = min_sentence_chars
        self.keep_whole_chars = keep_whole_chars
        self.max_passage_chars = max_passage_chars

    @classmethod
    def from_config(cls, cfg: dict) -> "Segmenter":
        return cls(**cfg["segment"])

    @cached_property
    def nlp(self):
        spacy = _import_spacy()
        nlp = spacy.blank("sv")
        nlp.add_pipe("sentencizer")
        return nlp

    # -- spans --------------------------------------------------------------------------------
    def sentences(self, text: str, base: int = 0) -> list[tuple[int, int]]:
        spans = []
        for sent in self.nlp(text).sents:
            spans.append([sent.start_char, sent.end_char])
        # the sentencizer leaves an opening quote at the end of the previous sentence
        for k in range(len(spans) - 1):
            s, e = spans[k]
            chunk = text[s:e]
            if len(chunk) >= 2 and chunk[-1] in QUOTES and chunk[-2].isspace():
                spans[k][1] = e - 1
                spans[k + 1][0] = e - 1
        return [(base + s, base + e) for s, e in (_trim(text, s, e) for s, e in spans) if e > s]

    def _merge_short(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        out: list[list[int]] = []
        for s, e in spans:
            if out and (e - s < self.min_sentence_chars or out[-1][1] - out[-1][0] < self.min_sentence_chars):
                out[-1][1] = e
            else:
                out.append([s, e])
        return [tuple(x) for x in out]

    def _pack(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        out: list[list[int]] = []
        for s, e in spans:
            if out and e - out[-1][0] <= self.max_passage_chars:
                out[-1][1] = e
            else:
                out.append([s, e])
        return [tuple(x) for x in out]

    def split(self, kind: str, text: str) -> list[tuple[int, int]]:
        """(start, end) offsets of the segments of one document's text."""
        s, e = _trim(text, 0, len(text))
        if e <= s:
            return []
        if kind in SHORT_KINDS:
            if e - s <= self.keep_whole_chars:
                return [(s, e)]
            return self._merge_short(self.sentences(text[s:e], s))
        out = []
        for m in re.finditer(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*$)", text, flags=re.S):
            ps, pe = m.start(), m.end()
            if pe - ps <= self.max_passage_chars:
                out.append((ps, pe))
            else:
                out.extend(self._pack(self._merge_short(self.sentences(text[ps:pe], ps))))
        return out


def _import_spacy():
    """spaCy, without the torch import its thinc layer tries when torch is installed (2-3 s at
    every start; the tokenizer and the sentencizer never use it). Only while spaCy loads, only
    when nothing has imported torch yet and no other thread could be importing it meanwhile
    (the web page's jobs run in threads): whatever imports torch later gets it as usual."""
    import sys
    import threading
    if "spacy" in sys.modules or "torch" in sys.modules or threading.active_count() > 1:
        import spacy
        return spacy
    sys.modules["torch"] = None                 # `import torch` raises ImportError: thinc goes on without
    try:
        import spacy
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def run(store: Store, cfg: dict, document_ids: list[str] | None = None) -> int:
    """(Re)segment the given documents, or all. Returns the number of segments written."""
    segmenter = Segmenter.from_config(cfg)
    docs = store.documents()
    if document_ids is not None:
        wanted = set(document_ids)
        docs = [d for d in docs if d["id"] in wanted]
    rows = []
    for doc in docs:
        spans = segmenter.split(doc["kind"], doc["text"])
        ids = stable_ids.segment_ids(doc["id"], [doc["text"][s:e] for s, e in spans])
        for seq, (sid, (s, e)) in enumerate(zip(ids, spans), start=1):
            rows.append((sid, doc["id"], seq, doc["text"][s:e], s, e))
    store.replace_segments(rows, [d["id"] for d in docs])
    return len(rows)
