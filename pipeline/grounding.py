"""Grounding: the draft's types and the check every draft must pass before it is saved.

A `Draft` is paragraphs of `Sentence`s; every sentence cites the segments it rests on, and may
name the themes it speaks about (`claims`). `verify` refuses a draft when

* a sentence cites nothing, or cites a segment that does not exist;
* a quotation — in any style: ”…”, "…", “…”, „…“, «…», »…«, '…', ‘…’ — is not verbatim in a
  segment the sentence (or its paragraph) cites;
* a sentence claims a theme, and none of the segments it cites belongs to that theme;
* a `SupportCheck` is given and the own words of a sentence that claims a theme (quotes,
  counts and framing removed) are not near the theme of the segments it cites, among the
  study's themes — a paraphrase that says something no cited segment says.

Used by both drafters (pipeline.draft, pipeline.llm), research questions and exports, so none
of them depends on another stage.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from .errors import NarrativError
from .store import Store
from .theme import Theme


class DraftError(NarrativError):
    """A draft was refused: a sentence without sources, a quote not in the material, or a
    statement its sources do not carry."""


# Quotation marks, opening -> closing. A straight apostrophe counts only around at least two
# words, so that "barn's" or "Sveriges'" are not quotes.
QUOTE_PAIRS = {"”": "”", "“": "”", "„": "“", "\"": "\"", "«": "»", "»": "«", "‘": "’", "'": "'"}
QUOTE = re.compile(
    r"”([^”]+)”|“([^”“]+)[”“]|„([^“”]+)[“”]|\"([^\"]+)\"|«([^»]+)»|»([^«]+)«|‘([^’]+)’"
    r"|(?<![\w])'([^']*\s[^']*)'(?![\w])")
CITATION = re.compile(r"\[(?:källor?:\s*)?([\w.\-]+(?:\s*,\s*[\w.\-]+)*)\]\s*$")


def quotations(text: str) -> list[str]:
    """Every quoted piece of `text`, whatever the quotation marks."""
    return [next(g for g in m.groups() if g is not None) for m in QUOTE.finditer(text)]


def without_quotes(text: str) -> str:
    return " ".join(QUOTE.sub(" ", text).split())


@dataclass
class Sentence:
    text: str
    segment_ids: list[str]
    claims: list[str] = field(default_factory=list)      # theme ids the sentence speaks about
    # the counts the sentence states, in the order of its "N av M": what is counted (a theme's
    # label or a concept) and among whom ("where": attribute values); see `recount`
    counts: list[dict] = field(default_factory=list)


@dataclass
class Paragraph:
    kind: str                 # opening | theme | new | tone | wishes | critique | forms | closing | llm
    text: str                 # theme labels plain, quotes in ”…”
    segment_ids: list[str]
    theme_id: str | None = None
    sentences: list[Sentence] = field(default_factory=list)

    @classmethod
    def of(cls, kind: str, sentences: list[Sentence], theme_id: str | None = None) -> "Paragraph":
        ids = list(dict.fromkeys(s for x in sentences for s in x.segment_ids))
        return cls(kind, " ".join(x.text for x in sentences), ids, theme_id, sentences)


@dataclass
class Draft:
    title: str
    paragraphs: list[Paragraph] = field(default_factory=list)
    drafter: str = "deterministic"
    respondents: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "Draft":
        data = json.loads(text)
        paragraphs = []
        for p in data["paragraphs"]:
            sentences = [Sentence(**s) for s in p.pop("sentences", [])]
            paragraphs.append(Paragraph(**p, sentences=sentences))
        return cls(title=data["title"], paragraphs=paragraphs, drafter=data.get("drafter", ""),
                   respondents=data.get("respondents", 0))


# -- material ---------------------------------------------------------------------------------

@dataclass
class Material:
    """What a drafter may use: the themes and the segments (participant voice marked)."""
    themes: list[Theme]
    segments: dict[str, dict]           # id -> {text, kind, respondent, attributes, source, locator, voice}
    respondents: int                    # participants (respondents whose words are participant voice)
    group_totals: dict[str, dict[str, int]]
    coverage: dict = field(default_factory=dict)     # how much of the material the concepts carry
    noun: str = "deltagare"                          # what the respondents are called (respondent_noun)

    def theme(self, theme_id: str) -> Theme | None:
        return next((t for t in self.themes if t.id == theme_id), None)

    def carriers(self, spec: dict) -> set[str]:
        """The segments whose own words carry what a count counts: a theme's label (its
        `carriers`, set by the themes stage) or a concept (every segment carrying it)."""
        if spec.get("concept"):
            return {s for t in self.themes for c in t.concepts if c.concept == spec["concept"] for s in c.segment_ids}
        if spec.get("themes"):
            return {s for tid in spec["themes"] if (t := self.theme(tid)) for s in (t.carriers or t.segment_ids)}
        t = self.theme(spec.get("theme") or "")
        return set(t.carriers or t.segment_ids) if t else set()

    def matches(self, sid: str, where: dict) -> bool:
        attrs = self.segments[sid]["attributes"]
        return all(attrs.get(k) == v if not str(v).startswith("!") else attrs.get(k) != v[1:] for k, v in where.items())

    def base(self, where: dict) -> int:
        """Participants (voice) among whom a count is made: all of them, or those whose answers
        have these attribute values (e.g. those who answered the wish question)."""
        if not where:
            return self.respondents
        return len({s["respondent"] for sid, s in self.segments.items() if s["voice"] and self.matches(sid, where)})

    def recount(self, spec: dict, cited: list[str]) -> int:
        """Participants among the cited segments whose own words carry what the count counts."""
        carry = self.carriers(spec)
        where = spec.get("where") or {}
        return len({self.segments[s]["respondent"] for s in cited
                    if s in carry and s in self.segments and self.segments[s]["voice"] and self.matches(s, where)})


def load_material(store: Store, cfg: dict | None = None) -> Material:
    """The latest themes and every segment, each marked as participant voice or not."""
    from . import config
    from .voice import judge_documents
    voice = judge_documents(store, cfg or config.load(store.dir))
    themes = [Theme.from_dict(t) for t in store.themes()]
    if not themes:
        raise NarrativError(f"{store.dir}: inga teman ännu; kör 'narrativ themes' först")
    attrs = store.attributes()
    scores = store.assignments()
    segments = {}
    for g in store.segments():
        a = attrs.get(g["document_id"], {})
        segments[g["id"]] = {"text": g["text"], "kind": g["kind"], "respondent": g["respondent"],
                             "attributes": a, "source": g["source_name"], "locator": g["locator"],
                             "document_id": g["document_id"],
                             "voice": voice.get(g["document_id"], (False, ""))[0],
                             "score": scores[g["id"]][1] if g["id"] in scores else None}
    counts = json.loads(store.get_meta("themes_counts") or "{}")
    cov = counts.get("coverage", {})
    return Material(themes, segments, counts.get("participants", counts.get("respondents", 0)),
                    counts.get("group_totals", {}), cov, respondent_noun(cfg or config.load(store.dir), cov))


def respondent_noun(cfg: dict, coverage: dict) -> str:
    """[draft] respondent_noun; "auto": "deltagare" where the shipped participants' list fits
    the material, else "svarande" (staff answers, course comments, other surveys)."""
    word = cfg["draft"].get("respondent_noun", "auto")
    if word != "auto":
        return word
    fits = coverage.get("fits", True) if coverage else True
    return "deltagare" if not cfg["concepts"]["lexicon"] and fits else "svarande"


def prevalence(share: float, cfg: dict) -> str:
    """The word a claim may use for a share of participants ([draft] prevalence)."""
    for bound, word in cfg["prevalence"]:
        if share >= bound:
            return word
    return cfg["prevalence_below"]


def quantity(n: int, base: int, cfg: dict) -> str:
    """The one scale of quantity words: "en" for one person, else the word for the share."""
    if n == 1:
        return "en"
    return prevalence(n / base if base else 0.0, cfg)


# -- quoting ----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _segmenter():
    from .segment import Segmenter
    return Segmenter()


def quote_of(text: str, max_chars: int) -> str:
    """A verbatim piece of `text` to quote: whole if short, else whole sentences (the
    segmenter's own splitter: "bl.a." does not end a sentence) up to the limit, the first
    sentence if even that is longer. Text after a quotation mark inside the passage is left
    out, so that quotes never nest."""
    text = text.strip()
    cut = [text.index(mark) for mark in QUOTE_PAIRS if mark in text and mark != "'"]
    if cut:
        text = text[: min(cut)].strip()
    if len(text) <= max_chars:
        return text
    spans = _segmenter().sentences(text)
    out = ""
    for s, e in spans:
        if len(text[spans[0][0]:e].strip()) > max_chars:
            break
        out = text[spans[0][0]:e]
    if not out and spans:
        out = text[spans[0][0]:spans[0][1]]
    return (out or text[:max_chars]).strip()


# -- the check --------------------------------------------------------------------------------

class SupportCheck:
    """Is a sentence's own wording carried by the segments it cites? The sentence (quotes,
    counts and framing words removed) is split into clauses ("…, att de …", "… och att de …"),
    each clause is embedded and compared with every themed segment of the study (centred like
    the themes stage does). A clause is carried when the nearest cited segment is among the
    nearest `near_share` of all segments to it; the sentence passes when every clause is
    carried. A sentence that claims several themes mixes their meanings, so it gets twice the
    room. e5 cosines are compressed (random pairs ≈ 0.84), so absolute thresholds mean little;
    a rank among the study's own segments does. Calibrated with planted failures (sentences
    citing another theme's segments) in tests/benchmarks/bench_meaning.py; a rank among themes
    (how many uncited themes hold a nearer segment) was tried as a second way to carry a clause
    and added nothing at these settings."""

    FRAME = re.compile(r"\(\d+ av \d+[^)]*\)|\b\d+ av \d+\b|\b\d+\b")
    CLAUSE = re.compile(r",\s*(?:och\s+)?(?:\w+\s+)?att\s+de\s+|\s+och\s+(?:\w+\s+)?att\s+de\s+|;\s*")
    # words that frame a claim in a narrative ("Många beskriver att de …") and say nothing of
    # its content: dropped before embedding, so that the check weighs what is claimed
    FRAME_WORDS = set("""många flera några enstaka majoritet deltagare deltagarna deltagares deltagarnas andra
        beskriver berättar uttrycker lyfter fram nämner också även dessutom tydligt lika vanligast vanligare
        svarar svaren svar tonen bilden sammantaget samtidigt skillnaden mellan jämfört fortfarande deltar
        avslutat insatsen stödet inneburit finns här de dem det som att är har en ett av för i och på med
        till om så en två tre fyra fem sex sju åtta nio tio elva tolv därutöver""".split())

    def __init__(self, embed, vectors: dict[str, np.ndarray], theme_of: dict[str, str], near_share: float = 0.15):
        self.embed = embed                  # list[str] -> (n, d) unit vectors (same model)
        self.theme_of = theme_of            # segment id -> theme id
        self.near_share = near_share
        from .vectors import centre
        self.ids = [i for i in vectors if i in theme_of]
        self.mean = np.mean([vectors[i] for i in self.ids], axis=0) if self.ids else None
        self.S = centre(np.vstack([vectors[i] for i in self.ids]), self.mean) if self.ids else None
        self.pos = {sid: k for k, sid in enumerate(self.ids)}

    def clauses(self, sentence: str) -> list[str]:
        """The sentence's own words, clause by clause (clauses of fewer than two words dropped)."""
        body = self.FRAME.sub(" ", without_quotes(sentence))
        parts = self.CLAUSE.split(body)
        out = []
        for clause in parts:
            words = [w for w in re.findall(r"[\wåäöÅÄÖé-]+", clause) if w.lower() not in self.FRAME_WORDS]
            if len(words) >= 2:
                out.append(" ".join(words))
        return out

    def nearer(self, sentence: str, cited: list[str]) -> list[float] | None:
        """Per clause: the share of segments nearer to it than the nearest cited segment (0 = a
        cited segment is the nearest of all). None: nothing to check (no own words, or no cited
        segment in a theme)."""
        from .vectors import centre
        rows = [self.pos[c] for c in cited if c in self.pos]
        clauses = self.clauses(sentence)
        if not rows or not clauses or self.S is None or len(self.ids) < 10:
            return None
        V = centre(self.embed(clauses), self.mean)
        sims = self.S @ V.T                                  # segments × clauses
        best = sims[rows].max(axis=0)
        return [float((sims[:, j] > best[j]).mean()) for j in range(len(clauses))]

    def __call__(self, sentence: str, cited: list[str], claims: int = 1) -> bool:
        shares = self.nearer(sentence, cited)
        return shares is None or max(shares) <= self.near_share * min(2, max(1, claims))


