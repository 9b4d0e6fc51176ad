"""Draft stage: themes -> the Swedish narrative section, in prose, every sentence citing the
segments it rests on (pipeline.grounding checks it before anything is saved).

The default drafter is deterministic. Every number it writes is a recount: the participants
(of a stated base) whose own words carry the claim — a concept's carriers, the members that
use a new theme's key term, or every member of a theme a person named — and each sentence
cites exactly those segments, so that the grounding check can count them again. Quantity words
come from one scale ([draft] prevalence; "en" for one person). Praise is grouped into
paragraphs by concept family, each theme in a sentence of its own; themes named by their own
words or by a person get sentences of their own too; then wishes, critique (never smoothed
away), finished vs ongoing, and a closing that does not repeat the opening. No sentence frame
is used twice in one draft and no quote twice. Respondents are called what they are
([draft] respondent_noun: participants only where the material is theirs).

The optional LLM drafter (pipeline/llm.py) goes through the same grounding check.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import concepts as lexicon
from .grounding import (CITATION, Draft, DraftError, Material, Paragraph, Sentence,  # noqa: F401 (re-exported)
                        SupportCheck, load_material, prevalence, quantity, quote_of, verify)
from .store import Store
from .labels import MIXED
from .theme import Theme

SAYING = re.compile(r"^(beskriver|uttrycker|upplever|ser|tycker|oroar|önskar|uppskattar|är)\b")
POSITIVE = ("praise", "outcome")
# a sentence that lost its full stop: a word, a space, then a word that starts a new sentence
LOST_BREAK = re.compile(r"[a-zåäöé0-9,] (?:Jag|Det|Vi|Nu|Här|Min|Mitt|Mina|Man)\b")


@dataclass(frozen=True)
class DraftSettings:
    """[draft] read once."""
    title: str
    prevalence: tuple
    prevalence_below: str
    max_quote_chars: int
    wish_question: str
    respondent_noun: str

    @classmethod
    def of(cls, dcfg: dict) -> "DraftSettings":
        return cls(dcfg["title"], tuple(tuple(x) for x in dcfg["prevalence"]), dcfg["prevalence_below"],
                   dcfg["max_quote_chars"], dcfg["wish_question"], dcfg.get("respondent_noun", "auto"))

    def scale(self) -> dict:
        return {"prevalence": self.prevalence, "prevalence_below": self.prevalence_below}


@dataclass(frozen=True)
class Noun:
    """What respondents are called: "deltagare" / "deltagarna" / "en deltagare"."""
    plural: str
    definite: str

    @classmethod
    def of(cls, word: str) -> "Noun":
        if word == "svarande":
            return cls("svarande", "de svarande")
        if word.endswith(("are", "ande", "ende")):
            return cls(word, word[:-1] + "na" if word.endswith("are") else "de " + word)
        if word.endswith(("er", "ar", "or")):
            return cls(word, word + "na")
        return cls(word, "de " + word)

    @property
    def one(self) -> str:
        return "en " + (self.plural if self.plural != "svarande" else "av de svarande")


_WORDS = "noll ett två tre fyra fem sex sju åtta nio tio elva tolv".split()


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _topic(t: Theme) -> str:
    """A theme as a topic in running text: a new theme's key term, else its label (without a
    leading "Om", which the frames say themselves: "skriver om veckan", not "om om veckan")."""
    if t.kind == "new" and t.term:
        return t.label[3:] if t.label.startswith("Om att ") else t.term       # "att gå in i väggen"
    return re.sub(r"^om\s+", "", _lower(t.label), flags=re.I) or _lower(t.label)


def _listed(t: Theme) -> str:
    """A theme in a list of what is taken up: a key term stands as what is said about it ("följt
    av det som sägs om handläggaren", not "följt av handläggaren")."""
    return f"det som sägs om {_topic(t)}" if (t.kind == "new" and t.term) else _topic(t)


def _topics(themes: list[Theme]) -> list[str]:
    """Themes as a list of topics; key terms that follow each other share one "det som sägs om"
    ("det som sägs om skolan och om biblioteken")."""
    out: list[str] = []
    for k, t in enumerate(themes):
        term = t.kind == "new" and t.term
        if term and k and themes[k - 1].kind == "new" and themes[k - 1].term:
            out[-1] += f" och om {_topic(t)}"
        else:
            out.append(_listed(t))
    return out


def _mixed(t: Theme) -> bool:
    """A group of answers without a common topic: a new theme without a key term, or a theme
    that still has the label narrativ gives such a group (e.g. kept in an imported codebook)."""
    return (t.kind == "new" and not t.term) or t.label.startswith(MIXED)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1]


