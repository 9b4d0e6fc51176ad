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
        for sid in self._evidence(t, m, 6):
            seg = m.segments[sid]
            if form and seg["attributes"].get("form") != form:
                continue
            q = quote_of(seg["text"], self.cfg["max_quote_chars"])
            if len(q) < 20:
                continue
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
                     "För {subj_l} har stödet inneburit att de {narr} ({count}).",
                     "{Subj} berättar att de {narr} ({count})."]
        text = forms[k % len(forms)].format(Subj=subj, subj_l=subj.lower(), narr=narr, count=count)
        return Sentence(text, self._evidence(t, m), [t.id])

    def _next(self, t: Theme, m: Material, k: int) -> Sentence:
        subj, narr, count = _subject(self._share(t, m)), t.narrative, self._count(t, m)
        if SAYING.match(narr):
            forms = ["{Subj} {narr} ({count}).", "Dessutom {narr} {subj_l} ({count})."]
        else:
            forms = ["Andra berättar att de {narr} ({count}).", "{Subj} {narr} ({count}).",
                     "Lika tydligt är att {subj_l} {narr} ({count})."]
        text = forms[k % len(forms)].format(Subj=subj, subj_l=subj.lower(), narr=narr, count=count)
        return Sentence(text, self._evidence(t, m), [t.id])

    def _also(self, themes: list[Theme], named: set[str], m: Material, k: int) -> Sentence | None:
        """Concepts some members speak about that have no theme of their own."""
        found: dict[str, tuple] = {}
        for t in themes:
            for c in t.concepts:
                if c.concept in named or c.kind not in POSITIVE:
                    continue
                ids = [s for s in c.segment_ids if m.segments.get(s, {}).get("voice")]
                if ids and (c.concept not in found or len(ids) > len(found[c.concept][1])):
                    found[c.concept] = (c, ids, t.id)
        if not found:
            return None
        picked = sorted(found.values(), key=lambda x: (-len(x[1]), x[0].concept))[:3]
        parts = [f"att de {c.narrative}" if not SAYING.match(c.narrative) else c.narrative.replace("beskriver ", "", 1)
                 for c, _, _ in picked]
        lead = ["Några nämner också {x}.", "Här finns även de som berättar {x}.", "Enstaka lyfter också fram {x}."][k % 3]
        return Sentence(lead.format(x=_and(parts)), [ids[0] for _, ids, _ in picked],
                        list(dict.fromkeys(tid for _, _, tid in picked)))

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
            opening.append(Sentence(
                "Det som återkommer mest är " + _and([_lower(t.label) for t in top]) + ", och berättelserna ger "
                "tillsammans en bild av vad stödet har betytt i deltagarnas vardag.",
                [self._evidence(t, m, 1)[0] for t in top], [t.id for t in top]))
        d.paragraphs.append(Paragraph.of("opening", opening))

        # praise, one paragraph per concept family, strongest family first
        family_of = {cid: f for f, ids in self.families.items() for cid in ids}
        groups: dict[str, list[Theme]] = defaultdict(list)
        for t in concept_themes:
            groups[family_of.get(t.concept or "", "övrigt")].append(t)
        ordered = sorted(groups.items(), key=lambda kv: (-len(self._respondents(kv[1], m)), kv[0]))
        leftovers: list[Theme] = []
        for k, (family, members) in enumerate(ordered):
            shown = members[:3]
            if sum(t.voice_respondents for t in shown) < 3:
                leftovers += members
                continue
            leftovers += members[3:]
            sentences = [self._lead(shown[0], m, k)]
            sentences += [self._next(t, m, k + j) for j, t in enumerate(shown[1:])]
            also = self._also(members, named, m, k)
            if also:
                sentences.append(also)
            quote = self._quote(shown[0], m, family)
            if quote:
                sentences.append(quote)
            d.paragraphs.append(Paragraph.of("theme", sentences, shown[0].id))
        new = [t for t in positive if t.kind == "new"]
        if leftovers or new:
            sentences = []
            if leftovers:
                parts = [f"{t.voice_respondents} att de {t.narrative}" if not SAYING.match(t.narrative)
                         else f"{t.voice_respondents} som {t.narrative}" for t in leftovers[:4]]
                sentences.append(Sentence("Därutöver berättar " + _and(parts) + ".",
                                          [self._evidence(t, m, 1)[0] for t in leftovers[:4]], [t.id for t in leftovers[:4]]))
            for t in new[:2]:
                q = quote_of(m.segments[self._evidence(t, m, 1)[0]]["text"], self.cfg["max_quote_chars"])
                sentences.append(Sentence(
                    f"Ett mönster som inte fångas av de vanliga temana syns hos {self._share(t, m)} "
                    f"({self._count(t, m)}), som skriver i stil med ”{q}”", self._evidence(t, m), [t.id]))
            d.paragraphs.append(Paragraph.of("others", sentences))

        # tone
        pos_r = self._respondents(positive, m)
        neg_r = self._respondents(wishes + critique, m)
        if pos_r:
            share = len(pos_r) / m.respondents if m.respondents else 0
            tone = "genomgående positiv" if share >= 0.6 and len(neg_r) < 0.3 * m.respondents else \
                "övervägande positiv" if len(pos_r) > len(neg_r) else "blandad"
            text = (f"Tonen i svaren är {tone}: {len(pos_r)} av {m.respondents} deltagare beskriver något de har fått "
                    f"ut av insatsen")
            text += f", medan {len(neg_r)} tar upp önskemål eller kritik." if neg_r else ", och ingen framför kritik."
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
                    f"({n_nothing} av {base}{' som besvarat frågan' if asked else ''}) att inget behöver ändras, "
                    "ofta med ett tillägg om att de är nöjda.",
                    [self._evidence(t, m, 2)[0] for t in nothing], [t.id for t in nothing]))
            if wishes:
                first = wishes[0]
                sentences.append(Sentence(
                    ("Bland önskemålen är det vanligast att deltagarna " if nothing else "Deltagarnas vanligaste önskemål är att de ")
                    + f"{first.narrative.replace('önskar ', 'önskar ', 1)} ({self._count(first, m)}).",
                    self._evidence(first, m), [first.id]))
                rest = wishes[1:4]
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
        if critique:
            first = critique[0]
            sentences = [Sentence(f"Det finns också kritik. {_subject(self._share(first, m))} {first.narrative} "
                                  f"({self._count(first, m)}).", self._evidence(first, m), [first.id])]
            for t in critique[1:3]:
                sentences.append(Sentence(f"{_subject(self._share(t, m))} {t.narrative} ({self._count(t, m)}).",
                                          self._evidence(t, m), [t.id]))
            quote = self._quote(first, m, "critique")
            if quote:
                sentences.append(quote)
            d.paragraphs.append(Paragraph.of("critique", sentences))

        # pågående vs avslut
        forms_p = self._forms(m, concept_themes + wishes)
        if forms_p:
            d.paragraphs.append(forms_p)

        # closing
        if top:
            parts = [t.narrative if not SAYING.match(t.narrative) else t.narrative for t in top]
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
        totals = m.group_totals.get("form", {})
        if not {"avslut", "pågående"} <= set(totals):
            return None
        n_a, n_p = totals["avslut"], totals["pågående"]
        diffs = []
        for t in themes:
            f = t.groups.get("form", {})
            a, p = f.get("avslut", 0), f.get("pågående", 0)
            diffs.append((a / n_a - p / n_p, t, a, p))
        if not diffs:
            return None
        more_a = max(diffs, key=lambda x: (x[0], x[1].id))
        more_p = min(diffs, key=lambda x: (x[0], x[1].id))
        sentences = []
        if more_a[0] >= 0.05 and more_a[2] >= 3:
            _, t, a, p = more_a
            sentences.append(Sentence(
                f"Skillnaden mellan dem som har avslutat insatsen och dem som fortfarande deltar syns tydligast här: "
                f"av de {n_a} som har avslutat är det {a} som {t.narrative}, jämfört med {p} av de {n_p} som "
                "fortfarande deltar.", self._evidence(t, m), [t.id]))
            quote = self._quote(t, m, "avslut", form="avslut")
            if quote:
                sentences.append(Sentence(quote.text.replace("en deltagare", "en av dem som avslutat")
                                          .replace("En deltagare", "En av dem som avslutat"), quote.segment_ids, quote.claims))
        if more_p[0] <= -0.05 and more_p[3] >= 3 and more_p[1].id != more_a[1].id:
            _, t, a, p = more_p
            sentences.append(Sentence(
                f"Bland dem som fortfarande deltar är det i stället vanligare att man {t.narrative} "
                f"({p} av {n_p}, mot {a} av {n_a} bland dem som avslutat).", self._evidence(t, m), [t.id]))
        if not sentences:
            sentences.append(Sentence(
                f"Svaren från dem som har avslutat insatsen ({n_a}) och dem som fortfarande deltar ({n_p}) "
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
                        cfg["draft"]["support_max_rank"])


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
