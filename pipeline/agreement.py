"""Agreement between a human coder and narrativ's coding of the same segments.

The human codes a sample (`narrativ agreement --sample N` draws one) in a spreadsheet or in a
QDA tool, and `narrativ agreement --coded FILE` compares:

  * a spreadsheet (.xlsx or .csv) with a segment id column and either one column per theme
    (any mark — x, 1, ja — codes the row with that theme) or one or more columns named
    tema/teman/kod/koder/theme/code holding theme names (several per cell separated by ; , or |).
    Rows with nothing marked are taken as not yet coded; "inget tema" (a column, or the value
    "-") says that no theme fits;
  * a REFI-QDA project (.qdpx) coded in another tool: every coding not made by narrativ's user,
    on a selection covering at least half of a segment, codes that segment; documents without
    any such coding are taken as not coded. narrativ's codings are known by its user's guid or
    by the user name "narrativ" (QualCoder gives every user a new guid when it exports), and a
    code by the study's own theme id (the `narrativ-id:` its description keeps), our guid, or
    its name. The report says how many segments each coder coded; a project whose "human"
    coding is narrativ's own (nearly identical over nearly all narrativ's coded segments, with
    no coding known as narrativ's) is refused, and a coding identical to narrativ's is warned of.

A human theme is matched to narrativ's themes by theme id, label or concept id
(case-insensitive), so a coding made with concept ids (pipeline/data/begrepp.yaml) survives a
renaming of the themes. Machine themes that share a concept count as one. A human theme that
matches no machine theme stays in the comparison (narrativ never gave it).

Figures (multi-label: one yes/no decision per theme and segment, over the themes either coder
used in the sample): Cohen's kappa per theme (scikit-learn), percentage agreement per theme
and over all decisions, the share of segments given exactly the same themes, Krippendorff's
alpha (nominal, the `krippendorff` package) over all decisions, and the segments where the two
differ, the machine's most confident (highest similarity score) first.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import StudyError

ID_COLUMNS = ("segment_id", "segment-id", "segment id", "segment", "segmentid", "id")
# Without a segment id: the segment found by its file, position and text (a key that survives
# a re-ingest, where segment ids — which embed a hash of the file — may change).
KEY_COLUMNS = (("fil", "file", "källa", "source"), ("position", "locator"), ("text",))
PLACEHOLDER_ANY = re.compile(r"\[[A-ZÅÄÖ]+ \d+\]")
VALUE_COLUMN = re.compile(r"(?i)^(tema|teman|kod|koder|theme|themes|code|codes|kategori)\s*\d*$")
NONE_COLUMN = re.compile(r"(?i)^(inget tema|ingen kod|inget|none|no theme)$")
INFO_COLUMNS = {"text", "team", "form", "year", "år", "role", "roll", "site", "question", "fråga", "källa", "source",
                "position", "locator", "kommentar", "comment", "anteckning", "note", "svarande", "respondent",
                "fil", "file", "rad", "kolumn", "nyckel", "key", "kodare", "coder"}
NONE_VALUES = {"-", "–", "inget tema", "ingen kod", "none", "no theme"}
FALSE_MARKS = {"", "0", "0.0", "nej", "no", "false", "falskt", "-", "nan"}
SPLIT = re.compile(r"\s*[;|\n]\s*")


# -- matching human theme names to machine themes ---------------------------------------------

@dataclass
class Category:
    key: str                 # concept id, or theme id for a theme without concept, or the human's name
    label: str
    theme_ids: list[str]
    in_machine: bool = True


class Matcher:
    """Human theme names -> categories: by theme id, label or concept id (case-insensitive)."""

    def __init__(self, themes: list[dict], concepts=()):
        self.categories: dict[str, Category] = {}
        self.of_theme: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.concepts = {c.id: c.label for c in concepts}      # the lexicon: names of human-only concepts
        for t in themes:
            key = t.get("concept") or t["id"]
            cat = self.categories.setdefault(key, Category(key, t["label"], []))
            cat.theme_ids.append(t["id"])
            self.of_theme[t["id"]] = key
            for name in (t["id"], t["label"], t.get("concept")):
                if name:
                    self.names.setdefault(name.strip().casefold(), key)

    def match(self, name: str) -> str | None:
        name = str(name).strip()
        tries = [name]
        if ":" in name:
            head, tail = name.split(":", 1)
            tries += [head, tail]
        for t in tries:
            key = self.names.get(t.strip().casefold())
            if key:
                return key
        return None

    def category(self, name: str) -> str:
        """The category of a human name, adding a human-only one when nothing matches."""
        key = self.match(name)
        if key is None:
            key = str(name).strip()
            concept = next((cid for cid, label in self.concepts.items()
                            if key.casefold() in (cid.casefold(), label.casefold())), None)
            if concept:
                if concept not in self.categories:
                    self.categories[concept] = Category(concept, self.concepts[concept], [], in_machine=False)
                return concept
            found = next((k for k, c in self.categories.items() if not c.in_machine and k.casefold() == key.casefold()),
                         None)
            if found:
                return found
            self.categories[key] = Category(key, key, [], in_machine=False)
        return key


# -- reading the human coding -----------------------------------------------------------------

@dataclass
class HumanCoding:
    codes: dict[str, set[str]]                     # segment id -> category keys
    not_coded: int = 0                             # rows / documents left uncoded
    unknown_segments: list[str] = field(default_factory=list)
    source: str = ""
    coders: dict[str, int] = field(default_factory=dict)   # coder -> segments they coded
    ours: int = 0                                  # segments coded by narrativ in the file (not counted)
    warnings: list[str] = field(default_factory=list)


def _read_table(path: Path):
    import pandas as pd
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(path, dtype=str, keep_default_na=False)
        if suffix in (".csv", ".tsv", ".txt"):
            for enc in ("utf-8-sig", "cp1252"):
                try:
                    return pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python", encoding=enc)
                except UnicodeDecodeError:
                    continue
            raise StudyError(f"{path}: okänd teckenkodning (väntade UTF-8 eller Windows-1252)")
    except StudyError:
        raise
    except Exception as exc:        # pandas/openpyxl raise many kinds for a broken file
        raise StudyError(f"{path}: kalkylbladet går inte att läsa ({type(exc).__name__})") from None
    raise StudyError(f"{path}: okänt format '{suffix}'; väntade .xlsx, .csv eller .qdpx")


def segment_keys(store) -> dict[tuple, str]:
    """(file, position, text) -> segment id, and the same with placeholders made alike (a
    re-ingest may number [NAMN n] differently)."""
    out: dict[tuple, str] = {}
    for g in store.segments():
        out.setdefault((g["source_name"], g["locator"], g["text"]), g["id"])
        out.setdefault((g["source_name"], g["locator"], PLACEHOLDER_ANY.sub("[X]", g["text"])), g["id"])
    return out


def _holding(keys: dict[tuple, str], source: str, locator: str, text: str) -> str | None:
    """The segment at this place that holds the coded text: coded sentence by sentence, a short
    answer is one segment today ([segment] keep_whole_chars), and the codes of its sentences
    are the answer's."""
    text = str(text).strip()
    return next((sid for (f, pos, t), sid in keys.items() if f == source and pos == locator and text and text in t), None)


