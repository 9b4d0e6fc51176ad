"""Concepts: what a theme is about, in words a person would write — and the evidence for it.

A concept list (pipeline/data/begrepp.yaml for participants; data/samverkan.yaml for staff and
partners on samverkan; or your own file in `[concepts] lexicon`) lists concepts with a label, a
description, a third-person narrative phrase, example phrasings and cue words.

`ConceptTagger` decides which concepts a segment *carries*: a cue word of the concept that
stands in the right sense (`sense_ok`: a wish cue in a wish, a critique cue in critique, praise
not negated or wished for) and that the embedding does not contradict (z-score of the
segment's similarity to the concept among all concepts ≥ `cue_min_z`); similarity alone counts
only above an absolute floor (`segment_floor`, off by default: on real answers it was right for
15 % of what it would tag). Whether the list fits a material at all, and how themes are named
from what their members carry, is the theme model's (pipeline.theme_model); labels for themes
no concept fits are pipeline.labels'. Measured in tests/benchmarks/bench_truth.py.
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


def voice_of(path: str | Path | None = None) -> str:
    """Whose words the list is written for: "participants" (the default; begrepp.yaml) or
    "staff" (samverkan.yaml) — the list's top-level `voice`."""
    return _load(path)[2]


# Staff and partners speak of the participants in the third person and of their organisation as
# "vi"; participants write "jag". A segment with the first and none of the second is in staff voice.
STAFF_VOICE = re.compile(r"(?i)\b(deltagar\w*|ungdomar\w*|individ\w*|målgrupp\w*|brukar\w*|klient\w*|de arbetssökande"
                         r"|medarbetare|verksamhet\w*|vi (har|ser|arbetar|jobbar|kan|vill|gör|erbjuder|samarbetar|märker))\b")
FIRST_PERSON = re.compile(r"(?i)\b(jag|mig|min|mitt|mina)\b")


def staff_voiced(text: str) -> bool:
    return STAFF_VOICE.search(text) is not None and FIRST_PERSON.search(text) is None


def shipped_text(name: str = "begrepp") -> str:
    """The text of a lexicon shipped with narrativ ("begrepp": participants; "samverkan": staff
    and partners on samverkan)."""
    if name == "samverkan":
        return resources.files("pipeline").joinpath("data", "samverkan.yaml").read_text(encoding="utf-8")
    return resources.files("pipeline").joinpath("data", "begrepp.yaml").read_text(encoding="utf-8")


def background(lexicon: str = "") -> list[str]:
    """Sentences of other kinds than a concept list is written for (pipeline/data/bakgrund.txt).
    For the staff list ("samverkan") the staff sentences are left out and the participants'
    list's examples come in instead."""
    text = resources.files("pipeline").joinpath("data", "bakgrund.txt").read_text(encoding="utf-8")
    out, section = [], ""
    for line in (x.strip() for x in text.splitlines()):
        if line.startswith("## "):
            section = line[3:]
        elif line and not line.startswith("#") and not (lexicon == "samverkan" and section == "personal"):
            out.append(line)
    if lexicon == "samverkan":
        out += [p for c in load() for p in c.examples]
    return out


def _load(path) -> tuple[list[Concept], dict[str, list[str]], str]:
    import yaml
    if path == "none":
        return [], {}, "participants"
    if path == "samverkan":
        where, text = Path("pipeline/data/samverkan.yaml"), shipped_text("samverkan")
    elif path:
        where = Path(path)
        try:
            text = where.read_text(encoding="utf-8")
        except OSError as exc:
            raise StudyError(f"{where}: begreppslexikonet går inte att läsa ({exc.strerror})") from None
    else:
        where, text = Path("pipeline/data/begrepp.yaml"), shipped_text()
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
    voice = str(data.get("voice") or "participants")
    if voice not in ("participants", "staff"):
        raise StudyError(f"{where}: voice ska vara participants eller staff")
    return out, fam, voice


