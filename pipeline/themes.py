"""Themes stage: load the segments of the themed kinds (answers, quotes, interview passages),
embed them (cached by model and text), fit the theme model (pipeline.theme_model: codebook
placements, inductive clustering, concept names, representation) and persist the result —
the store, DIR/out/themes.json and codebook.yaml — so that the next run honours the user's
edits. Deterministic: the same input and settings give the same themes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import codebook as cb
from . import concepts as lexicon
from . import counts
from .embed import embed_texts, make_embedder
from .errors import StudyError
from .store import Store
from .theme import Theme
from .theme_model import ThemeFit, ThemeModel, Units
from .voice import judge_documents

__all__ = ["run", "load_units", "Units", "ThemeResult", "THEMES_FORMAT"]

# out/themes.json: "themes" (each with "quotes": its representative segments in full, and
# "segments": every member with document, start/end, text, score, how), "unassigned",
# "documents" (source, locator, attributes: once per document, not per segment), "counts",
# "group_totals", "settings". Version 1 repeated source and attributes in every segment.
THEMES_FORMAT = "narrativ-themes/2"


def load_units(store: Store, kinds: list[str], exclude: set[str], cfg: dict | None = None) -> Units:
    attrs = store.attributes()
    names = counts.names_in(attrs.values())          # one name per team: "FNS" is "… (FNS)"
    attrs = {d: counts.canonical(a, names) for d, a in attrs.items()}
    voice = judge_documents(store, cfg) if cfg is not None else {}
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
        u.voice.append(voice.get(g["document_id"], (g["kind"] == "answer", ""))[0])
        u.documents.append(g["document_id"])
        u.spans.append((g["start_char"], g["end_char"]))
    return u


@dataclass
class ThemeResult:
    themes: list[Theme]
    unassigned: list[str]
    excluded: list[str]
    embedded: int
    segments: int
    respondents: int
    inductive_k: int | None
    stale: list[str]
    coverage: dict = None


def model_from_config(cfg: dict) -> ThemeModel:
    return ThemeModel(cfg["themes"], cfg["concepts"], lexicon.load(cfg["concepts"]["lexicon"] or None),
                      cfg["draft"]["wish_question"], cfg["draft"]["nothing_markers"])


def run(store: Store, cfg: dict, study_dir: Path, rediscover: bool = False, embedder=None) -> ThemeResult:
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tcfg = cfg["themes"]
    book_path = Path(study_dir) / cb.CODEBOOK_FILE
    book = cb.load(book_path) or cb.Codebook()
    units = load_units(store, tcfg["kinds"], set(book.exclude_segments), cfg)
    if not units.ids:
        raise StudyError(f"{study_dir}: inga segment att tematisera; kör 'narrativ ingest' först")
    stale = _stale(book, store, units, rediscover)
    embedder = embedder or make_embedder(cfg)
    X, n_new = embed_texts(store, embedder, units.texts, cfg["embed"]["batch_size"])

    def embed(phrases: list[str]) -> np.ndarray:
        return embed_texts(store, embedder, phrases)[0]

    previous = {sid: tid for sid, (tid, _s, _h) in store.assignments().items()}
    # segments left without a theme last time stay so on a re-run (None), until --rediscover
    previous.update({sid: None for sid in json.loads(store.get_meta("themes_unassigned") or "[]") if sid not in previous})
    fit = model_from_config(cfg).fit(units, X, book, previous, embed, rediscover=rediscover,
                                     keywords=cached_keywords(store))
    _persist(store, cfg, Path(study_dir), book, fit, units, embedder, n_new)
    store.log_run("themes", "ok", {"segments": len(units.ids), "themes": len(fit.themes),
                                   "unassigned": len(fit.unassigned), "newly_embedded": n_new,
                                   "stale_placements": len(stale),
                                   "inductive_k": fit.inductive_k}, started=started)
    return ThemeResult(fit.themes, fit.unassigned, fit.excluded, n_new, len(units.ids), fit.respondents,
                       fit.inductive_k, stale, fit.coverage)


def cached_keywords(store: Store):
    """represent.keywords, remembered in the store for the last membership: a re-run after a
    rename, a pin or an edit that moves nothing counts no words again (4 s at 10,000
    respondents). The key is every (theme, text) pair in order, and the stop words."""
    import hashlib

    from . import represent

    def keywords(texts: list[str], labels: list[int], stop_words: list[str]) -> dict[int, list[str]]:
        h = hashlib.sha256(json.dumps([represent.KEYWORDS_VERSION, sorted(stop_words)], ensure_ascii=False).encode())
        for text, label in zip(texts, labels):
            h.update(f"{label}\x1f{text}\x1e".encode())
        key = h.hexdigest()
        saved = store.get_meta("keywords_cache")
        if saved:
            data = json.loads(saved)
            if data.get("key") == key:
                return {int(k): v for k, v in data["words"].items()}
        words = represent.keywords(texts, labels, stop_words)
        store.set_meta("keywords_cache", json.dumps({"key": key, "words": words}, ensure_ascii=False))
        return words
    return keywords


def _stale(book: cb.Codebook, store: Store, units: Units, rediscover: bool) -> list[str]:
    """Pins, moves and exclusions that no longer apply (the segment's text changed or is gone,
    it is not themed, or --rediscover forgets its theme): said, never dropped silently."""
    segments = store.segment_ids()
    documents = {d["id"] for d in store.documents()}
    return cb.stale_references(book, segments, documents, set(units.ids), rediscover)


def _persist(store: Store, cfg: dict, study_dir: Path, book: cb.Codebook, fit: ThemeFit, units: Units,
             embedder, n_new: int) -> None:
    tcfg = cfg["themes"]
    n = len(units.ids)
    summary = {"segments": n, "respondents": fit.respondents, "participants": fit.voice_respondents,
               "unassigned": len(fit.unassigned), "excluded": len(fit.excluded), "group_totals": fit.group_totals,
               "coverage": fit.coverage,
               # the base every output counts on (pipeline.counts): participants per group
               "participant_group_totals": counts.participant_groups(range(n), units, tcfg["group_by"])}
    rows = [(units.ids[i], fit.assigned[i], fit.scores[i], fit.how[i]) for i in range(n)
            if fit.assigned[i] is not None]
    records = [t.to_dict() for t in fit.themes]
    store.replace_themes(records, rows, counts=summary)
    store.set_meta("themes_unassigned", json.dumps(fit.unassigned))
    from .study import fingerprint          # what these themes are made from (Study.freshness)
    store.set_meta("themes_input", json.dumps({"hash": fingerprint(units.ids),
                                               "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                               "sources": sorted({s["name"] for s in store.sources()})},
                                              ensure_ascii=False))
    out_dir = study_dir / "out"
    out_dir.mkdir(exist_ok=True)
    index = {sid: i for i, sid in enumerate(units.ids)}

    def segment(sid, full=False):
        """A segment as themes.json lists it: its document (source, locator and attributes
        are given once per document, under "documents"), its characters in that document,
        its text; a theme's quotes also carry source and attributes."""
        i = index[sid]
        out = {"segment_id": sid, "document": units.documents[i], "start": units.spans[i][0],
               "end": units.spans[i][1], "text": units.texts[i],
               "score": None if fit.scores[i] is None else round(fit.scores[i], 4), "how": fit.how[i],
               "participant_voice": units.voice[i]}
        if full:
            out.update(source=units.sources[i], locator=units.locators[i], attributes=units.attributes[i])
        return out

    documents = {}
    for i, d in enumerate(units.documents):
        if d not in documents:
            documents[d] = {"source": units.sources[i], "locator": units.locators[i], "attributes": units.attributes[i]}
    payload = {
        "format": THEMES_FORMAT,
        # a theme's members are its "segments" (its record's segment_ids, not written twice)
        "themes": [{**{k: v for k, v in r.items() if k != "segment_ids"},
                    "quotes": [segment(s, full=True) for s in t.representative],
                    "segments": [segment(s) for s in t.segment_ids]} for t, r in zip(fit.themes, records)],
        "unassigned": [{k: v for k, v in segment(s).items() if k in ("segment_id", "document", "start", "end", "text")}
                       for s in fit.unassigned],
        "documents": documents,
        "counts": {"segments": n, "respondents": fit.respondents, "participants": fit.voice_respondents,
                   "themes": len(fit.themes), "unassigned": len(fit.unassigned), "excluded": len(fit.excluded),
                   "newly_embedded": n_new, "inductive_k": fit.inductive_k, "coverage": fit.coverage},
        "group_totals": fit.group_totals,
        "participant_group_totals": summary["participant_group_totals"],
        "settings": {"embedding_model": embedder.model_id, **{k: tcfg[k] for k in
                     ("min_theme_size", "max_themes", "silhouette_tolerance", "assign_threshold")},
                     "concepts": cfg["concepts"]},
    }
    tmp = out_dir / "themes.json.tmp"
    # compact (no indentation: a third of the size at scale; `python -m json.tool` indents it),
    # and dumps, not dump: only dumps uses the C encoder (2.2 against 0.4 s at 10,000 respondents)
    tmp.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(out_dir / "themes.json")
    cb.save(study_dir / cb.CODEBOOK_FILE, _updated_codebook(book, fit))