def _names(cell: str, matcher: Matcher) -> list[str]:
    """The theme names in one cell: split on ; | and new lines, and on commas unless the part
    is a name as it stands (labels may hold commas)."""
    if not cell or matcher.match(cell):
        return [cell] if cell else []
    out = []
    for part in SPLIT.split(cell):
        if "," in part and not matcher.match(part):
            out += [p.strip() for p in part.split(",") if p.strip()]
        elif part:
            out.append(part)
    return out


def read_table_coding(path: Path, matcher: Matcher, known: set[str], store=None) -> HumanCoding:
    frame = _read_table(path)
    cols = {str(c).strip().casefold(): c for c in frame.columns}
    id_col = next((cols[c] for c in ID_COLUMNS if c in cols), None)
    key_cols = [next((cols[c] for c in names if c in cols), None) for names in KEY_COLUMNS]
    if id_col is None and store is not None and all(key_cols):
        keys = segment_keys(store)
        frame["segment_id"] = [
            keys.get((r[key_cols[0]], r[key_cols[1]], r[key_cols[2]]))
            or keys.get((r[key_cols[0]], r[key_cols[1]], PLACEHOLDER_ANY.sub("[X]", r[key_cols[2]])))
            or _holding(keys, r[key_cols[0]], r[key_cols[1]], r[key_cols[2]])
            or f"{r[key_cols[0]]}, {r[key_cols[1]]}" for _, r in frame.iterrows()]
        id_col = "segment_id"
    if id_col is None:
        raise StudyError(f"{path}: ingen kolumn med segment-id (t.ex. 'segment_id') i första raden, och inte "
                         "heller kolumnerna fil, position och text")
    value_cols = [c for c in frame.columns if VALUE_COLUMN.match(str(c).strip())]
    none_cols = [c for c in frame.columns if NONE_COLUMN.match(str(c).strip())]
    theme_cols = [] if value_cols else [
        c for c in frame.columns
        if c != id_col and c not in none_cols and str(c).strip().casefold() not in INFO_COLUMNS
        and c not in key_cols
        and not str(c).startswith("Unnamed")]
    if not value_cols and not theme_cols:
        raise StudyError(f"{path}: inga temakolumner (en kolumn per tema, eller kolumnen 'teman')")
    out = HumanCoding({}, source=str(path))
    header_key = {c: matcher.category(str(c)) for c in theme_cols}
    for _, row in frame.iterrows():
        sid = str(row[id_col]).strip()
        if not sid:
            continue
        keys: set[str] = set()
        explicit_none = any(str(row[c]).strip().casefold() not in FALSE_MARKS for c in none_cols)
        for c in value_cols:
            for value in _names(str(row[c]).strip(), matcher):
                if not value or value.casefold() == "nan":
                    continue
                if value.casefold() in NONE_VALUES:
                    explicit_none = True
                else:
                    keys.add(matcher.category(value))
        for c in theme_cols:
            if str(row[c]).strip().casefold() not in FALSE_MARKS:
                keys.add(header_key[c])
        if not keys and not explicit_none:
            out.not_coded += 1
            continue
        if sid not in known:
            out.unknown_segments.append(sid)
            continue
        out.codes.setdefault(sid, set()).update(keys)
    out.coders = {path.name: sum(bool(v) for v in out.codes.values())}
    return out