@dataclass(frozen=True)
class ConceptSettings:
    """[concepts] read once (see defaults.toml for what each means)."""
    lexicon: str = ""
    cue_min_z: float = 0.5
    segment_min_z: float = 2.0
    segment_floor: float = 1.0
    theme_min_share: float = 0.6
    own_theme_min_share: float = 0.03
    mixed_question: str = "(?i)betytt|varit bra|fungera|tycker du|upplev|positiv|nöjd"
    min_likeness: float = 0.6
    like_margin: float = 0.01

    @classmethod
    def of(cls, ccfg: dict) -> "ConceptSettings":
        return cls(**{k: ccfg[k] for k in cls.__dataclass_fields__ if k in ccfg})


# The sense a text is written in: a wish concept is carried only by a wish, a critique concept
# only by critique, praise only where the words are not negated or wished for.
WISH_WORDS = (r"önsk\w*|skulle (vilja|behöva|gärna|önska)|hade (varit|velat|behövt)|vore (bra|bättre|skönt|önskvärt)"
              r"|borde|bättre om|gärna (mer|fler)|mer av|vill ha|saknar|behövs|behöver (mer|fler)"
              r"|kan förbättras|förbättr\w*|ändra på")
WISH_STRONG = re.compile(r"(?i)\b(" + WISH_WORDS + ")")
# "det är viktigt att …" asks for something as often as it praises what is there ("det har varit
# viktigt att bryta isoleringen"): evidence for a wish, no reason to doubt praise
WISH = re.compile(r"(?i)\b(" + WISH_WORDS + r"|viktigt att|är viktigt|saknade|saknat|fler\b|mer\b|längre\b)")
CRITIQUE = re.compile(r"(?i)\b((inte|aldrig|ingen|inget|inga) (ens )?(\w+ ){0,2}(hjälp\w*|stöd\w*|bra|fungera\w*|lyssna\w*|förstå\w*|bry\w*|brydde|"
                      r"svar\w*|kontakt\w*|lett|leder|gett|ger|fått|får|tid|plats|vettig\w*|respekt\w*|träffa\w*|kalla\w*|ringt|hört|"
                      r"kontroll\w*|krav)|slutar (\w+ )?bry|(måste|får|fick|fått) vänta(?! in)|vänta, vänta|konstig\w*|lönlös\w*|tramsig\w*"
                      r"|förvaring\w*|stulen tid|glapp|substitut|galna?|orimlig\w*|onåd|kändes fel|är fel|var fel"
                      r"|avslag\w*|neka\w*|nekad\w*|skäll\w*|inkompetent\w*|utförsäkr\w*|överklag\w*|väntan|slåss|"
                      r"näbbar och klor|tråkig\w*|värsta|bakåt|avbr\w*|tvinga\w*|förnedr\w*|stressad\w*"
                      r"|oförskämd\w*|oförskämt|rättslös\w*|osynlig\w*|luft för|arg över|fejka\w*"
                      r"|(?<!mår )(?<!mådde )(?<!må )(?<!mått )dålig\w*|sämre|sämst|svår\w*|problem\w*|brist\w*|tyvärr|synd|jobbig\w*|krångl\w*|stressig\w*"
                      r"|för (lite|mycket|få|lång|länge|kort|trång\w*|styrt)|saknade|saknas|missnöjd\w*|besvik\w*|orättvis\w*"
                      r"|negativ\w*|rörig\w*|oklar\w*|otydlig\w*|kaos\w*|trång\w*|kritik\w*|oro\w*|krock\w*|hinder|hindr\w*"
                      r"|prioriteras bort|hänger på|för många|meningslös\w*|värdelös\w*|slöseri|förnedr\w*|kränk\w*|skandal\w*"
                      r"|katastrof\w*|fungerar inte|fungerade inte|struntar|skickas runt|bollas)")
