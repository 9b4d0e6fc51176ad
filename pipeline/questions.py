"""Research questions stage: for each question, the passages most relevant to it, grouped by
stakeholder group, and a short drafted answer per question and group that cites its passages
(same grounding check as the narrative). Writes DIR/out/questions.json through the privacy
gate.

Relevance: cosine similarity between the question and each passage (e5 embeddings, cached),
turned into a z-score over all passages for that question; a passage counts when it is at
least `min_z` above the average, the best `passages_per_group` per group.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import gate
from .grounding import Draft, Material, Paragraph, quote_of, verify
from .embed import embed_texts, make_embedder
from .errors import InputError, StudyError
from .groups import GroupRules
from .store import Store


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


def _answer(question: str, group: str, passages: list[dict], n_docs: int) -> Paragraph:
    if not passages:
        return Paragraph("answer", f"I intervjuerna med {group.lower()} berörs frågan inte tydligt.", [])
    text = (f"{group} ({n_docs} {'intervju' if n_docs == 1 else 'intervjuer'}): frågan berörs i "
            f"{len(passages)} avsnitt.")
    cited = []
    for k, p in enumerate(passages[:2]):
        quote = quote_of(p["text"], 220 if k == 0 else 160)
        if len(quote) >= 15:
            text += (" Tydligast: " if k == 0 else " Även: ") + f"”{quote}”"
        cited.append(p["segment_id"])
    return Paragraph("answer", text, cited)


def run(store: Store, cfg: dict, study_dir: Path, questions: list[str], embedder=None,
        allow_identifying: bool = False) -> list[dict]:
    qcfg = cfg["questions"]
    rules = GroupRules.from_config(cfg)
    attrs = store.attributes()
    segs = [g for g in store.segments() if g["kind"] in qcfg["kinds"]]
    if not segs:
        raise StudyError(f"{study_dir}: inga intervjuavsnitt att söka i (kinds = {qcfg['kinds']})")
    embedder = embedder or make_embedder(cfg)
    P, _ = embed_texts(store, embedder, [g["text"] for g in segs], cfg["embed"]["batch_size"])
    Q, _ = embed_texts(store, embedder, questions)
    groups = [rules.group(g["kind"], attrs.get(g["document_id"], {})) for g in segs]
    docs_per_group: dict[str, set] = defaultdict(set)
    for g, group in zip(segs, groups):
        docs_per_group[group].add(g["document_id"])
    material = Material([], {g["id"]: {"text": g["text"], "kind": g["kind"]} for g in segs}, 0, {})

    results = []
    for question, q in zip(questions, Q):
        sims = P @ q
        z = (sims - sims.mean()) / (sims.std() or 1.0)
        by_group: dict[str, list[int]] = defaultdict(list)
        for i in np.argsort(-z, kind="stable"):
            if z[i] < qcfg["min_z"]:
                break
            if len(by_group[groups[i]]) < qcfg["passages_per_group"]:
                by_group[groups[i]].append(int(i))
        low = question.lower()
        focus = [g for stem, gs in qcfg.get("focus", {}).items() if re.search(rf"\b{stem}\w{{0,4}}\b", low)
                 for g in gs if g in docs_per_group]
        focus = list(dict.fromkeys(focus))
        out_groups = {}
        for group in sorted(docs_per_group, key=lambda g: (g not in focus, focus.index(g) if g in focus else 0, g)):
            passages = [{"segment_id": segs[i]["id"], "text": segs[i]["text"],
                         "attributes": {**attrs.get(segs[i]["document_id"], {}), "grupp": group},
                         "source": segs[i]["source_name"], "locator": segs[i]["locator"],
                         "score": round(float(z[i]), 3)} for i in by_group.get(group, [])]
            answer = _answer(question, group, passages, len(docs_per_group[group]))
            if answer.segment_ids:
                verify(Draft("", [answer]), material)
            out_groups[group] = {"passages": passages,
                                 "answer": {"text": answer.text, "segment_ids": answer.segment_ids}}
        results.append({"question": question, "focus": focus, "groups": out_groups})

    items = [(p["segment_id"], p["text"]) for r in results for g in r["groups"].values() for p in g["passages"]]
    items += [(f"svar {k}", g["answer"]["text"]) for k, r in enumerate(results) for g in r["groups"].values()]
    gate.check(store, cfg, items, allow=allow_identifying, what="Frågeexporten")
    out = Path(study_dir) / "out"
    out.mkdir(exist_ok=True)
    (out / "questions.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    store.log_run("questions", "ok", {"questions": len(questions), "passages": len(segs)})
    return results