class Frames:
    """Sentence frames handed out once each per draft: no skeleton is read twice."""

    def __init__(self):
        self.used: set[str] = set()

    def take(self, options: list[str]) -> str | None:
        for option in options:
            if option not in self.used:
                self.used.add(option)
                return option
        return None


@dataclass
class Fact:
    """One countable claim: what is counted, its carriers among the participants, the count."""
    theme: Theme | None
    concept: str | None
    ids: list[str]
    n: int
    where: dict = field(default_factory=dict)
    themes: list[str] = field(default_factory=list)

    def spec(self, base: int) -> dict:
        return {"theme": self.theme.id if self.theme else None, "concept": self.concept, "n": self.n,
                "base": base, "where": self.where, **({"themes": self.themes} if self.themes else {})}


# frames: {S} the subject (quantity word and noun), {s} the same in lower case, {x} the claim,
# {c} the count "n av M"
CONCEPT_FRAMES = ["{S} beskriver att de {x} ({c}).", "{S} berättar att de {x} ({c}).",
                  "För {s} har insatsen inneburit att de {x} ({c}).", "Hos {s} handlar det om att de {x} ({c}).",
                  "{S} skriver att de {x} ({c}).", "{S} tar upp att de {x} ({c}).",
                  "I svaren från {s} framgår att de {x} ({c}).", "{S} lyfter fram att de {x} ({c}).",
                  "Det är också {s} som berättar att de {x} ({c}).", "{S} nämner att de {x} ({c}).",
                  "{S} vittnar om att de {x} ({c}).", "Vidare berättar {s} att de {x} ({c}).",
                  "{S} säger att de {x} ({c}).", "Enligt {s} gäller att de {x} ({c})."]
SAYING_FRAMES = ["{S} {x} ({c}).", "Det är {s} som {x} ({c}).", "Dessutom är det {s} som {x} ({c}).",
                 "Även {s} {x} ({c}).", "Bland svaren finns {s} som {x} ({c}).",
                 "Vidare är det {s} som {x} ({c}).", "Till detta kommer {s} som {x} ({c})."]
LABEL_FRAMES = ["{S} skriver om {x} ({c}).", "{X} tas upp av {s} ({c}).", "{S} kommenterar {x} ({c}).",
                "Något som {s} tar upp är {x} ({c}).", "{S} berör {x} ({c}).", "Även {x} nämns, av {s} ({c}).",
                "Vidare skriver {s} om {x} ({c}).", "Svaren från {s} handlar om {x} ({c}).",
                "Ytterligare ett ämne är {x}, som {s} skriver om ({c}).", "{S} beskriver {x} ({c}).",
                "{S} lyfter {x} ({c}).", "Hos {s} handlar svaren om {x} ({c}).", "{S} tar också upp {x} ({c})."]
CRITIQUE_FRAMES = ["Bland de kritiska svaren finns {s} som {x} ({c}).", "Kritik kommer också från {s} som {x} ({c}).",
                   "En annan kritisk synpunkt är att {s} {x} ({c}).", "Vidare är det {s} som {x} ({c})."]
# the last resort when every frame is used: one list of what else is said, each with its count
REST_FRAMES = ["Därutöver nämns också {x}.", "Dessutom förekommer i svaren {x}.", "I övrigt nämns {x}.",
               "Till detta kommer {x}."]
QUOTE_FRAMES = ["Som {one} uttrycker det: ”{q}”", "”{qc}”, skriver {one}.", "{One} sammanfattar det så här: ”{q}”",
                "En av dem skriver: ”{q}”", "Med egna ord: ”{q}”", "Någon skriver: ”{q}”", "Ett exempel: ”{q}”"]


