"""Draft stage: themes -> the Swedish narrative section, in prose, every sentence citing the
segments it rests on (pipeline.grounding checks it before anything is saved).

The default drafter is deterministic. It writes what participants describe in the third
person, from each theme's concept phrase (pipeline/data/begrepp.yaml), with prevalence words
that follow measured shares of *participants* — articles, reports, staff and politicians are
never counted or quoted as participants (pipeline.voice). Praise is grouped into paragraphs by
concept family (everyday life and health; community; being met and supported; self and
future), each with at most one quote where it carries the point; then the overall tone, the
wishes, the critique (never smoothed away: a paragraph of its own), pågående vs avslut, and a
closing paragraph. Sentence forms vary by paragraph so that no two share a skeleton.

The optional LLM drafter (pipeline/llm.py) goes through the same grounding check.
"""
from __future__ import annotations

import hashlib
import itertools
import re
from collections import defaultdict
from pathlib import Path

from . import concepts as lexicon
from .grounding import (CITATION, Draft, DraftError, Material, Paragraph, Sentence,  # noqa: F401 (re-exported)
                        SupportCheck, load_material, prevalence, quote_of, verify)
from .store import Store
from .theme import Theme

SAYING = re.compile(r"^(beskriver|uttrycker|upplever|ser|tycker|oroar|önskar|uppskattar|är)\b")
POSITIVE = ("praise", "outcome")


def _subject(word: str) -> str:
    """The prevalence word as a sentence subject: 'många' -> 'Många', 'enstaka' -> 'Enstaka deltagare'."""
    word = word if word != "enstaka" else "enstaka deltagare"
    return word[:1].upper() + word[1:]


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1]


_NUMBER_WORDS = "noll en två tre fyra fem sex sju åtta nio tio elva tolv".split()