COUNT = re.compile(r"\b(\d+) av (\d+)\b")
NUMBER = re.compile(r"\b\d+\b")
EMPTY_SLOT = re.compile(r"\(\s*\)|\s[,.]|\s{2,}|\b(\w+) \1\b|\batt de\s*[.,]|^\s*[a-zåäö]")


def check_counts(s: Sentence, ids: list[str], m: Material, scale: dict | None) -> str | None:
    """Every "N av M" of the sentence is a count it states, recounted here from the segments it
    cites; every other number is a total of the material; every quantity word is the one the
    scale gives. Returns what is wrong, or None. (Material without themes — the research
    questions' passages — states no counts of respondents: not checked here.)"""
    if not m.themes:
        return None
    text = without_quotes(s.text)
    stated = COUNT.findall(text)
    if len(stated) != len(s.counts):
        if not s.counts and stated:
            return "anger ett antal som inte går att räkna om"
        return "anger andra antal än dem den räknar"
    for (n, base), spec in zip(stated, s.counts):
        where = spec.get("where") or {}
        if int(base) != m.base(where):
            return f"räknar på fel bas ({base}, inte {m.base(where)})"
        again = m.recount(spec, ids)
        if int(n) != again:
            return f"säger {n} men de segment den hänvisar till bär påståendet hos {again}"
    totals = {m.respondents, *[v for g in m.group_totals.values() for v in g.values()]}
    plain = COUNT.sub(" ", text)
    for t in m.themes:                        # a label may hold a number ("… grupp 2")
        plain = re.sub(re.escape(t.label), " ", plain, flags=re.I)
    rest = NUMBER.findall(plain)
    if any(int(x) not in totals for x in rest):
        return "innehåller ett tal som varken är ett omräknat antal eller en total"
    if scale is not None and s.counts:
        words = {w for _, w in scale["prevalence"]} | {scale["prevalence_below"]}
        expected = {quantity(int(n), int(b), scale) for n, b in stated}
        low = text.lower()
        for word in words:
            if re.search(r"\b" + re.escape(word) + r"\b", low) and word not in expected:
                return f"använder '{word}' där skalan ger {', '.join(sorted(expected))}"
    return None