class TemplateDrafter:
    """Settings from [draft] (and the concept lexicon's families), bound once; `draft(material)`
    returns a Draft."""

    def __init__(self, cfg: dict, families: dict[str, list[str]] | None = None, lexicon_name: str = ""):
        self.settings = DraftSettings.of(cfg)
        self.families = families if families is not None else lexicon.families()
        self.lexicon_name = lexicon_name
        self.wish_q = re.compile(self.settings.wish_question)

    # -- facts ------------------------------------------------------------------------------
    def _fact(self, m: Material, t: Theme | None = None, concept: str | None = None, where: dict | None = None,
              themes: list[str] | None = None) -> Fact:
        spec = {"theme": t.id if t else None, "concept": concept, **({"themes": themes} if themes else {})}
        where = where or {}
        carriers = m.carriers(spec)
        order = (t.representative + t.segment_ids) if t else sorted(carriers)
        ids = [s for s in dict.fromkeys(order) if s in carriers and m.segments.get(s, {}).get("voice")
               and m.matches(s, where)]
        if t is None:
            ids = sorted(ids)
        n = len({m.segments[s]["respondent"] for s in ids})
        return Fact(t, concept, ids, n, where, themes or [])

    def _noun(self, m: Material) -> Noun:
        return Noun.of(m.noun)

    def _subject(self, f: Fact, base: int, noun: Noun) -> str:
        word = quantity(f.n, base, self.settings.scale())
        if f.n == 1:
            return noun.one
        if word == "enstaka":
            return f"enstaka {noun.plural}"
        if word.startswith("en majoritet"):
            return f"en majoritet av {noun.definite}"
        return word

    def _sentence(self, frames: Frames, options: list[str], f: Fact, base: int, noun: Noun, x: str,
                  claims: list[str] | None = None) -> Sentence | None:
        frame = frames.take(options)
        if frame is None or f.n == 0:
            return None
        subj = self._subject(f, base, noun)
        text = frame.format(S=_cap(subj), s=subj, x=x, X=_cap(x), c=f"{f.n} av {base}")
        return Sentence(text, f.ids, claims if claims is not None else ([f.theme.id] if f.theme else []),
                        [f.spec(base)])

    def _quote(self, frames: Frames, f: Fact, m: Material, used: set[str], noun: Noun) -> Sentence | None:
        """At most one quote where it carries the point: a carrier of the claim that reads as a
        sentence of its own, not quoted before in the draft, one without a lost full stop first."""
        candidates = []
        for k, sid in enumerate(f.ids[:12]):
            q = quote_of(m.segments[sid]["text"], self.settings.max_quote_chars)
            if len(q) >= 20 and q not in used:
                candidates.append((not q[:1].isupper(), bool(LOST_BREAK.search(q)), k, sid, q))
        if not candidates:
            return None
        *_, sid, q = min(candidates)
        frame = frames.take(QUOTE_FRAMES)
        if frame is None:
            return None
        used.add(q)
        one = noun.one if noun.plural != "svarande" else "en av de svarande"
        return Sentence(frame.format(q=q, qc=q.rstrip("."), one=one, One=_cap(one)), [sid])

    # -- paragraphs -------------------------------------------------------------------------
    def _theme_sentence(self, w: "_Writer", t: Theme, where: dict | None = None) -> Sentence | None:
        f = self._fact(w.m, t, where=where)
        base = w.m.base(where or {})
        if t.kind == "concept" and t.narrative:
            opts = CRITIQUE_FRAMES if t.tone == "critique" else SAYING_FRAMES if SAYING.match(t.narrative) else CONCEPT_FRAMES
            return self._sentence(w.frames, opts, f, base, w.noun, t.narrative)
        return self._sentence(w.frames, LABEL_FRAMES, f, base, w.noun, _topic(t))

    def draft(self, m: Material) -> Draft:
        themes = [t for t in m.themes if self._fact(m, t).n > 0]
        if not themes:
            raise DraftError("Inga teman med deltagarnas egna ord: utkastet skrivs bara från deltagarröster "
                             "(se 'narrativ info' om vilka dokument som räknas som deltagarröst).")
        w = _Writer(m, self._noun(m), Frames(), set(), self)
        title = self.settings.title
        if w.noun.plural != "deltagare":
            title = title.replace(" av deltagare", "")
        d = Draft(title=title, respondents=m.respondents)
        ordered = sorted(themes, key=lambda t: (-self._fact(m, t).n, t.id))
        mixed = [t for t in ordered if _mixed(t)]
        ordered = [t for t in ordered if not _mixed(t)]
        positive = [t for t in ordered if t.tone in POSITIVE]
        wishes = [t for t in ordered if t.tone == "wish"]
        critique = [t for t in ordered if t.tone == "critique"]
        nothing = [t for t in ordered if t.tone == "nothing"]
        for p in [w.opening(ordered or mixed), *w.praise(positive), w.others(positive), w.mixed(mixed), w.wishes(wishes, nothing),
                  w.critique(critique), w.forms(positive + wishes), w.closing(ordered, wishes + critique)]:
            if p is not None and p.sentences:
                d.paragraphs.append(p)
        return d