def is_narrativ(user: str, users: dict[str, str]) -> bool:
    """Whether a coding is narrativ's own: by our user's guid, or by its name (a tool that
    re-exports a project, QualCoder among them, gives every user a new guid but keeps names)."""
    from . import qdpx
    return (user or "").strip("{}").lower() == qdpx.NARRATIV_USER or \
        (users.get(user) or "").strip().casefold() == qdpx.NARRATIV


def code_category(code, matcher: Matcher) -> str:
    """A project code -> a category: by the study's own theme id (the `narrativ-id:` in its
    description, which the tools keep), by our guid, else by its name (id, label or concept)."""
    from . import qdc, qdpx
    _desc, _examples, tid = qdc.parse_description(code.description)
    if tid in matcher.of_theme:
        return matcher.of_theme[tid]
    by_guid = {qdpx.guid("theme", t): t for t in matcher.of_theme}
    found = by_guid.get((code.guid or "").strip("{}").lower())
    return matcher.of_theme[found] if found else matcher.category(qdc.label_of(code.name, tid))


def read_project_coding(path: Path, matcher: Matcher, store) -> HumanCoding:
    from . import qdpx
    project = qdpx.read(path)
    known = qdpx.known_documents(store)
    segments_of: dict[str, list] = defaultdict(list)
    for g in store.segments():
        segments_of[g["document_id"]].append(g)
    out = HumanCoding({}, source=str(path))
    coded_by: dict[str, set[str]] = defaultdict(set)
    ours: set[str] = set()
    for src in project.sources:
        codings = [(sel, code, user) for sel in src.selections for code, user in sel.codings if code in project.codes]
        human = [(sel, code, user) for sel, code, user in codings if not is_narrativ(user, project.users)]
        doc_id = qdpx.document_id(src, known)
        segs = segments_of.get(doc_id, []) if doc_id else []
        ours.update(g["id"] for sel, _c, user in codings if is_narrativ(user, project.users) for g in _covered(sel, segs))
        if not human:
            out.not_coded += 1
            continue
        if doc_id is None:
            out.unknown_segments.append(src.name)
            continue
        for g in segs:
            out.codes.setdefault(g["id"], set())
        for sel, code_guid, user in human:
            key = code_category(project.codes[code_guid], matcher)
            for g in _covered(sel, segs):
                out.codes[g["id"]].add(key)
                coded_by[project.users.get(user) or user or "okänd kodare"].add(g["id"])
    out.coders, out.ours = {name: len(s) for name, s in sorted(coded_by.items())}, len(ours)
    if len(out.coders) > 1:
        out.warnings.append(f"{len(out.coders)} kodare i filen ({', '.join(out.coders)}): deras kodningar "
                            "räknas ihop som en kodare")
    return out