def _num(n: int) -> str:
    """A count in running text: words up to twelve (Swedish style), digits above."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


# a sentence that lost its full stop: a word, a space, then a word that starts a new sentence
LOST_BREAK = re.compile(r"[a-zåäöé0-9,] (?:Jag|Det|Vi|Nu|Här|Min|Mitt|Mina|Man)\b")


def _pick(options: list[str], key: str) -> str:
    return options[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(options)]


class TemplateDrafter:
    """Settings from [draft] (and the concept lexicon's families); `draft(material)` returns a
    Draft."""

    def __init__(self, cfg: dict, families: dict[str, list[str]] | None = None):
        self.cfg = cfg
        self.families = families if families is not None else lexicon.families()
        self.wish_q = re.compile(cfg["wish_question"])

    # -- evidence ---------------------------------------------------------------------------
    def _voice_ids(self, t: Theme, m: Material) -> list[str]:
        return [s for s in t.segment_ids if m.segments.get(s, {}).get("voice")]

    def _evidence(self, t: Theme, m: Material, n: int = 3) -> list[str]:
        """Participant segments that carry the theme's point: those about its concept first,
        then its representative quotes, then the rest; one per respondent."""
        about = next((c.segment_ids for c in t.concepts if c.concept == t.concept), [])
        order = list(dict.fromkeys(about + t.representative + t.segment_ids))
        out, seen = [], set()
        for sid in order:
            seg = m.segments.get(sid)
            if seg is None or not seg["voice"] or seg["respondent"] in seen:
                continue
            seen.add(seg["respondent"])
            out.append(sid)
            if len(out) == n:
                break
        return out

    def _respondents(self, themes: list[Theme], m: Material) -> set:
        return {m.segments[s]["respondent"] for t in themes for s in self._voice_ids(t, m)}

    def _count(self, t: Theme, m: Material) -> str:
        return f"{t.voice_respondents} av {m.respondents}"

    def _quote(self, t: Theme, m: Material, key: str, form: str | None = None) -> Sentence | None:
        """At most one quote where it carries the point: the first evidence segment that reads
        as a sentence of its own (starts with a capital letter, at least 20 characters), one
        without a lost full stop inside ("…med Arbetsförmedlingen Jag har fått…") first."""
        candidates = []
        for sid in self._evidence(t, m, 6):
            seg = m.segments[sid]
            if form and seg["attributes"].get("form") != form:
                continue
            q = quote_of(seg["text"], self.cfg["max_quote_chars"])
            if len(q) >= 20:
                candidates.append((not q[:1].isupper(), bool(LOST_BREAK.search(q)), len(candidates), sid, q))
        for *_, sid, q in sorted(candidates)[:1]:
            text = _pick(["Som en deltagare uttrycker det: ”{q}”", "”{qc}”, skriver en deltagare.",
                          "En deltagare sammanfattar det så här: ”{q}”", "En av dem skriver: ”{q}”"],
                         key).format(q=q, qc=q.rstrip("."))
            return Sentence(text, [sid], [t.id])
        return None

    # -- sentences --------------------------------------------------------------------------
    def _share(self, t: Theme, m: Material) -> str:
        return prevalence(t.voice_respondents / m.respondents if m.respondents else 0, self.cfg)

    def _lead(self, t: Theme, m: Material, k: int) -> Sentence:
        subj, narr, count = _subject(self._share(t, m)), t.narrative, self._count(t, m)
        if SAYING.match(narr):
            forms = ["{Subj} {narr} ({count}).", "Det är {subj_l} som {narr} ({count})."]
        else:
            forms = ["{Subj} beskriver att de {narr} ({count}).",
                     "För {subj_l} har insatsen inneburit att de {narr} ({count}).",
                     "{Subj} berättar att de {narr} ({count})."]
        text = forms[k % len(forms)].format(Subj=subj, subj_l=subj.lower(), narr=narr, count=count)
        return Sentence(text, self._evidence(t, m), [t.id])

    def _next(self, t: Theme, m: Material, k: int) -> Sentence:
        subj, narr, count = _subject(self._share(t, m)), t.narrative, self._count(t, m)
        if SAYING.match(narr):
            forms = ["{Subj} {narr} ({count}).", "Dessutom är det {subj_l} som {narr} ({count}).",
                     "Det är också {subj_l} som {narr} ({count})."]
        else:
            forms = ["Andra berättar att de {narr} ({count}).", "{Subj} {narr} ({count}).",
                     "Lika tydligt är att {subj_l} {narr} ({count}).", "Det är också {subj_l} som {narr} ({count}).",
                     "Hos {subj_l} handlar det om att de {narr} ({count})."]
        text = forms[k % len(forms)].format(Subj=subj, subj_l=subj.lower(), narr=narr, count=count)
        return Sentence(text, self._evidence(t, m), [t.id])

    def _mentions(self, m: Material, named: set[str], kinds=POSITIVE) -> dict[str, tuple]:
        """Concepts participants speak about (segment level, in any theme) that name no theme of
        their own: concept id -> (mention, participant segment ids, theme ids)."""
        need = max(1, round(0.01 * m.respondents))
        found: dict[str, tuple] = {}
        for t in m.themes:
            for c in t.concepts:
                if c.concept in named or c.kind not in kinds:
                    continue
                ids = [s for s in c.segment_ids if m.segments.get(s, {}).get("voice")]
                if not ids:
                    continue
                old = found.get(c.concept, (c, [], []))
                found[c.concept] = (c, old[1] + ids, old[2] + [t.id])
        return {k: v for k, v in found.items()
                if len({m.segments[s]["respondent"] for s in v[1]}) >= need}

    def _also(self, mentions: list[tuple], m: Material, k: int, first: bool) -> Sentence | None:
        """One sentence for concepts that have no theme of their own."""
        if not mentions:
            return None
        picked = sorted(mentions, key=lambda x: (-len(x[1]), x[0].concept))[:4]
        parts = [f"att de {c.narrative.removeprefix('beskriver ')}" for c, _, _ in picked]
        if first:
            lead = ["Deltagarna berättar {x}.", "I svaren beskrivs {x}."][k % 2]
        else:
            lead = ["Några nämner också {x}.", "Här finns även de som berättar {x}.",
                    "Enstaka lyfter också fram {x}."][k % 3]
        ids = [sid for _, seg_ids, _ in picked for sid in seg_ids[:2]]
        return Sentence(lead.format(x=_and(parts)), ids, [t.id for t in m.themes if set(t.segment_ids) & set(ids)])

    # -- the draft --------------------------------------------------------------------------
    def draft(self, m: Material) -> Draft:
        d = Draft(title=self.cfg["title"], respondents=m.respondents)
        themes = [t for t in m.themes if t.voice_respondents > 0]
        positive = [t for t in themes if t.tone in POSITIVE]
        wishes = [t for t in themes if t.tone == "wish"]
        critique = [t for t in themes if t.tone == "critique"]
        nothing = [t for t in themes if t.tone == "nothing"]
        if not themes:
            raise DraftError("Inga teman med deltagarnas egna ord: utkastet skrivs bara från deltagarröster "
                             "(se 'narrativ info' om vilka dokument som räknas som deltagarröst).")
        named = {t.concept for t in themes if t.concept}
        concept_themes = [t for t in positive if t.kind != "new"]

        # opening
        top = concept_themes[:3] or positive[:3]
        forms = m.group_totals.get("form", {})
        both = {"avslut", "pågående"} <= set(forms)
        opening = [Sentence(f"Sammanställningen bygger på fritextsvar från {m.respondents} deltagare"
                            + (", både från dem som fortfarande deltar och från dem som har avslutat insatsen" if both else "")
                            + ".", [self._evidence(t, m, 1)[0] for t in themes[:1]])]
        if top:
            cited = [self._evidence(t, m, 1)[0] for t in top]
            opening.append(Sentence("Det som återkommer mest är " + _and([_lower(t.label) for t in top]) + ".",
                                    cited, [t.id for t in top]))
            opening.append(Sentence("Tillsammans ger berättelserna en bild av vad stödet har betytt i deltagarnas "
                                    "vardag.", cited))
        d.paragraphs.append(Paragraph.of("opening", opening))

        # praise, one paragraph per concept family, strongest family first: its themes, then the
        # concepts of the family that participants mention without a theme of their own
        family_of = {cid: f for f, ids in self.families.items() for cid in ids}
        groups: dict[str, list[Theme]] = defaultdict(list)
        for t in concept_themes:
            groups[family_of.get(t.concept or "", "övrigt")].append(t)
        mentioned: dict[str, list[tuple]] = defaultdict(list)
        for cid, mention in self._mentions(m, named).items():
            mentioned[family_of.get(cid, "övrigt")].append(mention)

        def weight(family):
            ids = [s for _, seg_ids, _ in mentioned[family] for s in seg_ids]
            return len(self._respondents(groups[family], m) | {m.segments[s]["respondent"] for s in ids})

        ordered = sorted(set(groups) | set(mentioned), key=lambda f: (-weight(f), f))
        leftovers: list[Theme] = []
        turn = itertools.count()           # sentence forms rotate through the whole draft
        for k, family in enumerate(ordered):
            members = groups.get(family, [])
            shown = members[:3]
            if weight(family) < 3:
                leftovers += members
                continue
            leftovers += members[3:]
            sentences = [self._lead(shown[0], m, k)] if shown else []
            sentences += [self._next(t, m, next(turn)) for t in shown[1:]]
            also = self._also(mentioned.get(family, []), m, k, first=not shown)
            if also:
                sentences.append(also)
            quote = self._quote(shown[0], m, family) if shown else None
            if quote:
                sentences.append(quote)
            d.paragraphs.append(Paragraph.of("theme", sentences, shown[0].id if shown else None))
        new = [t for t in positive if t.kind == "new"]
        if leftovers or new:
            sentences = []
            if leftovers:
                shown_left = sorted(leftovers, key=lambda t: (-t.voice_respondents, t.id))[:4]
                parts = [f"{_num(t.voice_respondents) if k else _num(t.voice_respondents) + ' deltagare'} att de "
                         f"{t.narrative}" for k, t in enumerate(shown_left)]
                sentences.append(Sentence("Därutöver berättar " + _and(parts) + ".",
                                          [self._evidence(t, m, 1)[0] for t in shown_left], [t.id for t in shown_left]))
            for t in new[:2]:
                q = quote_of(m.segments[self._evidence(t, m, 1)[0]]["text"], self.cfg["max_quote_chars"])
                sentences.append(Sentence(
                    f"Ett mönster som inte fångas av de vanliga temana syns hos {self._share(t, m)} "
                    f"({self._count(t, m)}), som skriver i stil med ”{q}”", self._evidence(t, m), [t.id]))
            d.paragraphs.append(Paragraph.of("others", sentences))

        # critique that names no theme of its own is still told (never smoothed away)
        loose_critique = list(self._mentions(m, named, ("critique",)).values())

        # tone
        pos_r = self._respondents(positive, m)
        neg_r = self._respondents(wishes + critique, m) | {m.segments[s]["respondent"]
                                                          for _, ids, _ in loose_critique for s in ids}
        if pos_r:
            share = len(pos_r) / m.respondents if m.respondents else 0
            tone = "genomgående positiv" if share >= 0.6 and len(neg_r) < 0.3 * m.respondents else \
                "övervägande positiv" if len(pos_r) > len(neg_r) else "blandad"
            text = (f"Tonen i svaren är {tone}: {len(pos_r)} av {m.respondents} deltagare beskriver något de har fått "
                    f"ut av insatsen")
            text += (f", medan {_num(len(neg_r))} tar upp önskemål eller kritik." if neg_r
                     else ", och ingen framför kritik.")
            cite = [self._evidence(t, m, 1)[0] for t in (positive[:2] + (wishes + critique)[:1])]
            d.paragraphs.append(Paragraph.of("tone", [Sentence(text, cite)]))

        # wishes
        if wishes or nothing:
            sentences = []
            asked = self._asked(m)
            if nothing:
                n_nothing = len(self._respondents(nothing, m))
                base = asked or m.respondents
                sentences.append(Sentence(
                    f"På frågan om vad som kunde bli bättre svarar {prevalence(n_nothing / base, self.cfg)} "
                    f"({n_nothing} av {base}{' som besvarat frågan' if asked else ''}) att inget behöver ändras.",
                    [self._evidence(t, m, 2)[0] for t in nothing], [t.id for t in nothing]))
            if wishes:
                first = wishes[0]
                sentences.append(Sentence(
                    ("Bland önskemålen är det vanligast att deltagarna " if nothing else "Deltagarnas vanligaste önskemål är att de ")
                    + f"{first.narrative.replace('önskar ', 'önskar ', 1)} ({self._count(first, m)}).",
                    self._evidence(first, m), [first.id]))
                rest = sorted(wishes[1:4], key=lambda t: (-t.voice_respondents, t.id))
                if rest:
                    parts = [f"{t.narrative if k == 0 else t.narrative.removeprefix('önskar ')} ({t.voice_respondents})"
                             for k, t in enumerate(rest)]
                    sentences.append(Sentence("Andra " + _and(parts) + ".",
                                              [self._evidence(t, m, 1)[0] for t in rest], [t.id for t in rest]))
                quote = self._quote(first, m, "wish")
                if quote:
                    sentences.append(quote)
            d.paragraphs.append(Paragraph.of("wishes", sentences))

        # critique: its own paragraph, never smoothed away
        if critique or loose_critique:
            sentences = []
            if critique:
                first = critique[0]
                sentences.append(Sentence(f"Det finns också kritik. {_subject(self._share(first, m))} {first.narrative} "
                                          f"({self._count(first, m)}).", self._evidence(first, m), [first.id]))
                for t in critique[1:3]:
                    sentences.append(Sentence(f"{_subject(self._share(t, m))} {t.narrative} ({self._count(t, m)}).",
                                              self._evidence(t, m), [t.id]))
            for c, ids, _ in sorted(loose_critique, key=lambda x: (-len(x[1]), x[0].concept))[:3]:
                n = len({m.segments[s]["respondent"] for s in ids})
                text = ("Det finns också kritik: " if not sentences else "Kritik gäller också ") + \
                    f"{_lower(c.label)}, som {_num(n)} deltagare tar upp."
                sentences.append(Sentence(text, ids[:3],
                                          [t.id for t in m.themes if set(t.segment_ids) & set(ids[:3])]))
                q = quote_of(m.segments[ids[0]]["text"], self.cfg["max_quote_chars"])
                if n == 1 and len(q) >= 15:
                    sentences.append(Sentence(f"Med deltagarens egna ord: ”{q}”", ids[:1]))
            if critique:
                quote = self._quote(critique[0], m, "critique")
                if quote:
                    sentences.append(quote)
            d.paragraphs.append(Paragraph.of("critique", sentences))

        # pågående vs avslut
        forms_p = self._forms(m, concept_themes + wishes)
        if forms_p:
            d.paragraphs.append(forms_p)

        # closing
        if top:
            parts = [t.narrative for t in top]
            text = "Sammantaget ger svaren bilden av en insats där deltagarna " + _and(parts) + "."
            closing = [Sentence(text, [self._evidence(t, m, 1)[0] for t in top], [t.id for t in top])]
            if wishes or critique:
                asks = [_lower(t.label) for t in (wishes + critique)[:2]]
                closing.append(Sentence(
                    "Samtidigt pekar svaren på vad som kan utvecklas, framför allt " + _and(asks) + ".",
                    [self._evidence(t, m, 1)[0] for t in (wishes + critique)[:2]], [t.id for t in (wishes + critique)[:2]]))
            d.paragraphs.append(Paragraph.of("closing", closing))
        return d

    def _asked(self, m: Material) -> int:
        qs = m.group_totals.get("question", {})
        return sum(n for q, n in qs.items() if self.wish_q.search(q))

    def _forms(self, m: Material, themes: list[Theme]) -> Paragraph | None:
        """Those who have finished (form "avslut") against those still taking part ("pågående"),
        or against everyone else when only the finished ones are marked (a quote list with an
        "avslut" section)."""
        totals = m.group_totals.get("form", {})
        n_a = totals.get("avslut", 0)
        if "pågående" in totals:
            n_p, others = totals["pågående"], "dem som fortfarande deltar"
            count_p = lambda t: t.groups.get("form", {}).get("pågående", 0)          # noqa: E731
        elif 0 < n_a < m.respondents:
            n_p, others = m.respondents - n_a, "övriga deltagare"
            count_p = lambda t: max(0, t.voice_respondents - t.groups.get("form", {}).get("avslut", 0))  # noqa: E731
        else:
            return None
        if not n_a or not n_p:
            return None
        diffs = []
        for t in themes:
            a, p = t.groups.get("form", {}).get("avslut", 0), count_p(t)
            diffs.append((a / n_a - p / n_p, t, a, p))
        if not diffs:
            return None
        more_a = max(diffs, key=lambda x: (x[0], x[1].id))
        more_p = min(diffs, key=lambda x: (x[0], x[1].id))
        sentences = []
        if more_a[0] >= 0.05 and more_a[2] >= 2:
            _, t, a, p = more_a
            sentences.append(Sentence(
                f"Skillnaden mellan dem som har avslutat insatsen och {others} syns tydligast här: "
                f"av de {n_a} som har avslutat är det {_num(a)} som {t.narrative}, jämfört med "
                f"{'ingen' if p == 0 else _num(p)} av {n_p} bland {others}.", self._evidence(t, m), [t.id]))
            quote = self._quote(t, m, "avslut", form="avslut")
            if quote:
                sentences.append(Sentence(quote.text.replace("en deltagare", "en av dem som avslutat")
                                          .replace("En deltagare", "En av dem som avslutat"), quote.segment_ids, quote.claims))
        if more_p[0] <= -0.05 and more_p[3] >= 2 and more_p[1].id != more_a[1].id:
            _, t, a, p = more_p
            sentences.append(Sentence(
                f"Bland {others} är det i stället fler som {t.narrative} "
                f"({p} av {n_p}, mot {a} av {n_a} bland dem som avslutat).", self._evidence(t, m), [t.id]))
        if not sentences:
            sentences.append(Sentence(
                f"Svaren från dem som har avslutat insatsen ({n_a}) och från {others} ({n_p}) "
                "fördelar sig i stort sett lika över temana.", [self._evidence(t, m, 1)[0] for t in themes[:2]]))
        return Paragraph.of("forms", sentences)


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
    """Draft, verify (quotes, sources, claims and paraphrase support), save DIR/out/draft.json."""
    material = load_material(store, cfg)
    drafter = drafter or make_drafter(cfg)
    draft = drafter.draft(material)
    when = cfg["draft"]["support_check"]
    check = when == "always" or (when == "llm" and not isinstance(drafter, TemplateDrafter))
    verify(draft, material, support_check(store, cfg, material, embedder) if check else None)
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
    return TemplateDrafter(dcfg, lexicon.families(cfg["concepts"]["lexicon"] or None))
