"""Themes stage: segments -> themes with their evidence.

1. Segments of the themed kinds (answers, quotes, interview passages) are embedded (cached)
   and centred.
2. Themes already in codebook.yaml come first: moved and pinned segments are placed as the
   user said; on a re-run segments keep the theme they had (merges and exclusions applied);
   other segments join a codebook theme when similar enough to its prototype (its examples
   and description, and its current members).
3. A theme marked `split: N` is re-clustered into N themes.
4. What is left is clustered inductively (BERTopic on the precomputed embeddings with our
   automatic-k clusterer): these are the new themes ("nya teman").
5. Clusters with fewer than `min_theme_size` respondents are folded into the nearest theme
   when close enough, otherwise their segments stay unassigned (counted and listed).
6. Keywords (c-TF-IDF over lemmas), labels, representative quotes, prevalence per respondent
   and counts per group; results to the store, DIR/out/themes.json and codebook.yaml.

Deterministic: the same input and settings give the same themes.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import codebook as cb
from . import represent
from .cluster import AutoKClusterer, centre
from .embed import embed_texts, make_embedder
from .errors import StudyError
from .store import Store


@dataclass
class Units:
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    respondents: list[str] = field(default_factory=list)
    attributes: list[dict] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    locators: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


def load_units(store: Store, kinds: list[str], exclude: set[str]) -> Units:
    attrs = store.attributes()
    u = Units()
    for g in store.segments():
        if g["kind"] not in kinds or g["id"] in exclude:
            continue
        u.ids.append(g["id"])
        u.texts.append(g["text"])
        u.respondents.append(g["respondent"])
        u.attributes.append(attrs.get(g["document_id"], {}))
        u.sources.append(g["source_name"])
        u.locators.append(g["locator"])
        u.kinds.append(g["kind"])
    return u


@dataclass
class ThemeResult:
    themes: list[dict]
    unassigned: list[str]
    excluded: list[str]
    embedded: int
    segments: int
    respondents: int
    inductive_k: int | None


def _group_counts(indices, units: Units, keys: list[str]) -> dict[str, dict[str, int]]:
    """Respondents per attribute value: {key: {value: respondents}}."""
    counts: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for i in indices:
        for key in keys:
            if key in units.attributes[i]:
                counts[key][units.attributes[i][key]].add(units.respondents[i])
    return {k: {v: len(r) for v, r in sorted(vals.items())} for k, vals in counts.items()}


def _updated_codebook(book: cb.Codebook, final: dict[str, str], defs: list[tuple[str, cb.CodebookTheme]],
                      themes: list[dict]) -> cb.Codebook:
    """The codebook to write back: every live or excluded theme with the user's fields kept,
    merged themes gone (recorded as merged_from), counts and keywords for information."""
    merged: dict[str, list[str]] = defaultdict(list)
    for t in book.themes:
        if t.merge_into:
            merged[final[t.id]].append(t.id)
    by_id = {th["id"]: th for th in themes}
    new_book = cb.Codebook(moves=book.moves, exclude_segments=book.exclude_segments)
    for tid, d in defs:
        th = by_id.get(tid)
        if th is None and not d.exclude and not d.examples:
            continue                               # an inductive theme that lost all members
        info = {"keywords": th["keywords"][:8], "size": th["size"], "respondents": th["respondents"]} if th else {}
        if merged.get(tid):
            info["merged_from"] = merged[tid]
        new_book.themes.append(cb.CodebookTheme(
            id=tid, label=th["label"] if th else d.label, description=d.description, examples=d.examples,
            pinned=list(d.pinned), exclude=d.exclude, source=d.source, info=info))
    return new_book


def _cluster(indices: list[int], units: Units, C: np.ndarray, embedder, tcfg: dict, k_max: int, new_theme) -> int:
    """Cluster `indices` (BERTopic with our automatic-k clusterer on the precomputed, centred
    embeddings) and make a new theme of each cluster. Identical texts ("Inget, allt har varit
    bra.") are clustered once: repeats would pull the silhouette towards one cluster per
    repeated sentence. Returns k."""
    key = lambda i: " ".join(units.texts[i].lower().split())   # noqa: E731
    first_of: dict[str, int] = {}
    for i in indices:
        first_of.setdefault(key(i), i)
    unique = sorted(first_of.values())
    clusterer = AutoKClusterer(k_max=k_max, tolerance=tcfg["silhouette_tolerance"], max_fit=tcfg["max_cluster_sample"])
    model = represent.bertopic_model(clusterer, tcfg["stop_words"], len(unique), embedder)
    topics, _ = model.fit_transform([units.texts[i] for i in unique], embeddings=C[unique])
    topic_of = {key(i): t for i, t in zip(unique, topics)}
    groups = defaultdict(list)
    for i in indices:
        groups[topic_of[key(i)]].append(i)
    for topic in sorted(groups, key=lambda t: (-len(groups[t]), min(groups[t]))):
        new_theme(groups[topic], "cluster")
    return clusterer.k_


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def _resolve_merges(book: cb.Codebook) -> dict[str, str]:
    themes = book.by_id()
    final = {}
    for tid in themes:
        seen, cur = [tid], tid
        while themes[cur].merge_into:
            cur = themes[cur].merge_into
            if cur in seen:
                raise StudyError(f"codebook.yaml: merge_into bildar en slinga: {' -> '.join(seen + [cur])}")
            seen.append(cur)
        final[tid] = cur
    return final


def run(store: Store, cfg: dict, study_dir: Path, rediscover: bool = False, embedder=None) -> ThemeResult:
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tcfg = cfg["themes"]
    book_path = Path(study_dir) / cb.CODEBOOK_FILE
    book = cb.load(book_path) or cb.Codebook()
    units = load_units(store, tcfg["kinds"], set(book.exclude_segments))
    n = len(units.ids)
    if n == 0:
        raise StudyError(f"{study_dir}: inga segment att tematisera; kör 'narrativ ingest' först")
    embedder = embedder or make_embedder(cfg)
    X, n_new = embed_texts(store, embedder, units.texts, cfg["embed"]["batch_size"])
    mean = X.mean(axis=0)
    C = centre(X, mean)
    index = {sid: i for i, sid in enumerate(units.ids)}
    threshold = tcfg["assign_threshold"]
    min_size = tcfg["min_theme_size"]

    if rediscover:      # start over: keep only the user's own codebook themes (with examples)
        book.themes = [t for t in book.themes if t.examples or t.source == "codebook"]
        book.themes = [t for t in book.themes if not t.merge_into or t.merge_into in {x.id for x in book.themes}]
    final = _resolve_merges(book)
    defs = {t.id: t for t in book.themes if not t.merge_into}       # themes that live on
    assigned: list[str | None] = [None] * n
    how: list[str] = [""] * n

    def put(i, tid, why):
        assigned[i], how[i] = tid, why

    # 1. the user's placements, then what each segment had last time
    for t in book.themes:
        for sid in t.pinned:
            if sid in index:
                put(index[sid], final[t.id], "pinned")
    for sid, tid in book.moves.items():
        if sid in index and final.get(tid) in defs:
            put(index[sid], final[tid], "moved")
    if not rediscover and book.themes:
        for sid, (tid, _score, _how) in sorted(store.assignments().items()):
            i = index.get(sid)
            if i is not None and assigned[i] is None and final.get(tid) in defs:
                put(i, final[tid], "kept")

    # 2. prototypes of the codebook's themes: examples + description, and current members
    def prototypes(theme_ids):
        protos = {}
        for tid in theme_ids:
            t = defs[tid]
            parts = []
            phrases = t.examples + ([t.description] if t.description and t.examples else [])
            if phrases:
                E, _ = embed_texts(store, embedder, phrases)
                parts.append(_unit(centre(E, mean).mean(axis=0)))
            members = [i for i in range(n) if assigned[i] == tid]
            if members:
                parts.append(_unit(C[members].mean(axis=0)))
            if parts:
                protos[tid] = _unit(np.mean(parts, axis=0))
        return protos

    protos = prototypes(sorted(defs))
    if protos:
        ids = sorted(protos)
        P = np.vstack([protos[t] for t in ids])
        S = C @ P.T
        for i in range(n):
            if assigned[i] is None:
                j = int(np.argmax(S[i]))
                if S[i, j] >= threshold:
                    put(i, ids[j], "codebook" if defs[ids[j]].examples else "similar")

    # 3. splits
    next_no = 1 + max([int(m.group(1)) for t in book.themes if (m := re.fullmatch(r"T(\d+)", t.id))] or [0])
    new_defs: dict[str, cb.CodebookTheme] = {}

    def new_theme(members, why):
        nonlocal next_no
        tid = f"T{next_no:02d}"
        next_no += 1
        new_defs[tid] = cb.CodebookTheme(id=tid, label="", source="inductive")
        for i in members:
            put(i, tid, why)
        return tid

    for tid, t in sorted(defs.items()):
        if t.split:
            members = [i for i in range(n) if assigned[i] == tid]
            if len(members) >= 2 * t.split:
                from sklearn.cluster import AgglomerativeClustering
                labels = AgglomerativeClustering(n_clusters=t.split, linkage="ward").fit_predict(C[members])
                for c in sorted(set(labels), key=lambda c: -list(labels).count(c)):
                    new_theme([m for m, l in zip(members, labels) if l == c], "split")
                del defs[tid]

    # 4. inductive themes from what is left; answers to different survey questions ("Vad har
    #    varit bra?" / "Vad kunde bli bättre?") are clustered apart, so praise and wishes do not
    #    end up in one theme
    left = [i for i in range(n) if assigned[i] is None]
    parts: dict[str, list[int]] = defaultdict(list)
    for i in left:
        parts[units.attributes[i].get("question", "") if tcfg["separate_questions"] else ""].append(i)
    inductive_k = None
    skipped: list[int] = []
    for part_key in sorted(parts):
        part = parts[part_key]
        if len(set(units.respondents[i] for i in part)) < 2 * min_size:
            skipped += part
            continue
        k_max = max(3, round(tcfg["max_themes"] * len(part) / len(left)))
        k = _cluster(part, units, C, embedder, tcfg, k_max, new_theme)
        inductive_k = (inductive_k or 0) + k

    # 5. fold themes that are too small (in respondents), and segments of parts too small to
    #    cluster, into the nearest theme when close enough; otherwise they stay unassigned
    def respondents_of(tid):
        return {units.respondents[i] for i in range(n) if assigned[i] == tid}

    small = [tid for tid in new_defs if len(respondents_of(tid)) < min_size]
    to_fold = [i for i in range(n) if assigned[i] in small] + skipped
    for tid in small:
        del new_defs[tid]
    if to_fold:
        keep_ids = [t for t in list(defs) + list(new_defs) if not (t in defs and defs[t].exclude)]
        cents = {t: _unit(C[[i for i in range(n) if assigned[i] == t]].mean(axis=0)) for t in keep_ids
                 if any(a == t for a in assigned)}
        for i in to_fold:
            best = max(cents, key=lambda t: float(C[i] @ cents[t]), default=None)
            if best is not None and float(C[i] @ cents[best]) >= threshold:
                put(i, best, "folded")
            else:
                put(i, None, "")

    # 6. representation
    all_defs = {**defs, **new_defs}
    live = [t for t in all_defs if not all_defs[t].exclude and any(a == t for a in assigned)]
    members = {t: [i for i in range(n) if assigned[i] == t] for t in live}
    centroids = {t: _unit(C[members[t]].mean(axis=0)) for t in live}
    order = {t: k for k, t in enumerate(live)}
    labelled = [i for i in range(n) if assigned[i] in order]
    words = represent.keywords([units.texts[i] for i in labelled], [order[assigned[i]] for i in labelled],
                               C[labelled], tcfg["stop_words"], embedder)
    total_resp = len(set(units.respondents))
    group_keys = tcfg["group_by"]
    group_totals = _group_counts(range(n), units, group_keys)

    themes = []
    for t in live:
        d = all_defs[t]
        idx = members[t]
        scores = np.zeros(n)
        scores[idx] = C[idx] @ centroids[t]
        kw = words.get(order[t], [])
        pinned = [index[s] for s in d.pinned if s in index]
        reps = represent.representatives(idx, scores, X, units.texts, units.respondents,
                                         tcfg["representatives"], pinned)
        groups = _group_counts(idx, units, group_keys)
        resp = {units.respondents[i] for i in idx}
        themes.append({
            "id": t,
            "label": d.label or represent.make_label(kw, units.texts[reps[0]] if reps else ""),
            "description": d.description,
            "source": d.source,
            "keywords": kw[:10],
            "size": len(idx),
            "respondents": len(resp),
            "share": round(len(resp) / total_resp, 4),
            "representative": [units.ids[i] for i in reps],
            "groups": groups,
            "segments": [{"segment_id": units.ids[i], "text": units.texts[i], "source": units.sources[i],
                          "locator": units.locators[i], "attributes": units.attributes[i],
                          "score": round(float(scores[i]), 4), "how": how[i]}
                         for i in sorted(idx, key=lambda i: (-scores[i], i))],
        })
    themes.sort(key=lambda th: (-th["respondents"], -th["size"], th["id"]))
    excluded_ids = {t for t, d in all_defs.items() if d.exclude}
    unassigned = [units.ids[i] for i in range(n) if assigned[i] is None]
    excluded = [units.ids[i] for i in range(n) if assigned[i] in excluded_ids]

    # 7. persist: store, themes.json, codebook.yaml
    rows = [(units.ids[i], assigned[i], float(C[i] @ centroids[assigned[i]]) if assigned[i] in centroids else None, how[i])
            for i in range(n) if assigned[i] is not None]
    store.replace_themes([{**{k: v for k, v in th.items() if k != "segments"},
                           "segment_ids": [x["segment_id"] for x in th["segments"]]} for th in themes], rows,
                         counts={"segments": n, "respondents": total_resp, "unassigned": len(unassigned),
                                 "excluded": len(excluded), "group_totals": group_totals})
    out_dir = Path(study_dir) / "out"
    out_dir.mkdir(exist_ok=True)
    payload = {
        "themes": themes,
        "unassigned": [{"segment_id": units.ids[i], "text": units.texts[i], "source": units.sources[i],
                        "attributes": units.attributes[i]} for i in range(n) if assigned[i] is None],
        "counts": {"segments": n, "respondents": total_resp, "themes": len(themes),
                   "unassigned": len(unassigned), "excluded": len(excluded), "newly_embedded": n_new,
                   "inductive_k": inductive_k},
        "group_totals": group_totals,
        "settings": {"embedding_model": embedder.model_id, **{k: tcfg[k] for k in
                     ("min_theme_size", "max_themes", "silhouette_tolerance", "assign_threshold")}},
    }
    tmp = out_dir / "themes.json.tmp"
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(out_dir / "themes.json")

    new_book = _updated_codebook(book, final, list(defs.items()) + list(new_defs.items()), themes)
    cb.save(book_path, new_book)
    store.log_run("themes", "ok", {"segments": n, "themes": len(themes), "unassigned": len(unassigned),
                                   "newly_embedded": n_new, "inductive_k": inductive_k}, started=started)
    return ThemeResult(themes, unassigned, excluded, n_new, n, total_resp, inductive_k)
