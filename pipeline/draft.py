"""Draft stage: themes -> a Swedish narrative section, every paragraph citing the segments it
rests on and every quote verbatim from the (pseudonymised) store.

The default drafter is deterministic: it states counts, prevalence words that follow measured
shares, theme labels and keywords, and quotes — nothing it could not point to. Sentence forms
vary (chosen by a hash of the theme id, never the same opener twice in a row) so that the text
does not read like a filled-in form. The optional LLM drafter (pipeline/llm.py) goes through the
same grounding check; a draft that fails it is refused.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import NarrativError
from .store import Store

QUOTE = re.compile(r"”([^”]+)”")
CITATION = re.compile(r"\[(?:källor?:\s*)?([\w.\-]+(?:\s*,\s*[\w.\-]+)*)\]\s*$")


class DraftError(NarrativError):
    """A draft was refused: a paragraph without sources, or a quote not in the material."""


@dataclass
class Paragraph:
    kind: str                 # opening | theme | others | wishes | forms
    text: str                 # theme labels in *asterisks* (italic), quotes in ”…”
    segment_ids: list[str]
    theme_id: str | None = None


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
        return cls(title=data["title"], paragraphs=[Paragraph(**p) for p in data["paragraphs"]],
                   drafter=data.get("drafter", ""), respondents=data.get("respondents", 0))


# -- material ---------------------------------------------------------------------------------

@dataclass
class Material:
    themes: list[dict]
    segments: dict[str, dict]           # id -> {text, kind, respondent, attributes, source, locator}
    respondents: int
    group_totals: dict[str, dict[str, int]]


def load_material(store: Store) -> Material:
    themes = store.themes()
    if not themes:
        raise NarrativError(f"{store.dir}: inga teman ännu; kör 'narrativ themes' först")
    attrs = store.attributes()
    scores = store.assignments()
    segments = {}
    for g in store.segments():
        segments[g["id"]] = {"text": g["text"], "kind": g["kind"], "respondent": g["respondent"],
                             "attributes": attrs.get(g["document_id"], {}), "source": g["source_name"],
                             "locator": g["locator"], "document_id": g["document_id"],
                             "score": scores[g["id"]][1] if g["id"] in scores else None}
    counts = json.loads(store.get_meta("themes_counts") or "{}")
    return Material(themes, segments, counts.get("respondents", 0), counts.get("group_totals", {}))


# -- wording ----------------------------------------------------------------------------------

def prevalence(share: float, cfg: dict) -> str:
    for bound, word in cfg["prevalence"]:
        if share >= bound:
            return word
    return cfg["prevalence_below"]


def _pick(options: list[str], key: str, avoid: str | None = None) -> str:
    h = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    choice = options[h % len(options)]
    if avoid is not None and choice.split()[0] == avoid.split()[0] and len(options) > 1:
        choice = options[(h + 1) % len(options)]
    return choice


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _label(theme: dict) -> str:
    return f"*{theme['label']}*"


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1]


def quote_of(text: str, max_chars: int) -> str:
    """A verbatim piece of `text` to quote: whole if short, else whole sentences up to the limit
    (the first sentence if even that is longer). Text after a quotation mark inside the passage
    is left out, so that quotes never nest."""
    text = text.strip()
    for mark in "”“\"":
        if mark in text:
            text = text[: text.index(mark)].strip()
    if len(text) <= max_chars:
        return text
    sentences = re.findall(r"[^.!?]+[.!?]+", text)
    out = ""
    for s in sentences:
        if len((out + s).strip()) > max_chars:
            break
        out += s
    return (out or (sentences[0] if sentences else text[:max_chars])).strip()


def _voice(seg: dict) -> str:
    if seg["kind"] == "interview" and seg["attributes"].get("participant") != "ja":
        return "en intervjuad"
    return "en deltagare"


# -- the deterministic drafter ---------------------------------------------------------------

class TemplateDrafter:
    """Settings from [draft]; `draft(material)` returns a Draft."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.wish_q = re.compile(cfg["wish_question"])
        self.wish_words = re.compile(cfg["wish_markers"])
        self.nothing = re.compile(cfg["nothing_markers"])

    def _theme_kind(self, theme: dict, m: Material) -> str:
        segs = [m.segments[s] for s in theme["segment_ids"] if s in m.segments]
        if not segs:
            return "theme"
        nothing = sum(bool(self.nothing.search(s["text"])) for s in segs) / len(segs)
        if nothing >= 0.5:
            return "nothing"
        from_wish_q = sum(bool(self.wish_q.search(s["attributes"].get("question", ""))) for s in segs) / len(segs)
        wish_words = sum(bool(self.wish_words.search(s["text"])) for s in segs) / len(segs)
        return "wish" if from_wish_q >= 0.5 or wish_words >= 0.5 else "theme"

    def _quotes(self, theme: dict, m: Material, n: int, form: str | None = None) -> list[tuple[str, str, dict]]:
        ids = theme.get("representative", []) + [s for s in theme["segment_ids"] if s not in theme.get("representative", [])]
        out, seen = [], set()
        for sid in ids:
            seg = m.segments.get(sid)
            if seg is None or (form and seg["attributes"].get("form") != form):
                continue
            if seg["respondent"] in seen or len(seg["text"]) < 20:
                continue
            seen.add(seg["respondent"])
            out.append((sid, quote_of(seg["text"], self.cfg["max_quote_chars"]), seg))
            if len(out) == n:
                break
        return out

    def _count(self, theme: dict, m: Material) -> str:
        return f"{theme['respondents']} av {m.respondents}"

    def draft(self, m: Material) -> Draft:
        cfg = self.cfg
        d = Draft(title=cfg["title"], respondents=m.respondents)
        kinds = {t["id"]: self._theme_kind(t, m) for t in m.themes}
        main = [t for t in m.themes if kinds[t["id"]] == "theme"]
        wishes = [t for t in m.themes if kinds[t["id"]] == "wish"]
        nothing = [t for t in m.themes if kinds[t["id"]] == "nothing"]
        shown = main[: cfg["max_theme_paragraphs"]]
        rest = main[cfg["max_theme_paragraphs"]:]

        # opening: the strongest themes
        top = shown[:3]
        if top:
            text = _pick([
                "Totalt har {N} deltagare lämnat fritextsvar som ingår i sammanställningen. Det som återkommer oftast är {top}.",
                "Sammanställningen bygger på fritextsvar från {N} deltagare. Tydligast framträder {top}.",
                "{N} deltagare har svarat med egna ord. De teman som flest tar upp är {top}.",
            ], "opening").format(N=m.respondents, top=_and_list([_label(t) for t in top]))
            text += f" Svaren har förts till {len(m.themes)} teman; ett svar kan höra till flera."
            d.paragraphs.append(Paragraph("opening", text, [t["representative"][0] for t in top if t.get("representative")]))

        # one paragraph per theme, by weight
        previous = None
        for t in shown:
            prev = prevalence(t["share"], cfg)
            first = _pick([
                "{Prev} ({count}) tar upp {label}.",
                "{Label} återkommer hos {prev} ({count}).",
                "För {prev} – {count} – handlar svaren om {label}.",
                "{Label} nämns av {prev} ({count}).",
                "Ett tema som {prev} lyfter fram är {label} ({count}).",
            ], t["id"], avoid=previous)
            previous = first
            sentences = [first.format(Prev=_cap(prev), prev=prev, count=self._count(t, m),
                                      label=_label(t), Label=_cap(_label(t)))]
            kw = [k for k in t.get("keywords", []) if " " not in k and k.lower() not in t["label"].lower()][:3]
            if len(kw) >= 2:
                sentences.append(_pick([
                    "I svaren återkommer ord som {kw}.",
                    "Det handlar bland annat om {kw}.",
                    "Ord som går igen är {kw}.",
                ], t["id"] + "kw").format(kw=_and_list(kw)))
            quotes = self._quotes(t, m, 2)
            cited = [sid for sid, _, _ in quotes] or t.get("representative", [])[:1]
            if quotes:
                sid, q, seg = quotes[0]
                sentences.append(_pick([
                    "{Voice} skriver: ”{q}”",
                    "Som {voice} uttrycker det: ”{q}”",
                    "”{qc}”, skriver {voice}.",
                ], t["id"] + "q").format(Voice=_cap(_voice(seg)), voice=_voice(seg), q=q, qc=q.rstrip(".")))
            if len(quotes) > 1 and t["respondents"] >= 6:
                sid, q, seg = quotes[1]
                sentences.append(_pick(["En annan beskriver det så här: ”{q}”", "Någon annan skriver: ”{q}”"],
                                       t["id"] + "q2").format(q=q))
            group = self._group_note(t, m)
            if group:
                sentences.append(group)
            d.paragraphs.append(Paragraph("theme", " ".join(sentences), cited, t["id"]))

        if rest:
            names = _and_list([f"{_label(t)} ({t['respondents']})" for t in rest])
            d.paragraphs.append(Paragraph("others", f"Därutöver nämns {names}.",
                                          [t["representative"][0] for t in rest if t.get("representative")]))

        # what participants wish were different
        if wishes or nothing:
            sentences, cited = [], []
            if nothing:
                n_nothing = sum(t["respondents"] for t in nothing)
                share = n_nothing / m.respondents if m.respondents else 0
                sentences.append(f"När deltagarna beskriver vad som kunde vara annorlunda svarar {prevalence(share, cfg)} "
                                 f"({n_nothing} av {m.respondents}) att inget behöver ändras eller att de är nöjda.")
                cited += [t["representative"][0] for t in nothing if t.get("representative")]
            if wishes:
                opener = "Samtidigt finns önskemål" if nothing else "Deltagarna har också önskemål"
                sentences.append(f"{opener}: " + _and_list([f"{_label(t)} ({t['respondents']})" for t in wishes]) + ".")
                for k, t in enumerate(wishes[:2]):
                    quotes = self._quotes(t, m, 1)
                    if quotes:
                        sid, q, seg = quotes[0]
                        forms = (["{Voice} skriver: ”{q}”", "”{qc}”, skriver {voice}."] if k == 0
                                 else ["En annan skriver: ”{q}”", "Någon annan skriver: ”{q}”"])
                        sentences.append(_pick(forms, t["id"] + "w")
                                         .format(Voice=_cap(_voice(seg)), voice=_voice(seg), q=q, qc=q.rstrip(".")))
                        cited.append(sid)
            d.paragraphs.append(Paragraph("wishes", " ".join(sentences), cited))

        # avslut vs pågående
        forms = self._forms(m, main + wishes)
        if forms:
            d.paragraphs.append(forms)
        return d

    def _group_note(self, t: dict, m: Material) -> str | None:
        teams = t.get("groups", {}).get("team", {})
        totals = m.group_totals.get("team", {})
        if len(totals) < 2 or not teams:
            return None
        rates = {team: teams.get(team, 0) / n for team, n in totals.items() if n >= 5}
        if not rates:
            return None
        top = max(rates, key=lambda k: (rates[k], k))
        overall = t["respondents"] / m.respondents if m.respondents else 0
        if rates[top] >= overall + 0.1 and teams.get(top, 0) >= 3:
            return f"Temat är vanligast i team {top}, där {teams[top]} av {totals[top]} svarande tar upp det."
        return None

    def _forms(self, m: Material, themes: list[dict]) -> Paragraph | None:
        totals = m.group_totals.get("form", {})
        if not {"avslut", "pågående"} <= set(totals):
            return None
        n_a, n_p = totals["avslut"], totals["pågående"]
        diffs = []
        for t in themes:
            f = t.get("groups", {}).get("form", {})
            a, p = f.get("avslut", 0), f.get("pågående", 0)
            diffs.append((a / n_a - p / n_p, t, a, p))
        if not diffs:
            return None
        more_a = max(diffs, key=lambda x: (x[0], x[1]["id"]))
        more_p = min(diffs, key=lambda x: (x[0], x[1]["id"]))
        sentences, cited = [], []
        if more_a[0] >= 0.05 and more_a[2] >= 3:
            _, t, a, p = more_a
            sentences.append(f"Bland dem som har avslutat insatsen ({n_a} svarande) tar {a} upp {_label(t)}, "
                             f"jämfört med {p} av {n_p} bland dem som fortfarande deltar.")
            quotes = self._quotes(t, m, 1, form="avslut")
            if quotes:
                sid, q, seg = quotes[0]
                sentences.append(f"En av dem som avslutat skriver: ”{q}”")
                cited.append(sid)
            cited += t.get("representative", [])[:1]
        if more_p[0] <= -0.05 and more_p[3] >= 3 and more_p[1]["id"] != more_a[1]["id"]:
            _, t, a, p = more_p
            sentences.append(f"De som fortfarande deltar nämner oftare {_label(t)} ({p} av {n_p}, mot {a} av {n_a} "
                             f"bland dem som avslutat).")
            cited += t.get("representative", [])[:1]
        if not sentences:
            sentences.append(f"Svaren från dem som har avslutat insatsen ({n_a}) och dem som fortfarande deltar ({n_p}) "
                             "fördelar sig i stort sett lika över temana.")
            cited += [t["representative"][0] for t in themes[:2] if t.get("representative")]
        return Paragraph("forms", " ".join(sentences), list(dict.fromkeys(cited)))