NOTHING = re.compile(r"(?i)\b(saknar (ingenting|inget)|inget (att|jag vill) (ändra|förbättra)|ingenting (att|jag vill) (ändra|förbättra)"
                     r"|inget att klaga på|allt är bra som det är)")
NEGATION = re.compile(r"(?i)\b(inte|aldrig|ingen|inget|inga|utan|knappast|varken)\b")
WORD_AT = re.compile(r"\w+")
NEGATED_WORD = re.compile(r"(?i)lös[a-z]*$|^(o|icke)")
CLAUSE_BREAK = re.compile(r"[.!?;:,]|\bmen\b")
PART_BREAK = re.compile(r"[.!?;]|\bmen\b")
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s")


def sense_ok(kind: str, text: str, start: int, asked_wish: bool) -> bool:
    """Is a cue found at `start` in `text` evidence for a concept of this kind? A wish needs a
    wish (the answer to the wish question, or wish words); critique needs critical words; praise
    and outcomes need the cue's clause free of negation before it and its sentence free of critical
    words and not a wish."""
    if kind == "wish":
        return asked_wish or WISH.search(text) is not None
    if kind == "critique":
        return CRITIQUE.search(text) is not None
    if kind == "nothing":
        return asked_wish or NOTHING.search(text) is not None
    word = WORD_AT.match(text, start)
    if word and NEGATED_WORD.search(word.group()):
        return False                                   # "meningslösa", "hopplös"
    clause_start, clause_end = _around(CLAUSE_BREAK, text, start)
    if NEGATION.search(text, clause_start, start) or "?" in text[clause_end:clause_end + 1]:
        return False
    part_start, part_end = _around(PART_BREAK, text, start)
    if CRITIQUE.search(text[part_start:part_end]):
        return False                                   # "lönlösa praktiker": praise cue, critical words
    return asked_wish is False and WISH_STRONG.search(text, part_start, part_end) is None


def _around(breaks: re.Pattern, text: str, at: int) -> tuple[int, int]:
    """Where the stretch of `text` around position `at` between two breaks starts and ends."""
    start = max([m.end() for m in breaks.finditer(text, 0, at)] or [0])
    end = next((m.start() for m in breaks.finditer(text, at)), len(text))
    return start, end