@dataclass
class _Writer:
    """One draft being written: the material, what respondents are called, the frames and
    quotes used so far, and the drafter's settings."""
    m: Material
    noun: Noun
    frames: Frames
    quoted: set
    drafter: TemplateDrafter

    def fact(self, t: Theme, where: dict | None = None) -> Fact:
        return self.drafter._fact(self.m, t, where=where)

    def opening(self, ordered: list[Theme]) -> Paragraph:
        m = self.m
        forms = m.group_totals.get("form", {})
        both = {"avslut", "pågående"} <= set(forms)
        first = self.fact(ordered[0])
        sentences = [Sentence(f"Sammanställningen bygger på fritextsvar från {m.respondents} {self.noun.plural}"
                              + (", både från dem som fortfarande deltar och från dem som har avslutat insatsen"
                                 if both else "") + ".", first.ids[:1])]
        enough = max(3, 0.05 * m.respondents)          # the opening names what many take up
        top = [t for t in ordered if t.tone != "nothing" and not _mixed(t) and self.fact(t).n >= enough][:3]
        counts = [self.fact(t).n for t in top]
        cited = [s for t in top for s in self.fact(t).ids[:2]]
        if len(top) >= 2 and counts[0] > counts[1]:
            sentences.append(Sentence(f"Det som tas upp av flest är {_listed(top[0])}, följt av {_and(_topics(top[1:]))}.",
                                      cited, [t.id for t in top]))
        elif len(top) >= 2:
            sentences.append(Sentence(f"Bland det som tas upp oftast finns {_and(_topics(top))}.", cited, [t.id for t in top]))
        return Paragraph.of("opening", sentences)

    def praise(self, positive: list[Theme]) -> list[Paragraph]:
        """Concept themes, one paragraph per family (largest first), each theme a sentence, the
        family's quote last; themes beyond the frames go into one sentence of their own."""
        family_of = {cid: f for f, ids in self.drafter.families.items() for cid in ids}
        groups: dict[str, list[Theme]] = defaultdict(list)
        for t in positive:
            if t.kind == "concept":
                groups[family_of.get(t.concept or "", "övrigt")].append(t)
        weight = {f: len({self.m.segments[s]["respondent"] for t in ts for s in self.fact(t).ids}) for f, ts in groups.items()}
        out, rest = [], []
        for family in sorted(groups, key=lambda f: (-weight[f], f)):
            sentences = []
            for t in groups[family]:
                s = self.drafter._theme_sentence(self, t)
                (sentences.append(s) if s else rest.append(t))
            if not sentences:
                continue
            quote = self.drafter._quote(self.frames, self.fact(groups[family][0]), self.m, self.quoted, self.noun)
            out.append(Paragraph.of("theme", sentences + ([quote] if quote else []), groups[family][0].id))
        if rest and out:
            out[-1] = Paragraph.of("theme", out[-1].sentences + [self.rest(rest)], out[-1].theme_id)
        return out

    def rest(self, themes: list[Theme], where: dict | None = None) -> Sentence:
        """One sentence for the themes no frame was left for: what each is, with its count."""
        facts = [self.fact(t, where) for t in themes]
        M = self.m.base(where or {})
        parts = [f"att {self.noun.definite if k == 0 else 'de'} {t.narrative if t.kind == 'concept' else 'skriver om ' + _topic(t)} ({f.n} av {M})"
                 for k, (t, f) in enumerate(zip(themes, facts))]
        frame = self.frames.take(REST_FRAMES) or "Även detta nämns: {x}."
        return Sentence(frame.format(x=_and(parts)), [s for f in facts for s in f.ids], [t.id for t in themes],
                        [f.spec(M) for f in facts])

    def mixed(self, mixed: list[Theme]) -> Paragraph | None:
        """Themes whose answers share no topic: one sentence for all of them, with a quote."""
        sentences = []
        if mixed:
            f = self.drafter._fact(self.m, None, themes=[t.id for t in mixed])
            M = self.m.respondents
            subj = self.drafter._subject(f, M, self.noun)
            where = "ett tema" if len(mixed) == 1 else f"{_WORDS[len(mixed)] if len(mixed) < len(_WORDS) else 'ett antal'} mindre teman"
            # "svar från": these answers are about something else; their writers may also have
            # said what the sentences above count
            sentences.append(Sentence(f"Svar från {subj} ({f.n} av {M}) handlar om annat än det som nämns ovan och "
                                      f"bildar {where} utan ett gemensamt ämne.", f.ids, [t.id for t in mixed], [f.spec(M)]))
            q = self.drafter._quote(self.frames, f, self.m, self.quoted, self.noun)
            if q:
                sentences.append(q)
        return Paragraph.of("mixed", sentences) if sentences else None

    def others(self, positive: list[Theme]) -> Paragraph | None:
        """Themes named by their own key term or by a person: a sentence each, the two largest
        with a quote (a paragraph carries at most two)."""
        sentences, quotes, rest = [], 0, []
        # a person's own themes first: what a person named is never left out
        for t in sorted([t for t in positive if t.kind != "concept"], key=lambda t: t.kind != "codebook"):
            s = self.drafter._theme_sentence(self, t)
            if s is None:
                rest.append(t)
                continue
            sentences.append(s)
            q = self.drafter._quote(self.frames, self.fact(t), self.m, self.quoted, self.noun) if quotes < 2 else None
            if q:
                sentences.append(q)
                quotes += 1
        if rest:
            sentences.append(self.rest(rest))
        return Paragraph.of("others", sentences) if sentences else None

    def wishes(self, wishes: list[Theme], nothing: list[Theme]) -> Paragraph | None:
        m, sentences = self.m, []
        asked = [q for q in m.group_totals.get("question", {}) if self.drafter.wish_q.search(q)]
        where = {"question": asked[0]} if len(asked) == 1 else {}
        base = m.base(where)
        for t in nothing[:1]:
            f = self.fact(t, where)
            if f.n:
                subj = self.drafter._subject(f, base, self.noun)
                sentences.append(Sentence(
                    f"På frågan om vad som kunde bli bättre svarar {subj} ({f.n} av {base}"
                    f"{' som besvarat frågan' if where else ''}) att inget behöver ändras.", f.ids, [t.id], [f.spec(base)]))
        # a person's own themes first among the rest; what no frame is left for goes in one sentence
        wishes = wishes[:1] + sorted(wishes[1:], key=lambda t: t.kind != "codebook")
        rest = [t for t in wishes[5:] if self.fact(t, where).n]
        for k, t in enumerate(wishes[:5]):
            f = self.fact(t, where)
            if not f.n:
                continue
            if k == 0 and t.kind == "concept" and (len(wishes) == 1 or f.n > self.fact(wishes[1], where).n):
                verb = t.narrative if SAYING.match(t.narrative) else "önskar att de " + t.narrative
                sentences.append(Sentence(f"Bland önskemålen är det vanligast att {self.noun.definite} {verb} "
                                          f"({f.n} av {base}).", f.ids, [t.id], [f.spec(base)]))
                continue
            s = self.drafter._theme_sentence(self, t, where)
            (sentences.append(s) if s else rest.append(t))
        if rest:
            sentences.append(self.rest(rest, where))
        if wishes:
            q = self.drafter._quote(self.frames, self.fact(wishes[0], where), m, self.quoted, self.noun)
            if q:
                sentences.append(q)
        return Paragraph.of("wishes", sentences) if sentences else None

    def critique(self, critique: list[Theme]) -> Paragraph | None:
        """Critique has a paragraph of its own, never smoothed away: critique themes, then
        critique concepts carried in other themes."""
        critique = sorted(critique, key=lambda t: (t.kind != "codebook", -self.fact(t).n, t.id))
        sentences, rest = [], []
        for t in critique:
            s = self.drafter._theme_sentence(self, t) if len(sentences) < 4 else None
            (sentences.append(s) if s else rest.append(t))
        rest = [t for t in rest if self.fact(t).n]
        if rest:
            sentences.append(self.rest(rest))
        named = {t.concept for t in self.m.themes if t.concept}
        loose = sorted({c.concept: c for t in self.m.themes for c in t.concepts
                        if c.kind == "critique" and c.concept not in named}.values(), key=lambda c: c.concept)
        if self.m.coverage and not self.m.coverage.get("fits", True):
            loose = []                         # the concept list does not fit this material
        for c in loose[:3]:
            f = self.drafter._fact(self.m, None, concept=c.concept)
            s = self.drafter._sentence(self.frames, LABEL_FRAMES, f, self.m.respondents, self.noun, _lower(c.label),
                                       claims=[t.id for t in self.m.themes if set(t.segment_ids) & set(f.ids)])
            if s:
                sentences.append(s)
        if not sentences:
            return None
        q = self.drafter._quote(self.frames, self.fact(critique[0]), self.m, self.quoted, self.noun) if critique else None
        return Paragraph.of("critique", sentences + ([q] if q else []))

    def forms(self, themes: list[Theme]) -> Paragraph | None:
        """Those who have finished (form "avslut") against those still taking part: the concept
        theme where the shares differ most, both counts recounted."""
        totals = self.m.group_totals.get("form", {})
        if not {"avslut", "pågående"} <= set(totals):
            return None
        a_w, p_w = {"form": "avslut"}, {"form": "pågående"}
        n_a, n_p = self.m.base(a_w), self.m.base(p_w)
        if not n_a or not n_p:
            return None
        best = None
        for t in [t for t in themes if t.kind == "concept"]:
            fa, fp = self.fact(t, a_w), self.fact(t, p_w)
            diff = fa.n / n_a - fp.n / n_p
            if abs(diff) >= 0.05 and max(fa.n, fp.n) >= 2 and (best is None or abs(diff) > abs(best[0])):
                best = (diff, t, fa, fp)
        if best is None:
            return None
        _, t, fa, fp = best
        text = (f"Skillnaden mellan dem som har avslutat insatsen och dem som fortfarande deltar syns "
                f"tydligast i att {self.noun.definite} {t.narrative if SAYING.match(t.narrative) else 'beskriver att de ' + t.narrative}: "
                f"det gäller {fa.n} av {n_a} som har avslutat och {fp.n} av {n_p} som fortfarande deltar.")
        sentences = [Sentence(text, fa.ids + fp.ids, [t.id], [fa.spec(n_a), fp.spec(n_p)])]
        q = self.drafter._quote(self.frames, fa if fa.n >= fp.n else fp, self.m, self.quoted, self.noun)
        if q:
            sentences.append(q)
        return Paragraph.of("forms", sentences)

    def closing(self, ordered: list[Theme], asks: list[Theme]) -> Paragraph | None:
        """What the answers point to for the future — not a repeat of the opening."""
        if not asks:
            return None
        asks = sorted([t for t in asks if not t.label.startswith(MIXED)], key=lambda t: (-self.fact(t).n, t.id))[:2]
        if not asks:
            return None
        facts = [self.fact(t) for t in asks]
        lead = "framför allt " if len(asks) == 1 or facts[0].n > facts[1].n else ""
        text = "Samtidigt pekar svaren på vad som kan utvecklas, " + lead + _and([_lower(t.label) for t in asks]) + "."
        return Paragraph.of("closing", [Sentence(text, [s for f in facts for s in f.ids[:3]], [t.id for t in asks])])