# -- grounding ----------------------------------------------------------------------------------

def verify(draft: Draft, m: Material) -> None:
    """Every paragraph cites segments that exist; every ”quote” occurs verbatim in one of the
    cited segments (or their documents). Raises DraftError naming the paragraph."""
    for k, p in enumerate(draft.paragraphs, start=1):
        if not p.segment_ids:
            raise DraftError(f"Utkastet stoppades: stycke {k} ({p.kind}) anger inga källor (segment-id).")
        unknown = [s for s in p.segment_ids if s not in m.segments]
        if unknown:
            raise DraftError(f"Utkastet stoppades: stycke {k} ({p.kind}) hänvisar till okända segment: {', '.join(unknown[:5])}.")
        sources = [m.segments[s]["text"] for s in p.segment_ids]
        for q_no, match in enumerate(QUOTE.finditer(p.text), start=1):
            quoted = " ".join(match.group(1).split())
            if not any(quoted in " ".join(t.split()) for t in sources):
                raise DraftError(f"Utkastet stoppades: stycke {k} ({p.kind}), citat {q_no}, finns inte ordagrant "
                                 f"i de segment stycket hänvisar till.")


def run(store: Store, cfg: dict, study_dir: Path, drafter=None) -> Draft:
    """Draft, verify, and save DIR/out/draft.json."""
    material = load_material(store)
    drafter = drafter or make_drafter(cfg)
    draft = drafter.draft(material)
    verify(draft, material)
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
    return TemplateDrafter(dcfg)