class ConceptTagger:
    """Settings in __init__; `fit(concepts, embed, mean)` builds the prototypes; `tag(C, texts,
    allowed, wish)` returns, per segment, its main concept (or -1) and every concept it carries.

    A segment carries a concept only with evidence in its own words: a cue word of the concept
    in the right sense (`sense_ok`) whose concept the embedding does not contradict (z-score at
    least `cue_min_z`), or — without a cue — a similarity to the concept's prototype above an
    absolute floor (`segment_floor`, cosine of centred vectors) that also stands out (`min_z`).
    The main concept is the carried one with the highest z-score."""

    def __init__(self, min_z: float = 2.0, cue_min_z: float = 0.5, floor: float = 1.0):
        self.min_z = min_z
        self.cue_min_z = cue_min_z
        self.floor = floor

    def fit(self, concepts: list[Concept], embed, mean: np.ndarray) -> "ConceptTagger":
        """`embed`: list[str] -> raw unit vectors (the same model as the segments); `mean`: the
        corpus mean used to centre the segments."""
        from .vectors import centre
        self.concepts_ = concepts
        self.embed_, self.mean_ = embed, mean
        protos = [centre(embed(c.phrases()), mean).mean(axis=0) for c in concepts]
        self.P_ = unit_rows(np.vstack(protos)) if protos else np.zeros((0, len(mean)))
        self.cues_ = [re.compile(r"(?i)\b(?:" + "|".join(_cue(x) for x in c.cues) + ")") if c.cues else None
                      for c in concepts]
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

    def sensed(self, texts: list[str], hits: np.ndarray, wish: list[bool],
               answers: list[str] | None = None) -> np.ndarray:
        """The cue hits whose cue stands in the right sense (see `sense_ok`). Critique is judged
        on the whole answer a segment is part of (`answers`): "Jag har aldrig träffat min
        handläggare. Det är bara på pappret." names the authority in one sentence and the
        fault in the next."""
        out = hits.copy()
        for i, k in zip(*np.nonzero(hits)):
            kind = self.concepts_[k].kind
            text = answers[i] if (answers is not None and kind == "critique") else texts[i]
            out[i, k] = any(sense_ok(kind, text, m.start(), wish[i]) for m in self.cues_[k].finditer(texts[i]))
        return out

    def tag(self, C: np.ndarray, texts: list[str], allowed: list[set[str] | None],
            wish: list[bool] | None = None, answers: list[str] | None = None) -> tuple[np.ndarray, list[set[int]]]:
        """The main concept of every segment (-1: none carried) and every concept it carries.
        `allowed`: the kinds of concept each answer may carry (by its question; None: any);
        `wish`: whether each answers the wish question."""
        S = self.scores(C)
        n, k = S.shape
        if k == 0:
            return np.full(n, -1), [set() for _ in range(n)]
        wish = wish if wish is not None else [False] * n
        ok = self._allowed_matrix(allowed, k)
        Zm = np.where(ok, _zscores(S), -np.inf)
        sensed = self.sensed(texts, self.cue_matrix(texts), wish, answers) & ok
        cued = sensed & (Zm >= self.cue_min_z)
        cued |= self._by_sentence(texts, sensed & ~cued)
        similar = (S >= self.floor) & (Zm >= self.min_z)
        carried = cued | similar
        best = np.where(carried.any(axis=1), np.argmax(np.where(carried, Zm, -np.inf), axis=1), -1)
        return best, [set(map(int, np.flatnonzero(r))) for r in carried]

    def _by_sentence(self, texts: list[str], doubted: np.ndarray) -> np.ndarray:
        """A cue in an answer of several sentences: the embedding is asked about the sentence
        that holds it (a whole answer's vector speaks for all its sentences at once)."""
        from .vectors import centre
        out = np.zeros_like(doubted)
        cells = [(i, k, sent) for i, k in zip(*np.nonzero(doubted))
                 if len(sent := self._cue_sentence(texts[i], int(k))) < len(texts[i].strip())]
        if not cells:
            return out
        Z = _zscores(unit_rows(centre(self.embed_([c[2] for c in cells]), self.mean_)) @ self.P_.T)
        for (i, k, _), z in zip(cells, Z):
            out[i, k] = z[k] >= self.cue_min_z
        return out

    def _cue_sentence(self, text: str, k: int) -> str:
        m = self.cues_[k].search(text)
        start, end = _around(SENTENCE_BREAK, text, m.start()) if m else (0, len(text))
        return text[start:end + 1].strip()

    def _allowed_matrix(self, allowed: list[set[str] | None], k: int) -> np.ndarray:
        kinds = np.array([c.kind for c in self.concepts_])
        patterns: dict = {}
        ok = np.empty((len(allowed), k), dtype=bool)
        for i, a in enumerate(allowed):
            key = None if a is None else frozenset(a)
            if key not in patterns:
                patterns[key] = np.ones(k, dtype=bool) if a is None else np.isin(kinds, list(a))
            ok[i] = patterns[key]
        return ok


def _zscores(S: np.ndarray) -> np.ndarray:
    """How far each similarity stands out from the segment's similarities to all concepts."""
    return (S - S.mean(axis=1, keepdims=True)) / (S.std(axis=1, keepdims=True) + 1e-9)


def _cue(pattern: str) -> str:
    """A cue is a word beginning ("rutin" finds "rutinerna"); a cue of several words ends where
    its last word ends ("i grupp" is not "i grupprocessen")."""
    return pattern + r"(?!\w)" if " " in pattern and pattern[-1:].isalpha() else pattern


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