def support_check(store: Store, cfg: dict, m: Material, embedder=None) -> SupportCheck:
    """The paraphrase check on the study's own embeddings (cached)."""
    from .embed import embed_texts, make_embedder
    embedder = embedder or make_embedder(cfg)
    theme_of = {s: t.id for t in m.themes for s in t.segment_ids}
    ids = [s for s in m.segments if s in theme_of]
    X, _ = embed_texts(store, embedder, [m.segments[s]["text"] for s in ids])
    return SupportCheck(lambda texts: embedder.encode(list(texts)), dict(zip(ids, X)), theme_of,
                        cfg["draft"]["support_near_share"])


def run(store: Store, cfg: dict, study_dir: Path, drafter=None, embedder=None) -> Draft:
    """Draft, verify (quotes, sources, claims, recounts and paraphrase support), save
    DIR/out/draft.json."""
    material = load_material(store, cfg)
    drafter = drafter or make_drafter(cfg)
    draft = drafter.draft(material)
    when = cfg["draft"]["support_check"]
    check = when == "always" or (when == "llm" and not isinstance(drafter, TemplateDrafter))
    verify(draft, material, support_check(store, cfg, material, embedder) if check else None, cfg["draft"])
    out = Path(study_dir) / "out"
    out.mkdir(exist_ok=True)
    (out / "draft.json").write_text(draft.to_json(), encoding="utf-8")
    store.log_run("draft", "ok", {"paragraphs": len(draft.paragraphs), "drafter": draft.drafter})
    return draft


def make_drafter(cfg: dict):
    dcfg = cfg["draft"]
    if dcfg.get("llm_url"):
        from .llm import LLMDrafter
        return LLMDrafter(dcfg)
    name = cfg["concepts"]["lexicon"] or ""
    return TemplateDrafter(dcfg, lexicon.families(name or None), name)