def _updated_codebook(book: cb.Codebook, fit: ThemeFit) -> cb.Codebook:
    """The codebook to write back: every live or excluded theme with the user's fields kept,
    merged themes gone (recorded as merged_from), counts, keywords and the concept for
    information; narrativ's own labels marked as `auto_label` so that a rename is recognised."""
    merged: dict[str, list[str]] = {}
    for t in book.themes:
        if t.merge_into:
            merged.setdefault(fit.final[t.id], []).append(t.id)
    by_id = {th.id: th for th in fit.themes}
    new_book = cb.Codebook(moves=book.moves, exclude_segments=book.exclude_segments)
    for tid, d in fit.defs:
        th = by_id.get(tid)
        if th is None and not d.exclude and not d.examples:
            continue                               # an inductive theme that lost all members
        info = {"kind": th.kind, **({"concept": th.concept} if th.concept else {}),
                "keywords": th.keywords[:8], "size": th.size, "respondents": th.respondents} if th else {}
        info.update({k: v for k, v in d.info.items() if k in cb.SHAPING_KEYS or k == "color"})
        if merged.get(tid):
            info["merged_from"] = sorted(set(info.get("merged_from", [])) | set(merged[tid]))
        label = th.label if th else d.label
        auto = None if (d.user_label or d.source == "codebook" or d.examples) else label
        new_book.themes.append(cb.CodebookTheme(
            id=tid, label=label, description=d.description, examples=d.examples, pinned=list(d.pinned),
            exclude=d.exclude, source=d.source, info=info, auto_label=auto))
    return new_book