def check_prose(draft: Draft) -> str | None:
    """No empty slot, no quote twice in one draft."""
    seen: set[str] = set()
    for k, p in enumerate(draft.paragraphs, start=1):
        for n, s in enumerate(p.sentences or [], start=1):
            if EMPTY_SLOT.search(" ".join(QUOTE.sub("”Q”", s.text).split(" "))):
                return f"stycke {k}, mening {n} har en tom plats eller ett dubblerat ord"
            for q in quotations(s.text):
                key = " ".join(q.split())
                if key in seen:
                    return f"stycke {k}, mening {n} citerar samma sak en gång till"
                seen.add(key)
    return None


def verify(draft: Draft, m: Material, support: SupportCheck | None = None, scale: dict | None = None) -> None:
    """Refuse the draft (DraftError naming paragraph and sentence) unless every sentence is
    grounded; see the module text. `scale`: [draft] settings with the quantity words."""
    problem = check_prose(draft)
    if problem:
        raise DraftError(f"Utkastet stoppades: {problem}.")
    members = {t.id: set(t.segment_ids) for t in m.themes}
    for k, p in enumerate(draft.paragraphs, start=1):
        where = f"stycke {k} ({p.kind})"
        sentences = p.sentences or [Sentence(p.text, p.segment_ids)]
        para_ids = list(dict.fromkeys(p.segment_ids + [s for x in sentences for s in x.segment_ids]))
        for n, s in enumerate(sentences, start=1):
            at = f"{where}, mening {n}"
            ids = s.segment_ids or p.segment_ids
            if not ids:
                raise DraftError(f"Utkastet stoppades: {at} anger inga källor (segment-id).")
            unknown = [i for i in ids if i not in m.segments]
            if unknown:
                raise DraftError(f"Utkastet stoppades: {at} hänvisar till okända segment: {', '.join(unknown[:5])}.")
            sources = [" ".join(m.segments[i]["text"].split()) for i in list(ids) + para_ids if i in m.segments]
            for q_no, quoted in enumerate(quotations(s.text), start=1):
                quoted = " ".join(quoted.split()).strip()
                if quoted and not any(quoted in t for t in sources):
                    raise DraftError(f"Utkastet stoppades: {at}, citat {q_no}, finns inte ordagrant i de "
                                     f"segment meningen hänvisar till.")
            for theme_id in s.claims:
                if theme_id not in members:
                    raise DraftError(f"Utkastet stoppades: {at} talar om ett okänt tema ({theme_id}).")
                if not members[theme_id] & set(ids):
                    raise DraftError(f"Utkastet stoppades: {at} säger något om temat {theme_id} men hänvisar "
                                     f"inte till något segment i det temat.")
            wrong = check_counts(s, ids, m, scale)
            if wrong:
                raise DraftError(f"Utkastet stoppades: {at} {wrong}.")
            for t in m.themes:
                same = [x.id for x in m.themes if x.label.lower() == t.label.lower()]   # one label, several themes
                if len(t.label.split()) >= 2 and re.search(r"(?<!\w)" + re.escape(t.label.lower()) + r"(?!\w)", s.text.lower()) \
                        and not (set(ids) & m.carriers({"themes": same})):
                    raise DraftError(f"Utkastet stoppades: {at} nämner temat ”{t.label}” men hänvisar inte till "
                                     f"något segment som bär det.")
            if support is not None and s.claims and not support(s.text, ids, len(s.claims)):
                raise DraftError(f"Utkastet stoppades: {at} säger något som de segment den hänvisar till "
                                 f"inte säger.")
