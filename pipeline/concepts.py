"""Concepts: what a theme is about, in words a person would write.

The lexicon (pipeline/data/begrepp.yaml, or your own file set in `[concepts] lexicon`) lists
concepts participants of rehabilitation, labour-market and health support talk about — praise,
wishes and critique — each with a label, a description, a third-person narrative phrase and
example phrasings.

`ConceptTagger` embeds each concept's label, description and examples into a prototype
(centred like the segments, see cluster.centre) and tags every segment with the concept it is
closest to, when that closeness stands out from the segment's similarity to the other concepts
(a z-score: e5 cosines are compressed, absolute thresholds mean little). A theme is named by the
concept most of its respondents are tagged with, when enough of them are (`min_share`);
otherwise it is a *new* theme, named by its most central short clause. Thresholds calibrated in
tests/benchmarks/bench_meaning.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import StudyError
from .vectors import unit_rows

KINDS = ("praise", "outcome", "wish", "critique", "nothing")


@dataclass
class Concept:
    id: str
    label: str
    kind: str
    description: str
    narrative: str
    examples: list[str] = field(default_factory=list)
    cues: list[str] = field(default_factory=list)

    def phrases(self) -> list[str]:
        return [self.label, self.description, *self.examples]


def load(path: str | Path | None = None) -> list[Concept]:
    """The packaged lexicon, or the YAML file at `path` (same layout)."""
    return _load(path)[0]


def families(path: str | Path | None = None) -> dict[str, list[str]]:
    """Family name -> concept ids: how the drafter groups praise into paragraphs."""
    return _load(path)[1]


def _load(path) -> tuple[list[Concept], dict[str, list[str]]]:
    import yaml
    if path:
        where = Path(path)
        try:
            text = where.read_text(encoding="utf-8")
        except OSError as exc:
            raise StudyError(f"{where}: begreppslexikonet går inte att läsa ({exc.strerror})") from None
    else:
        where = Path("pipeline/data/begrepp.yaml")
        text = resources.files("pipeline").joinpath("data", "begrepp.yaml").read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise StudyError(f"{where}: begreppslexikonet är inte giltig YAML") from None
    out, seen = [], set()
    for i, raw in enumerate(data.get("concepts") or [], start=1):
        missing = [k for k in ("id", "label", "kind", "narrative", "examples") if not raw.get(k)]
        if missing:
            raise StudyError(f"{where}: begrepp nr {i} saknar {', '.join(missing)}")
        if raw["kind"] not in KINDS:
            raise StudyError(f"{where}: begrepp '{raw['id']}': kind ska vara en av {', '.join(KINDS)}")
        if raw["id"] in seen:
            raise StudyError(f"{where}: begrepp-id '{raw['id']}' finns två gånger")
        seen.add(raw["id"])
        out.append(Concept(id=str(raw["id"]), label=str(raw["label"]), kind=str(raw["kind"]),
                           description=str(raw.get("description") or ""), narrative=str(raw["narrative"]),
                           examples=[str(x) for x in raw["examples"]], cues=[str(x) for x in raw.get("cues") or []]))
        try:
            re.compile("|".join(out[-1].cues) or "x")
        except re.error as exc:
            raise StudyError(f"{where}: begrepp '{raw['id']}': en cue är inget giltigt reguljärt uttryck ({exc})") from None
    fam = {str(k): [str(x) for x in v] for k, v in (data.get("families") or {}).items()}
    return out, fam


class ConceptTagger:
    """Settings in __init__; `fit(concepts, embed, mean)` builds the prototypes; `tag(C, texts,
    allowed)` returns, per segment, its main concept (or -1) and every concept it mentions.

    Main concept: among the concepts whose cue words the text contains, the one most similar
    to it, if its z-score reaches `cue_min_z`; otherwise the most similar concept if it stands
    out by `min_z` (and beats the runner-up by `min_margin`). Mentions: the main concept, cue
    concepts reaching `cue_min_z`, and any concept reaching `mention_min_z`."""

    def __init__(self, min_z: float = 2.0, min_margin: float = 0.0, cue_min_z: float = 0.5,
                 mention_min_z: float = 2.5):
        self.min_z = min_z
        self.min_margin = min_margin
        self.cue_min_z = cue_min_z
        self.mention_min_z = mention_min_z

    def fit(self, concepts: list[Concept], embed, mean: np.ndarray) -> "ConceptTagger":
        """`embed`: list[str] -> raw unit vectors (the same model as the segments); `mean`: the
        corpus mean used to centre the segments."""
        from .vectors import centre
        self.concepts_ = concepts
        protos = [centre(embed(c.phrases()), mean).mean(axis=0) for c in concepts]
        self.P_ = unit_rows(np.vstack(protos)) if protos else np.zeros((0, len(mean)))
        self.cues_ = [re.compile(r"(?i)\b(?:" + "|".join(c.cues) + ")") if c.cues else None for c in concepts]
        return self

    def scores(self, C: np.ndarray) -> np.ndarray:
        return C @ self.P_.T

    def cue_matrix(self, texts: list[str]) -> np.ndarray:
        """(texts x concepts) booleans: which concepts' cue words each text holds.

        The texts are joined (a line each) and each cue pattern is tried only where its literal
        start ("rutin", "våga" of "våga(t|r)? …") occurs — found with str.find on the lowercased
        text — instead of at every character: the same hits as searching each text with the
        pattern (tested), ten times faster. A cue that starts with a group or class is searched
        everywhere."""
        hits = np.zeros((len(texts), len(self.concepts_)), dtype=bool)
        if not texts:
            return hits
        lines = [t.replace("\n", " ") for t in texts]
        joined = "\n".join(lines)
        starts = np.cumsum([0] + [len(t) + 1 for t in lines[:-1]])
        lowered = [t.lower() for t in lines]
        # a text whose lowercase form has another length ("İ") keeps its case in the lowered
        # copy, so positions stay aligned, and is also searched on its own
        odd = [i for i, (t, lo) in enumerate(zip(lines, lowered)) if len(t) != len(lo)]
        for i in odd:
            lowered[i] = lines[i]
        low = "\n".join(lowered)
        for k, rx in enumerate(self.cues_):
            if rx is None:
                continue
            prefixes = [_literal_start(c) for c in self.concepts_[k].cues]
            found: list[int] = []
            if all(prefixes):
                for prefix in set(p.lower() for p in prefixes):
                    pos = low.find(prefix)
                    while pos >= 0:
                        if rx.match(joined, pos):
                            found.append(pos)
                        pos = low.find(prefix, pos + 1)
                for i in odd:
                    hits[i, k] = rx.search(lines[i]) is not None
            else:
                found = [m.start() for m in rx.finditer(joined)]
            if found:
                hits[np.searchsorted(starts, found, side="right") - 1, k] = True
        return hits

    def tag(self, C: np.ndarray, texts: list[str], allowed: list[set[str] | None]) -> tuple[np.ndarray, list[set[int]]]:
        """The main concept of every segment (-1: none stands out) and the concepts it mentions:
        a cue word of an allowed concept whose z-score reaches `cue_min_z` decides (the highest
        z among them); otherwise the nearest concept if its z reaches `min_z` with `min_margin`
        over the second. Mentions: cue hits, concepts with z >= `mention_min_z`, the main one."""
        S = self.scores(C)
        n, k = S.shape
        if k == 0:
            return np.full(n, -1), [set() for _ in range(n)]
        kinds = np.array([c.kind for c in self.concepts_])
        Z = (S - S.mean(axis=1, keepdims=True)) / (S.std(axis=1, keepdims=True) + 1e-9)
        patterns = {}
        ok = np.empty((n, k), dtype=bool)
        for i, a in enumerate(allowed):
            key = None if a is None else frozenset(a)
            if key not in patterns:
                patterns[key] = np.ones(k, dtype=bool) if a is None else np.isin(kinds, list(a))
            ok[i] = patterns[key]
        Zm = np.where(ok, Z, -np.inf)
        cues = self.cue_matrix(texts) & ok & (Zm >= self.cue_min_z)
        has_cue = cues.any(axis=1)
        by_cue = np.argmax(np.where(cues, Zm, -np.inf), axis=1)      # ties: the first concept
        nearest = np.argmax(Zm, axis=1)
        second = np.partition(Zm, -2, axis=1)[:, -2] if k > 1 else np.full(n, -np.inf)
        top = Zm[np.arange(n), nearest]
        by_z = (top >= self.min_z) & (top - second >= self.min_margin)
        best = np.where(has_cue, by_cue, np.where(by_z, nearest, -1))
        said = cues | (Zm >= self.mention_min_z)
        rows = np.flatnonzero(best >= 0)
        said[rows, best[rows]] = True
        mentions = [set(map(int, np.flatnonzero(r))) for r in said]
        return best, mentions


_META = set("()[]{}?*+.|^$\\")


def _literal_start(cue: str) -> str:
    """The letters every match of a cue pattern starts with: "våga(t|r)? prata" -> "våga",
    "förståe?nde" -> "förstå" (a letter before ? or * may be absent); "" when it starts with
    a group, a class or an escape."""
    out = []
    for i, ch in enumerate(cue):
        if ch in _META:
            if ch in "?*{" and out:
                out.pop()
            break
        out.append(ch)
    return "".join(out)


# -- labels for themes no concept fits ----------------------------------------------------------

_FIRST_PERSON = [
    (r"^jag har fått ", "Att ha fått "), (r"^jag har ", "Att ha "), (r"^jag hade ", "Att ha "),
    (r"^jag är ", "Att vara "), (r"^jag var ", "Att vara "), (r"^jag kan ", "Att kunna "),
    (r"^jag vill ", "Att vilja "), (r"^jag vet ", "Att veta "), (r"^jag känner ", "Att känna "),
    (r"^jag får ", "Att få "), (r"^jag fick ", "Att få "), (r"^jag går ", "Att gå "),
    (r"^jag börjar ", "Att börja "), (r"^jag ", "Att "),
    (r"^har fått ", "Att ha fått "), (r"^har blivit ", "Att ha blivit "), (r"^har ", "Att ha "),
    (r"^fått ", "Att ha fått "), (r"^känner ", "Att känna "), (r"^kan ", "Att kunna "),
    (r"^det är ", ""), (r"^det var ", ""), (r"^man ", "Att man "),
]
_POSSESSIVE = [(r"\bmig\b", "sig"), (r"\bmin\b", "sin"), (r"\bmitt\b", "sitt"), (r"\bmina\b", "sina"),
               (r"\bjag\b", "man")]
_DANGLING = set("och eller att som men inte i på med för till av om från en ett de det den man är har kan ska så även då när medan eftersom trots kommer vill".split())
# verbs that need what follows ("… gjorde att jag visste"): a label does not end on them
_DANGLING |= set("gjorde gör gjort betydde betyder innebar innebär gav ger fick får hjälpte hjälper blev blir var".split())
_CLAUSE_END = re.compile(r"[.!?;:,–—(]|\s-\s|\bmen\b|\boch jag\b|\bså att\b")


def clause_label(text: str, max_words: int = 7) -> str:
    """'Jag är inte klar för jobb än men jag vet vad nästa steg är.' -> 'Att vara inte klar
    för jobb än': the first clause, first person turned into an 'Att …' phrase, at most
    `max_words` words, cut after a word that can end a phrase (no ellipsis)."""
    from .pseudonymise import PLACEHOLDER
    text = PLACEHOLDER.sub("", text).strip().strip("\"”“'«»*- ")
    m = _CLAUSE_END.search(text)
    clause = text[: m.start()] if m and m.start() >= 12 else text
    clause = clause.strip(" .!?,")
    low = clause[:1].lower() + clause[1:]
    for pattern, repl in _FIRST_PERSON:
        if re.match(pattern, low, flags=re.I):
            low = re.sub(pattern, repl, low, count=1, flags=re.I)
            break
    for pattern, repl in _POSSESSIVE:
        low = re.sub(pattern, repl, low)
    words = low.split()
    if len(words) > max_words:
        # cut at a word, never after a word that needs a continuation ("… och inte")
        words = words[:max_words]
        while len(words) > 2 and words[-1].lower().strip(",") in _DANGLING:
            words.pop()
        words[-1] = words[-1].rstrip(",")
    if not words:
        return "Övrigt"
    label = " ".join(words)
    return label[:1].upper() + label[1:]
