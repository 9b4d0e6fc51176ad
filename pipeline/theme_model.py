"""The theme model: segments' vectors + the codebook -> themes with their evidence. No I/O: the
caller (pipeline.themes) loads the units, embeds them and persists the result; phrases that
must be embedded here (codebook examples, concepts) go through the `embed` function it passes.

Steps of `ThemeModel.fit`:
1. the user's placements (pins, moves), then what each segment had on the last run;
2. codebook themes attract segments by similarity to their prototype (examples + description
   + current members);
3. a theme marked `split: N` is re-clustered into N themes;
4. what is left is clustered inductively (our automatic-k clusterer on the centred vectors —
   the clustering part BERTopic would call; see `_cluster`), the answers to each survey
   question apart;
5. every segment is tagged with the concept of the lexicon it is about, if one stands out
   (pipeline.concepts); an inductive theme is named by the concept most of its respondents
   speak about, two themes named by one concept become one, and segments about a concept join
   the theme named by it (a concept enough respondents speak about gets a theme of its own);
   a theme no concept fits is a *new* theme, named by its most central short clause;
6. themes with fewer than `min_theme_size` respondents are folded into the nearest theme when
   close enough, otherwise their segments are left unassigned;
7. keywords (c-TF-IDF over lemmas), representative quotes, prevalence per respondent, counts
   per group, and the concepts each theme's members mention.

Deterministic: the same input and settings give the same themes.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from . import codebook as cb
from . import represent
from .cluster import AutoKClusterer
from .concepts import Concept, ConceptTagger, clause_label
from .errors import StudyError
from .theme import ConceptMention, Theme
from .vectors import centre, unit


@dataclass
class Units:
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    respondents: list[str] = field(default_factory=list)
    attributes: list[dict] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    locators: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    voice: list[bool] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)      # characters in the document


@dataclass
class ThemeFit:
    themes: list[Theme]
    assigned: list[str | None]
    how: list[str]
    scores: list[float | None]
    defs: list[tuple[str, cb.CodebookTheme]]       # every theme definition, for the codebook write-back
    final: dict[str, str]                           # merges resolved: theme id -> id it lives on as
    inductive_k: int | None
    unassigned: list[str]
    excluded: list[str]
    group_totals: dict
    respondents: int
    voice_respondents: int
    stale: list[str] = field(default_factory=list)


def group_counts(indices, units: Units, keys: list[str]) -> dict[str, dict[str, int]]:
    """Respondents per attribute value: {key: {value: respondents}}."""
    counts: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for i in indices:
        for key in keys:
            if key in units.attributes[i]:
                counts[key][units.attributes[i][key]].add(units.respondents[i])
    return {k: {v: len(r) for v, r in sorted(vals.items())} for k, vals in counts.items()}


def resolve_merges(book: cb.Codebook) -> dict[str, str]:
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


class ThemeModel:
    """Settings from [themes], [concepts] and [draft] (the wish question and the "nothing to
    change" markers); `fit(...)` returns a ThemeFit."""

    def __init__(self, tcfg: dict, ccfg: dict, concepts: list[Concept], wish_question: str, nothing_markers: str):
        self.tcfg = tcfg
        self.ccfg = ccfg
        self.concepts = concepts
        self.wish_question = re.compile(wish_question)
        self.nothing = re.compile(nothing_markers)

    # -- helpers ------------------------------------------------------------------------------
    def _allowed(self, attrs: dict) -> set[str] | None:
        """Which kinds of concept an answer can be about, by the question it answers."""
        q = attrs.get("question")
        if not q:
            return None
        if self.wish_question.search(q):
            return {"wish", "critique", "nothing"}
        return {"praise", "outcome", "critique"}

    def fit(self, units: Units, X: np.ndarray, book: cb.Codebook, previous: dict[str, str],
            embed, rediscover: bool = False, keywords=represent.keywords) -> ThemeFit:
        """`embed`: phrases -> vectors (codebook examples, concepts); `keywords`: the function
        that counts keywords (represent.keywords; the caller may pass a cached one)."""
        tcfg = self.tcfg
        n = len(units.ids)
        mean = X.mean(axis=0)
        C = centre(X, mean)
        index = {sid: i for i, sid in enumerate(units.ids)}
        threshold = tcfg["assign_threshold"]
        min_size = tcfg["min_theme_size"]
        if rediscover:      # start over: keep only the user's own codebook themes (with examples)
            book.themes = [t for t in book.themes if t.examples or t.source == "codebook"]
            book.themes = [t for t in book.themes if not t.merge_into or t.merge_into in {x.id for x in book.themes}]
        final = resolve_merges(book)
        defs = {t.id: t for t in book.themes if not t.merge_into}       # themes that live on
        assigned: list[str | None] = [None] * n
        how: list[str] = [""] * n

        def put(i, tid, why):
            assigned[i], how[i] = tid, why

        def members_of(tid):
            return [i for i in range(n) if assigned[i] == tid]

        # 1. the user's placements, then what each segment had last time
        for t in book.themes:
            for sid in t.pinned:
                if sid in index:
                    put(index[sid], final[t.id], "pinned")
        for sid, tid in book.moves.items():
            if sid in index and final.get(tid) in defs:
                put(index[sid], final[tid], "moved")
        if not rediscover and book.themes:
            for sid, tid in sorted(previous.items()):
                i = index.get(sid)
                if i is not None and assigned[i] is None and final.get(tid) in defs:
                    put(i, final[tid], "kept")

        # 2. codebook prototypes: examples + description, and current members
        protos = {}
        for tid in sorted(defs):
            t = defs[tid]
            parts = []
            phrases = t.examples + ([t.description] if t.description and t.examples else [])
            if phrases:
                parts.append(unit(centre(embed(phrases), mean).mean(axis=0)))
            idx = members_of(tid)
            if idx:
                parts.append(unit(C[idx].mean(axis=0)))
            if parts:
                protos[tid] = unit(np.mean(parts, axis=0))
        if protos:
            ids = sorted(protos)
            S = C @ np.vstack([protos[t] for t in ids]).T
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
                idx = members_of(tid)
                if len(idx) >= 2 * t.split:
                    from sklearn.cluster import AgglomerativeClustering
                    labels = AgglomerativeClustering(n_clusters=t.split, linkage="ward").fit_predict(C[idx])
                    for c in sorted(set(labels), key=lambda c: -list(labels).count(c)):
                        part = new_theme([m for m, lab in zip(idx, labels) if lab == c], "split")
                        new_defs[part].info["split_from"] = tid
                    del defs[tid]

        # 4. inductive themes from what is left, each survey question apart
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
            k = self._cluster(part, units, C, k_max, new_theme)
            inductive_k = (inductive_k or 0) + k

        # 5. concepts: tag segments, name themes (one theme per concept), gather each concept's
        #    segments in the theme named by it
        all_defs = {**defs, **new_defs}
        tags, mentions = self._tag(units, C, embed, mean)
        # themes a person shaped — the target of a merge, the parts of a split — keep their
        # members and are never merged away by a shared concept
        shaped = {t for k, t in final.items() if k != t} | {t for t, d in all_defs.items() if d.shaped}
        named, gone = self._name(all_defs, assigned, units, tags, mentions, put, shaped)
        for t in gone:
            all_defs.pop(t, None)
            defs.pop(t, None)
            new_defs.pop(t, None)
        self._gather(named, all_defs, assigned, how, units, tags, put, new_theme, shaped)
        all_defs.update(new_defs)

        # 6. fold small themes and parts too small to cluster into the nearest theme
        small = [tid for tid in new_defs if len({units.respondents[i] for i in members_of(tid)}) < min_size]
        to_fold = [i for i in range(n) if assigned[i] in small] + skipped
        for tid in small:
            del new_defs[tid]
        if to_fold:
            keep_ids = [t for t in list(defs) + list(new_defs) if not (t in defs and defs[t].exclude)]
            cents = {t: unit(C[idx].mean(axis=0)) for t in keep_ids if (idx := members_of(t))}
            for i in to_fold:
                best = max(cents, key=lambda t: float(C[i] @ cents[t]), default=None)
                if best is not None and float(C[i] @ cents[best]) >= threshold:
                    put(i, best, "folded")
                else:
                    put(i, None, "")

        # 7. representation
        all_defs = {**defs, **new_defs}
        live = [t for t in all_defs if not all_defs[t].exclude and any(a == t for a in assigned)]
        members = {t: members_of(t) for t in live}
        centroids = {t: unit(C[members[t]].mean(axis=0)) for t in live}
        order = {t: k for k, t in enumerate(live)}
        labelled = [i for i in range(n) if assigned[i] in order]
        words = keywords([units.texts[i] for i in labelled], [order[assigned[i]] for i in labelled],
                         tcfg["stop_words"])
        total_resp = len(set(units.respondents))
        voice_resp = len({units.respondents[i] for i in range(n) if units.voice[i]})
        group_keys = tcfg["group_by"]
        scores = np.full(n, np.nan)
        for t in live:
            scores[members[t]] = C[members[t]] @ centroids[t]

        themes = []
        for t in live:
            d = all_defs[t]
            idx = members[t]
            s = np.where(np.isnan(scores), 0.0, scores)
            pinned = [index[x] for x in d.pinned if x in index]
            reps = represent.representatives(idx, s, X, units.texts, units.respondents,
                                             tcfg["representatives"], pinned)
            resp = {units.respondents[i] for i in idx}
            kw = words.get(order[t], [])
            theme = Theme(
                id=t, label="", description=d.description, source=d.source,
                keywords=kw[:10], size=len(idx), respondents=len(resp), share=round(len(resp) / total_resp, 4),
                representative=[units.ids[i] for i in reps], groups=group_counts(idx, units, group_keys),
                segment_ids=[units.ids[i] for i in sorted(idx, key=lambda i: (-s[i], i))],
                voice_respondents=len({units.respondents[i] for i in idx if units.voice[i]}),
                concepts=self._mentions(idx, units, mentions),
                central=units.texts[reps[0]] if reps else "")
            self._label(theme, d, named.get(t), units, idx, s)
            themes.append(theme)
        themes.sort(key=lambda th: (-th.respondents, -th.size, th.id))
        excluded_ids = {t for t, d in all_defs.items() if d.exclude}
        return ThemeFit(
            themes=themes, assigned=assigned, how=how,
            scores=[None if np.isnan(x) else float(x) for x in scores],
            defs=list(defs.items()) + list(new_defs.items()), final=final, inductive_k=inductive_k,
            unassigned=[units.ids[i] for i in range(n) if assigned[i] is None],
            excluded=[units.ids[i] for i in range(n) if assigned[i] in excluded_ids],
            group_totals=group_counts(range(n), units, group_keys), respondents=total_resp,
            voice_respondents=voice_resp)

    # -- steps --------------------------------------------------------------------------------
    def _cluster(self, indices, units, C, k_max, new_theme) -> int:
        """Our automatic-k clusterer on the centred vectors; identical texts ("Inget, allt har
        varit bra.") are clustered once, since repeats would pull the silhouette towards one
        cluster per repeated sentence. Returns k.

        The clusterer is called directly, not through BERTopic: BERTopic with our parts (no
        UMAP, this clusterer; represent.bertopic_model) gives the same partition (tested), but
        its fit also builds a c-TF-IDF of joined cluster texts that is thrown away here, and
        importing it imports sentence-transformers and torch (5-12 s)."""
        tcfg = self.tcfg
        key = lambda i: " ".join(units.texts[i].lower().split())   # noqa: E731
        first_of: dict[str, int] = {}
        for i in indices:
            first_of.setdefault(key(i), i)
        unique = sorted(first_of.values())
        clusterer = AutoKClusterer(k_max=k_max, tolerance=tcfg["silhouette_tolerance"],
                                   max_fit=tcfg["max_cluster_sample"])
        topics = clusterer.fit(C[unique]).labels_
        topic_of = {key(i): t for i, t in zip(unique, topics)}
        groups = defaultdict(list)
        for i in indices:
            groups[topic_of[key(i)]].append(i)
        for topic in sorted(groups, key=lambda t: (-len(groups[t]), min(groups[t]))):
            new_theme(groups[topic], "cluster")
        return clusterer.k_

    def _tag(self, units: Units, C: np.ndarray, embed, mean) -> tuple[np.ndarray, list[set[int]]]:
        """The main concept of every segment (-1: none stands out) and all it mentions. An
        answer to the wish question that says nothing needs to change is tagged "nothing" by
        its words, whatever the embedding says."""
        if not self.concepts:
            return np.full(len(units.ids), -1), [set() for _ in units.ids]
        c = self.ccfg
        tagger = ConceptTagger(c["segment_min_z"], c["segment_min_margin"], c["cue_min_z"],
                               c["mention_min_z"]).fit(self.concepts, embed, mean)
        allowed = [self._allowed(a) for a in units.attributes]
        tags, mentions = tagger.tag(C, units.texts, allowed)
        nothing = [k for k, x in enumerate(self.concepts) if x.kind == "nothing"]
        for i, text in enumerate(units.texts):
            a = allowed[i]
            if nothing and a is not None and "nothing" in a and self.nothing.search(text):
                tags[i] = nothing[0]
                mentions[i] = {nothing[0]}
        return tags, mentions

    def _name(self, all_defs, assigned, units, tags, mentions, put, shaped: set) -> tuple[dict[str, Concept], list[str]]:
        """Inductive themes the user has not named: the concept most respondents are mainly
        about, if enough are; else the concept most respondents *mention*, if a clear majority
        does (answers often carry two or three concepts, and the main one varies). Two themes
        named by one concept are merged (the smaller into the larger)."""
        min_share = self.ccfg["theme_min_share"]
        min_mention = self.ccfg["theme_min_mention_share"]
        named: dict[str, Concept] = {}
        for tid, d in all_defs.items():
            if d.exclude or d.examples or d.user_label or d.source == "codebook":
                continue
            idx = [i for i, a in enumerate(assigned) if a == tid]
            if not idx:
                continue
            resp = {units.respondents[i] for i in idx}
            by_concept: dict[int, set] = defaultdict(set)
            for i in idx:
                if tags[i] >= 0:
                    by_concept[int(tags[i])].add(units.respondents[i])
            best = max(by_concept, key=lambda k: (len(by_concept[k]), -k)) if by_concept else None
            if best is not None and len(by_concept[best]) / len(resp) >= min_share and len(by_concept[best]) >= 2:
                named[tid] = self.concepts[best]
                continue
            said: dict[int, set] = defaultdict(set)
            for i in idx:
                for k in mentions[i]:
                    said[k].add(units.respondents[i])
            best = max(said, key=lambda k: (len(said[k]), -k)) if said else None
            if best is not None and len(said[best]) / len(resp) >= min_mention and len(said[best]) >= 2:
                named[tid] = self.concepts[best]
        # one theme per concept
        gone: list[str] = []
        by_concept_theme: dict[str, list[str]] = defaultdict(list)
        for tid, c in named.items():
            by_concept_theme[c.id].append(tid)
        for cid, tids in by_concept_theme.items():
            if len(tids) < 2:
                continue
            sizes = {t: sum(1 for a in assigned if a == t) for t in tids}
            keep = max(tids, key=lambda t: (t in shaped, sizes[t], t))
            for t in tids:
                if t in shaped and t != keep:
                    del named[t]             # a part of a split keeps its members: named by its own words
                elif t != keep:
                    for i, a in enumerate(list(assigned)):
                        if a == t:
                            put(i, keep, "merged")
                    del named[t]
                    gone.append(t)
        return named, gone

    def _gather(self, named, all_defs, assigned, how, units, tags, put, new_theme, shaped: set) -> None:
        """Segments about a concept join the theme named by it — unless a person placed them
        (pinned, moved) or they sit in a theme a person named. A concept that enough respondents
        speak about, but that names no theme, gets a theme of its own."""
        fixed = {t for t, d in all_defs.items() if d.user_label or d.examples or d.source == "codebook" or d.exclude}
        fixed |= shaped
        movable = [i for i in range(len(assigned)) if tags[i] >= 0 and how[i] not in ("pinned", "moved")
                   and assigned[i] not in fixed]
        theme_of = {c.id: t for t, c in named.items()}
        need = max(self.tcfg["min_theme_size"],
                   int(np.ceil(self.ccfg["own_theme_min_share"] * len(set(units.respondents)))))
        for k, concept in enumerate(self.concepts):
            if concept.id in theme_of:
                continue
            idx = [i for i in movable if tags[i] == k]
            if len({units.respondents[i] for i in idx}) >= need:
                tid = new_theme(idx, "concept")
                named[tid] = concept
                theme_of[concept.id] = tid
        for i in movable:
            target = theme_of.get(self.concepts[int(tags[i])].id)
            if target is not None and assigned[i] != target:
                put(i, target, "concept")

    def _mentions(self, idx, units, mentions) -> list[ConceptMention]:
        by: dict[int, list[int]] = defaultdict(list)
        for i in idx:
            for k in sorted(mentions[i]):
                by[k].append(i)
        out = []
        for k, members in by.items():
            c = self.concepts[k]
            out.append(ConceptMention(c.id, c.label, c.narrative, c.kind,
                                      len({units.respondents[i] for i in members}),
                                      [units.ids[i] for i in members]))
        out.sort(key=lambda m: (-m.respondents, m.concept))
        return out

    def _label(self, theme: Theme, d: cb.CodebookTheme, concept: Concept | None, units, idx, s) -> None:
        """Fill label, kind, concept, tone and narrative of a theme."""
        if concept is not None:
            theme.kind, theme.concept, theme.label = "concept", concept.id, concept.label
            theme.tone, theme.narrative = concept.kind, concept.narrative
            theme.description = theme.description or concept.description
            return
        # the user's label, or a codebook theme's own; else the most central short clause
        theme.kind = "codebook" if (d.source == "codebook" or d.examples) else "new"
        tones = Counter(m.kind for m in theme.concepts for _ in range(m.respondents))
        wish_q = sum(bool(self.wish_question.search(units.attributes[i].get("question", ""))) for i in idx)
        if wish_q * 2 >= len(idx):
            theme.tone = "nothing" if tones and tones.most_common(1)[0][0] == "nothing" else "wish"
        else:
            theme.tone = tones.most_common(1)[0][0] if tones else "praise"
            if theme.tone in ("wish", "nothing"):
                theme.tone = "critique" if theme.tone == "wish" else "praise"
        if d.user_label:
            theme.label = d.user_label
            return
        short = sorted([i for i in idx if 15 <= len(units.texts[i]) <= 90], key=lambda i: (-s[i], i))
        theme.central = units.texts[short[0]] if short else theme.central
        theme.label = clause_label(theme.central) if theme.central else represent.make_label(theme.keywords)