def _covered(sel, segs: list) -> list:
    """The segments a selection codes: those it covers at least half of."""
    return [g for g in segs
            if (min(sel.end, g["end_char"]) - max(sel.start, g["start_char"])) * 2 >= g["end_char"] - g["start_char"] > 0]


def read_coding(path: Path, store, matcher: Matcher) -> HumanCoding:
    path = Path(path)
    if not path.exists():
        raise StudyError(f"{path}: filen finns inte")
    if path.suffix.lower() == ".qdpx":
        return read_project_coding(path, matcher, store)
    return read_table_coding(path, matcher, {g["id"] for g in store.segments()}, store)


# -- the figures ------------------------------------------------------------------------------

@dataclass
class ThemeAgreement:
    key: str
    label: str
    in_machine: bool
    human: int               # segments the human gave this theme
    machine: int
    both: int
    agreement: float         # share of segments where both say the same (yes or no)
    kappa: float | None      # None: undefined (both coders constant)


@dataclass
class Disagreement:
    segment_id: str
    text: str
    human: list[str]
    machine: str | None
    score: float | None
    how: str | None


@dataclass
class AgreementReport:
    segments: int
    themes: list[ThemeAgreement]
    alpha: float | None
    agreement: float              # over all yes/no decisions
    exact: float                  # share of segments with exactly the same themes
    mean_kappa: float | None
    disagreements: list[Disagreement]
    not_coded: int
    unknown_segments: list[str]
    source: str = ""
    coders: dict[str, int] = field(default_factory=dict)    # coder -> segments they coded
    ours: int = 0                                           # narrativ's own coded segments in the file
    warnings: list[str] = field(default_factory=list)

    def kappas(self) -> dict[str, float | None]:
        return {t.key: t.kappa for t in self.themes}

    def format(self, top: int = 15) -> str:
        def f(x, pct=False):
            if x is None or (isinstance(x, float) and math.isnan(x)):
                return "–"
            return f"{x:.0%}" if pct else f"{x:.2f}"
        lines = [f"Överensstämmelse mellan kodaren ({self.source}) och narrativ: {self.segments} segment"]
        if self.coders:
            lines.append("  Kodat per kodare: " + "; ".join(f"{name} {n} segment" for name, n in self.coders.items())
                         + (f"; narrativ (egna kodningar i filen, jämförs inte med sig själva) {self.ours} segment"
                            if self.ours else ""))
        lines += [f"  VARNING: {w}" for w in self.warnings]
        if self.not_coded:
            lines.append(f"  ({self.not_coded} rader/dokument utan kodning räknades inte)")
        if self.unknown_segments:
            lines.append(f"  Okända segment-id (finns inte i studien): {len(self.unknown_segments)}, t.ex. "
                         + ", ".join(self.unknown_segments[:5]))
        lines.append(f"Krippendorffs alfa (alla ja/nej-beslut): {f(self.alpha)}   "
                     f"procentuell överensstämmelse: {f(self.agreement, True)}   "
                     f"samma teman i sin helhet: {f(self.exact, True)}   medel-kappa: {f(self.mean_kappa)}")
        lines.append(f"  {'kappa':>6} {'överens':>8} {'kodare':>7} {'narrativ':>9} {'båda':>5}  tema")
        for t in self.themes:
            note = "" if t.in_machine else "  (inget tema i narrativ)"
            lines.append(f"  {f(t.kappa):>6} {f(t.agreement, True):>8} {t.human:>7} {t.machine:>9} {t.both:>5}  "
                         f"{t.label} [{t.key}]{note}")
        if self.disagreements:
            lines.append(f"Oenigheter, narrativs säkraste först ({len(self.disagreements)}):")
            for d in self.disagreements[:top]:
                score = "–" if d.score is None else f"{d.score:.2f}"
                lines.append(f"  [{d.segment_id}] likhet {score}: narrativ {d.machine or '(inget tema)'}; "
                             f"kodaren {', '.join(d.human) or '(inget tema)'}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        from dataclasses import asdict
        return asdict(self)


def _kappa(h: np.ndarray, m: np.ndarray) -> float | None:
    from sklearn.metrics import cohen_kappa_score
    if len(set(h.tolist()) | set(m.tolist())) < 2:
        return None
    return float(cohen_kappa_score(h, m, labels=[0, 1]))


def compare(human: HumanCoding, store, matcher: Matcher) -> AgreementReport:
    import krippendorff
    if not human.codes:
        raise StudyError(f"{human.source}: inga kodade segment att jämföra"
                         + (f" ({len(human.unknown_segments)} okända segment-id)" if human.unknown_segments else ""))
    assignments = store.assignments()
    texts = {g["id"]: g["text"] for g in store.segments()}
    sids = sorted(human.codes)
    machine: dict[str, set[str]] = {}
    for sid in sids:
        tid = assignments.get(sid, (None,))[0]
        machine[sid] = {matcher.of_theme[tid]} if tid in matcher.of_theme else set()
    used = sorted({k for s in sids for k in human.codes[s] | machine[s]},
                  key=lambda k: (not matcher.categories[k].in_machine, list(matcher.categories).index(k)))
    H = np.array([[int(k in human.codes[s]) for k in used] for s in sids], dtype=int).reshape(len(sids), len(used))
    M = np.array([[int(k in machine[s]) for k in used] for s in sids], dtype=int).reshape(len(sids), len(used))
    rows = []
    for j, k in enumerate(used):
        c = matcher.categories[k]
        rows.append(ThemeAgreement(k, c.label, c.in_machine, int(H[:, j].sum()), int(M[:, j].sum()),
                                   int((H[:, j] & M[:, j]).sum()), float((H[:, j] == M[:, j]).mean()),
                                   _kappa(H[:, j], M[:, j])))
    alpha = None
    if H.size and len(set(H.ravel().tolist()) | set(M.ravel().tolist())) > 1:
        alpha = float(krippendorff.alpha(reliability_data=np.vstack([H.ravel(), M.ravel()]).astype(float),
                                         level_of_measurement="nominal"))
    defined = [t.kappa for t in rows if t.kappa is not None]
    label = {k: matcher.categories[k].label for k in matcher.categories}
    dis = []
    for s in sids:
        if human.codes[s] != machine[s]:
            tid, score, how = assignments.get(s, (None, None, None))
            dis.append(Disagreement(s, texts.get(s, ""), sorted(label[k] for k in human.codes[s]),
                                    label[matcher.of_theme[tid]] if tid in matcher.of_theme else None, score, how))
    dis.sort(key=lambda d: (-(d.score if d.score is not None else -math.inf), d.segment_id))
    return AgreementReport(
        segments=len(sids), themes=rows, alpha=alpha,
        agreement=float((H == M).mean()) if H.size else 1.0,
        exact=float(np.mean([human.codes[s] == machine[s] for s in sids])),
        mean_kappa=float(np.mean(defined)) if defined else None,
        disagreements=dis, not_coded=human.not_coded, unknown_segments=human.unknown_segments, source=human.source,
        coders=human.coders, ours=human.ours, warnings=human.warnings + _copy_warnings(human, machine, assignments, matcher))


COPY_SHARE = 0.95          # a "human" coding this close to narrativ's own, over (nearly) all of
COPY_COVER = 0.9           # narrativ's coded segments, is narrativ's coding under another name


def _copy_warnings(human: HumanCoding, machine: dict, assignments: dict, matcher: Matcher) -> list[str]:
    """Refuses a project whose "human" coding is narrativ's own (all of it, nearly unchanged,
    and no coding in the file known as narrativ's: the false near-perfect agreement of a
    re-exported project read as someone else's); warns when a coding is identical to narrativ's."""
    sids = list(human.codes)
    same = sum(human.codes[s] == machine[s] for s in sids)
    themed = sum(1 for tid, *_ in assignments.values() if tid in matcher.of_theme)
    copied = sids and same >= COPY_SHARE * len(sids) and len(sids) >= COPY_COVER * themed
    if copied and Path(human.source).suffix.lower() == ".qdpx" and not human.ours:
        raise StudyError(f"{human.source}: kodningen är i stort sett narrativs egen ({same} av {len(sids)} segment "
                         f"har exakt narrativs teman, och de täcker {len(sids)} av narrativs {themed} kodade segment); "
                         "det ser ut som narrativs kodningar under ett annat användarnamn. Koda ett urval med ett "
                         "eget kodarnamn (i QualCoder: Inställningar, kodarnamn) och jämför igen")
    if sids and same == len(sids):
        return [f"kodningen är identisk med narrativs i alla {same} segment: kontrollera att det är en egen "
                "kodning och inte en kopia av narrativs"]
    return []


def run(store, cfg: dict, study_dir: Path, coded: Path, allow_identifying: bool = False) -> AgreementReport:
    """Compare FILE with the latest themes; writes DIR/out/overensstammelse.json."""
    import json
    from . import gate
    from . import concepts
    themes = store.themes()
    if not themes:
        raise StudyError(f"{study_dir}: inga teman ännu; kör 'narrativ themes' först")
    matcher = Matcher(themes, concepts.load(cfg["concepts"]["lexicon"] or None))
    report = compare(read_coding(coded, store, matcher), store, matcher)
    gate.check(store, cfg, ((d.segment_id, d.text) for d in report.disagreements), allow=allow_identifying,
               what="Överensstämmelserapporten")
    out = Path(study_dir) / "out"
    out.mkdir(exist_ok=True)
    tmp = out / "overensstammelse.json.tmp"
    tmp.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(out / "overensstammelse.json")
    store.log_run("agreement", "ok", {"segments": report.segments, "themes": len(report.themes),
                                      "alpha": report.alpha, "file": Path(coded).name})
    return report


# -- a sample to code -------------------------------------------------------------------------

def draw_sample(store, cfg: dict, n: int, seed: int | None = None) -> list[dict]:
    """A stratified sample of the themed segments: strata are (machine theme, team); every
    stratum gets its proportional share (largest remainders), at least one while n allows,
    and segments are drawn at random (fixed seed: the same study gives the same sample)."""
    acfg = cfg.get("agreement", {})
    seed = acfg.get("seed", 13) if seed is None else seed
    kinds = set(cfg["themes"]["kinds"])
    attrs = store.attributes()
    assignments = store.assignments()
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for g in store.segments():
        if g["kind"] not in kinds:
            continue
        team = attrs.get(g["document_id"], {}).get("team", "")
        theme = assignments.get(g["id"], ("",))[0]
        strata[(theme, team)].append({"segment_id": g["id"], "text": g["text"], "team": team})
    if n < 1:
        raise StudyError("urvalet måste vara minst 1 segment")
    if not strata:
        raise StudyError(f"{store.dir}: inga segment att välja ur; kör 'narrativ ingest' först")
    keys = sorted(strata)
    sizes = np.array([len(strata[k]) for k in keys], dtype=float)
    n = min(n, int(sizes.sum()))
    quota = np.zeros(len(keys), dtype=int)
    if n >= len(keys):                            # one per stratum, the rest in proportion
        quota[:] = 1
        rest, spare = n - len(keys), sizes - 1
        if rest and spare.sum():
            exact = spare / spare.sum() * rest
            add = np.floor(exact).astype(int)
            for j in np.argsort(-(exact - add), kind="stable")[:rest - int(add.sum())]:
                add[j] += 1
            quota += np.minimum(add, spare.astype(int))
    else:                                         # fewer places than strata: the largest strata
        quota[np.argsort(-sizes, kind="stable")[:n]] = 1
    rng = np.random.default_rng(seed)
    picked = []
    for k, q in zip(keys, quota):
        members = strata[k]
        for i in sorted(rng.choice(len(members), size=min(int(q), len(members)), replace=False)):
            picked.append(members[i])
    order = rng.permutation(len(picked))               # mixed, so the coder sees no grouping
    return [picked[i] for i in order]


def write_sample(store, cfg: dict, study_dir: Path, n: int, path: Path | None = None,
                 allow_identifying: bool = False, seed: int | None = None) -> Path:
    """DIR/out/kodningsurval.xlsx: segment id, text, team, one empty column per theme, "inget
    tema" and a comment column. The machine's themes are not shown (code blind)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from . import gate
    themes = store.themes()
    if not themes:
        raise StudyError(f"{study_dir}: inga teman ännu; kör 'narrativ themes' först")
    rows = draw_sample(store, cfg, n, seed)
    gate.check(store, cfg, ((r["segment_id"], r["text"]) for r in rows), allow=allow_identifying,
               what="Kodningsurvalet")
    path = Path(path) if path else Path(study_dir) / "out" / "kodningsurval.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "Kodning"
    theme_cols = [f"{t['id']}: {t['label']}" for t in themes]
    ws.append(["segment_id", "text", "team", *theme_cols, "inget tema", "kommentar"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r in rows:
        ws.append([r["segment_id"], r["text"], r["team"], *[""] * len(theme_cols), "", ""])
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 70
    for row in ws.iter_rows(min_row=2, max_col=2, min_col=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "D2"
    help_ws = wb.create_sheet("Instruktion")
    for line in ("Läs varje segment och sätt ett x i kolumnen för varje tema som passar (ett segment kan ha flera).",
                 "Passar inget tema: x i 'inget tema'. Rader utan något x räknas som inte kodade.",
                 "Du kan också skriva temanamn, tema-id eller begrepps-id i en kolumn 'teman' (flera med ;).",
                 "Jämför sedan: narrativ agreement --study MAPP --coded DENNA_FIL"):
        help_ws.append([line])
    tmp = path.with_name(path.name + ".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)
    store.log_run("agreement-sample", "ok", {"segments": len(rows), "file": path.name})
    return path
