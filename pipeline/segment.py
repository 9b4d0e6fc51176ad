"""Segment stage: documents -> segments (the units that get embedded and themed).

* Answers and quotes are split into sentences: one answer often carries several themes
  ("fått rutiner ... Fått hjälp med myndigheter"), and a sentence is the smallest unit that
  usually carries one. Sentences shorter than `min_sentence_chars` ("Tack!", "Rätt stöd <3")
  are merged into a neighbour; answers up to `keep_whole_chars` stay whole. Prevalence is
  counted per respondent later, so splitting does not inflate counts.
* Interviews and report sections are split into paragraphs (the writer's own units of
  meaning); a paragraph longer than `max_passage_chars` becomes runs of whole sentences.
* Interviews only: a sentence cut by a page or column break of the source ("… resorna till" /
  blank line / "Hallstahammar för dem.") is joined again, and headings, org-chart labels and
  captions ("### Jobbcentrums organisation", "DELTAGARE", "Extern praktik") are no segments:
  a paragraph is a label when it starts with "#" or has at most `label_max_words` words and no
  sentence-final punctuation (bullets are kept).

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
SENTENCE_END = re.compile(r"[.!?…:;]['\"”’»)\]]*\s*$")
BULLET = re.compile(r"^\s*(?:[-*•–]|\d+[.)])\s+")
# a line that ends on one of these words cannot end a sentence: the next paragraph goes on with it
FUNCTION_WORDS = set("""till för av och som är om på i med att de det den en ett eller men från hos vid
    under över efter inför mot utan när där så var har hade blev blir kan ska skulle vill ville""".split())


class Segmenter:
    def __init__(self, min_sentence_chars: int = 25, keep_whole_chars: int = 60,
                 max_passage_chars: int = 600, label_max_words: int = 8):
        self.min_sentence_chars = min_sentence_chars
        self.keep_whole_chars = keep_whole_chars
        self.max_passage_chars = max_passage_chars
        self.label_max_words = label_max_words

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
        # the sentencizer leaves an opening quote, or the "[" of a placeholder ("[NAMN 3]"), at
        # the end of the previous sentence
        for k in range(len(spans) - 1):
            s, e = spans[k]
            chunk = text[s:e]
            if len(chunk) >= 2 and (chunk[-1] in QUOTES or chunk[-1] in "([") and chunk[-2].isspace():
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
        paragraphs = [(m.start(), m.end()) for m in
                      re.finditer(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*$)", text, flags=re.S)]
        if kind == "interview":
            paragraphs = self.whole_paragraphs(text, paragraphs)
        out = []
        for ps, pe in paragraphs:
            if pe - ps <= self.max_passage_chars:
                out.append((ps, pe))
            else:
                out.extend(self._pack(self._merge_short(self.sentences(text[ps:pe], ps))))
        return out


    # -- interviews: page breaks and labels ------------------------------------------------------
    def is_label(self, chunk: str) -> bool:
        """A heading, org-chart label, table cell or caption: not a passage."""
        chunk = chunk.strip()
        if chunk.startswith("#"):
            return True
        if BULLET.match(chunk) or SENTENCE_END.search(chunk):
            return False
        return len(chunk.split()) <= self.label_max_words

    def whole_paragraphs(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Paragraphs with sentences cut by a page/column break joined again, labels left out."""
        out: list[list[int]] = []
        open_end = False                 # the last kept paragraph stops mid-sentence
        for s, e in spans:
            chunk = text[s:e]
            if open_end and out and _continues(text[out[-1][0]:out[-1][1]], chunk):
                out[-1][1] = e
            elif self.is_label(chunk):
                continue
            else:
                out.append([s, e])
            last = text[out[-1][0]:out[-1][1]]
            open_end = not SENTENCE_END.search(last) and not BULLET.match(last) and not last.startswith("#")
        return [tuple(x) for x in out]


def _continues(before: str, after: str) -> bool:
    """Does `after` go on with the sentence `before` broke off?"""
    after = after.lstrip(" *_\"”“„«»'’")
    if not after or after.startswith("#") or BULLET.match(after):
        return False
    last = re.findall(r"[\wåäöÅÄÖ]+", before.lower())[-1:] or [""]
    return after[0].islower() or last[0] in FUNCTION_WORDS


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
