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
5. the concepts each segment's own words carry (pipeline.concepts: a cue word in the right
   sense) — only when the concept list fits the material (`_likeness`); an inductive theme is
   named by the concept a clear majority of its respondents carry, two themes named by one
   concept become one, and segments carrying a concept join the theme named by it (a concept
   enough respondents carry gets a theme of its own);
6. themes with fewer than `min_theme_size` respondents are folded into the nearest theme when
   close enough, otherwise their segments are left unassigned; a theme keeps its concept name
   only if the majority still holds;
7. keywords (c-TF-IDF over lemmas), labels (a concept's, a person's, or for a *new* theme the
   key term its members share: pipeline.labels) with the members that carry them,
   representative quotes (carriers first), counts per group, the concepts members carry.

Segments left without a theme stay so on a re-run until --rediscover. Deterministic: the same
input and settings give the same themes.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from . import codebook as cb
from . import represent
from .cluster import AutoKClusterer
from .concepts import Concept, ConceptSettings, ConceptTagger
from .labels import MIXED, label_problems, term_label
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
    coverage: dict = field(default_factory=dict)    # how much of the material the concepts carry


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


@dataclass(frozen=True)
class ThemeSettings:
    """[themes] read once (see defaults.toml)."""
    assign_threshold: float
    min_theme_size: int
    max_themes: int
    separate_questions: bool
    silhouette_tolerance: float
    max_cluster_sample: int
    representatives: int
    group_by: tuple
    stop_words: tuple
    new_theme_min_share: float = 0.4
    carve_max: int = 3

    @classmethod
    def of(cls, tcfg: dict) -> "ThemeSettings":
        return cls(**{k: (tuple(tcfg[k]) if isinstance(tcfg[k], list) else tcfg[k])
                      for k in cls.__dataclass_fields__ if k in tcfg})


class _State:
    """What one fit is building: each segment's theme and why, and the themes it creates."""

    def __init__(self, n: int, book: cb.Codebook):
        self.assigned: list[str | None] = [None] * n
        self.how: list[str] = [""] * n
        self.new_defs: dict[str, cb.CodebookTheme] = {}
        self.split_labels: dict[str, str] = {}            # a theme split this run -> its label
        self.next_no = 1 + max([int(m.group(1)) for t in book.themes if (m := re.fullmatch(r"T(\d+)", t.id))] or [0])

    def put(self, i: int, tid: str | None, why: str) -> None:
        self.assigned[i], self.how[i] = tid, why

    def members_of(self, tid: str) -> list[int]:
        return [i for i, a in enumerate(self.assigned) if a == tid]

    def new_theme(self, members, why: str) -> str:
        tid = f"T{self.next_no:02d}"
        self.next_no += 1
        self.new_defs[tid] = cb.CodebookTheme(id=tid, label="", source="inductive")
        for i in members:
            self.put(i, tid, why)
        return tid


class ThemeModel:
    """Settings from [themes], [concepts] and [draft] (the wish question and the "nothing to
    change" markers), bound once; `fit(...)` returns a ThemeFit."""

    def __init__(self, tcfg: dict, ccfg: dict, concepts: list[Concept], wish_question: str, nothing_markers: str):
        self.tcfg, self.ccfg = tcfg, ccfg          # as given (a subclass may pass them on)
        self.settings = ThemeSettings.of(tcfg)
        self.csettings = ConceptSettings.of(ccfg)
        self.concepts = concepts
        self.wish_question = re.compile(wish_question)
        self.mixed_question = re.compile(self.csettings.mixed_question)
        self.nothing = re.compile(nothing_markers)

    def _allowed(self, attrs: dict) -> set[str] | None:
        """Which kinds of concept an answer can be about, by the question it answers."""
        q = attrs.get("question")
        if not q:
            return None
        if self.wish_question.search(q) and not self.mixed_question.search(q):
            return {"wish", "critique", "nothing"}
        if self.wish_question.search(q):
            return None                                # asks both what was good and what could be better
        return {"praise", "outcome", "critique"}

    def _asked_wish(self, attrs: dict) -> bool:
        q = attrs.get("question", "") or ""
        return bool(self.wish_question.search(q)) and not self.mixed_question.search(q)

    def fit(self, units: Units, X: np.ndarray, book: cb.Codebook, previous: dict[str, str],
            embed, rediscover: bool = False, keywords=represent.keywords) -> ThemeFit:
        """`embed`: phrases -> vectors (codebook examples, concepts); `keywords`: the function
        that counts keywords (represent.keywords; the caller may pass a cached one)."""
        mean = X.mean(axis=0)
        C = centre(X, mean)
        if rediscover:
            _forget_inductive(book)
        final = resolve_merges(book)
        defs = {t.id: t for t in book.themes if not t.merge_into}       # themes that live on
        st = _State(len(units.ids), book)
        self._place(st, units, book, final, defs, previous, rediscover)
        self._attract(st, C, defs, embed, mean)
        self._split(st, C, defs)
        inductive_k, skipped = self._cluster_rest(st, units, C)
        all_defs = {**defs, **st.new_defs}
        tags, carried = self._tag(units, C, embed, mean)
        likeness = self._likeness(X, units.texts, embed)
        fits = likeness >= self.csettings.min_likeness
        found = coverage(units, carried, [])
        if not fits:                   # the concept list does not fit this material: nothing carries it
            tags, carried = np.full(len(units.ids), -1), [set() for _ in units.ids]
        shaped = {t for k, t in final.items() if k != t} | {t for t, d in all_defs.items() if d.shaped}
        named = self._name(st, all_defs, units, carried, shaped) if fits else {}
        for t in self._one_theme_per_concept(st, named, shaped):
            for d in (all_defs, defs, st.new_defs):
                d.pop(t, None)
        self._gather(st, named, all_defs, units, tags, shaped)
        self._fold_small(st, units, C, defs, skipped)
        self._confirm_names(st, named, units, carried)
        self._carve(st, units, named, shaped)
        all_defs = {**defs, **st.new_defs}
        themes = self._represent(st, units, X, C, all_defs, named, carried, keywords)
        excluded_ids = {t for t, d in all_defs.items() if d.exclude}
        n = len(units.ids)
        return ThemeFit(
            themes=themes, assigned=st.assigned, how=st.how,
            scores=[None if np.isnan(x) else float(x) for x in self._scores],
            defs=list(defs.items()) + list(st.new_defs.items()), final=final, inductive_k=inductive_k,
            unassigned=[units.ids[i] for i in range(n) if st.assigned[i] is None],
            excluded=[units.ids[i] for i in range(n) if st.assigned[i] in excluded_ids],
            group_totals=group_counts(range(n), units, list(self.settings.group_by)),
            respondents=len(set(units.respondents)),
            voice_respondents=len({units.respondents[i] for i in range(n) if units.voice[i]}),
            coverage={**coverage(units, carried, themes), "carrying": found["carrying"], "share": found["share"],
                      "fits": fits, "likeness": round(likeness, 4), "min_likeness": self.csettings.min_likeness})

    # -- steps --------------------------------------------------------------------------------
    def _place(self, st: _State, units, book, final, defs, previous, rediscover) -> None:
        """1. The user's placements (pins, moves), then what each segment had last time."""
        index = {sid: i for i, sid in enumerate(units.ids)}
        for t in book.themes:
            for sid in t.pinned:
                if sid in index:
                    st.put(index[sid], final[t.id], "pinned")
        for sid, tid in book.moves.items():
            if sid in index and final.get(tid) in defs:
                st.put(index[sid], final[tid], "moved")
        if not rediscover and book.themes:
            for sid, tid in sorted(previous.items(), key=lambda kv: kv[0]):
                i = index.get(sid)
                if i is None or st.assigned[i] is not None:
                    continue
                if tid is None:
                    st.put(i, None, "left")              # without a theme last time: stays so
                elif final.get(tid) in defs:
                    st.put(i, final[tid], "kept")

    def _attract(self, st: _State, C, defs, embed, mean) -> None:
        """2. Codebook themes attract unplaced segments by similarity to their prototype
        (examples + description, and current members)."""
        protos = {}
        for tid in sorted(defs):
            t = defs[tid]
            parts = []
            phrases = t.examples + ([t.description] if t.description and t.examples else [])
            if phrases:
                parts.append(unit(centre(embed(phrases), mean).mean(axis=0)))
            idx = st.members_of(tid)
            if idx:
                parts.append(unit(C[idx].mean(axis=0)))
            if parts:
                protos[tid] = unit(np.mean(parts, axis=0))
        if not protos:
            return
        ids = sorted(protos)
        S = C @ np.vstack([protos[t] for t in ids]).T
        for i in range(len(st.assigned)):
            if st.assigned[i] is None and st.how[i] != "left":
                j = int(np.argmax(S[i]))
                if S[i, j] >= self.settings.assign_threshold:
                    st.put(i, ids[j], "codebook" if defs[ids[j]].examples else "similar")

    def _split(self, st: _State, C, defs) -> None:
        """3. A theme marked `split: N` is re-clustered into N themes."""
        for tid, t in sorted(defs.items()):
            if not t.split:
                continue
            idx = st.members_of(tid)
            if len(idx) < 2 * t.split:
                continue
            from sklearn.cluster import AgglomerativeClustering
            labels = list(AgglomerativeClustering(n_clusters=t.split, linkage="ward").fit_predict(C[idx]))
            for c in sorted(set(labels), key=lambda c: -labels.count(c)):
                part = st.new_theme([m for m, lab in zip(idx, labels) if lab == c], "split")
                st.new_defs[part].info["split_from"] = tid
                st.split_labels[tid] = t.label
            del defs[tid]

    def _cluster_rest(self, st: _State, units, C) -> tuple[int | None, list[int]]:
        """4. Inductive themes from what is left, each survey question apart. Returns the
        number of clusters and the segments of parts too small to cluster."""
        left = [i for i, a in enumerate(st.assigned) if a is None and st.how[i] != "left"]
        parts: dict[str, list[int]] = defaultdict(list)
        for i in left:
            parts[units.attributes[i].get("question", "") if self.settings.separate_questions else ""].append(i)
        inductive_k, skipped = None, []
        for key in sorted(parts):
            part = parts[key]
            if len({units.respondents[i] for i in part}) < 2 * self.settings.min_theme_size:
                skipped += part
                continue
            k_max = max(3, round(self.settings.max_themes * len(part) / len(left)))
            inductive_k = (inductive_k or 0) + self._cluster(part, units, C, k_max, st.new_theme)
        return inductive_k, skipped

    def _cluster(self, indices, units, C, k_max, new_theme) -> int:
        """Our automatic-k clusterer on the centred vectors; identical texts ("Inget, allt har
        varit bra.") are clustered once, since repeats would pull the silhouette towards one
        cluster per repeated sentence. Returns k.

        The clusterer is called directly, not through BERTopic: BERTopic with our parts (no
        UMAP, this clusterer; represent.bertopic_model) gives the same partition (tested), but
        its fit also builds a c-TF-IDF of joined cluster texts that is thrown away here, and
        importing it imports sentence-transformers and torch (5-12 s)."""
        key = lambda i: " ".join(units.texts[i].lower().split())   # noqa: E731
        first_of: dict[str, int] = {}
        for i in indices:
            first_of.setdefault(key(i), i)
        unique = sorted(first_of.values())
        clusterer = AutoKClusterer(k_max=k_max, tolerance=self.settings.silhouette_tolerance,
                                   max_fit=self.settings.max_cluster_sample)
        topics = clusterer.fit(C[unique]).labels_
        topic_of = {key(i): t for i, t in zip(unique, topics)}
        groups = defaultdict(list)
        for i in indices:
            groups[topic_of[key(i)]].append(i)
        for topic in sorted(groups, key=lambda t: (-len(groups[t]), min(groups[t]))):
            new_theme(groups[topic], "cluster")
        return clusterer.k_

    def _likeness(self, X: np.ndarray, texts: list[str], embed) -> float:
        """How much the material reads like what the concept list is written for: the share of
        segments nearer (by `like_margin`, raw cosine) to an example phrasing of the list than to
        any sentence of other kinds (pipeline/data/bakgrund.txt: courses, services, staff and
        organisation talk, health-care questions). Measured (bench_truth): participants' answers
        0.79-0.98; staff statements 0.49-0.50, course comments 0.06-0.39, health-care FAQ 0.25.
        A list for participants' words (voice "participants") is not like a segment in staff
        voice (`concepts.staff_voiced`): staff on samverkan came to 0.61 on likeness alone."""
        from .concepts import background, staff_voiced, voice_of
        phrases = [p for c in self.concepts for p in c.examples]
        if not phrases or not len(X):
            return 0.0
        mine = (X @ embed(phrases).T).max(axis=1)
        other = (X @ embed(background(self.csettings.lexicon)).T).max(axis=1)
        like = mine - other >= self.csettings.like_margin
        if voice_of(self.csettings.lexicon or None) == "participants":
            like &= ~np.array([staff_voiced(t) for t in texts], dtype=bool)
        return float(like.mean())

    def _tag(self, units: Units, C: np.ndarray, embed, mean) -> tuple[np.ndarray, list[set[int]]]:
        """5a. The concepts each segment's own words carry (pipeline.concepts.ConceptTagger) and
        its main one (-1: none). An answer to the wish question that says nothing needs to
        change carries "nothing" by its words."""
        n = len(units.ids)
        if not self.concepts:
            return np.full(n, -1), [set() for _ in range(n)]
        c = self.csettings
        tagger = ConceptTagger(c.segment_min_z, c.cue_min_z, c.segment_floor).fit(self.concepts, embed, mean)
        allowed = [self._allowed(a) for a in units.attributes]
        wish = [self._asked_wish(a) for a in units.attributes]
        tags, carried = tagger.tag(C, units.texts, allowed, wish, _answers(units))
        nothing = [k for k, x in enumerate(self.concepts) if x.kind == "nothing"]
        for i, text in enumerate(units.texts):
            if nothing and wish[i] and self.nothing.search(text):
                tags[i] = nothing[0]
                carried[i] = {nothing[0]}
        return tags, carried

    def _name(self, st: _State, all_defs, units, carried, shaped: set) -> dict[str, Concept]:
        """5b. Inductive themes the user has not named: the concept a clear majority of their
        respondents carry in their own words (`theme_min_share`), else none (a new theme)."""
        named: dict[str, Concept] = {}
        persons = _persons_labels(all_defs)
        for tid, d in all_defs.items():
            if d.exclude or d.examples or d.user_label or d.source == "codebook":
                continue
            idx = st.members_of(tid)
            before = next((k for k, c in enumerate(self.concepts) if c.label == d.auto_label), None)
            k = majority_concept(idx, units.respondents, carried, self.csettings.theme_min_share, before)
            # a concept a person's theme is already called by names no second theme
            if k is not None and self.concepts[k].label.casefold() not in persons:
                named[tid] = self.concepts[k]
        return named

    def _one_theme_per_concept(self, st: _State, named, shaped: set) -> list[str]:
        """5c. Two themes named by one concept become one (the smaller into the larger; a part
        of a split keeps its members and loses the name instead). Returns the themes gone."""
        gone: list[str] = []
        by_concept: dict[str, list[str]] = defaultdict(list)
        for tid, c in named.items():
            by_concept[c.id].append(tid)
        for tids in by_concept.values():
            if len(tids) < 2:
                continue
            sizes = {t: len(st.members_of(t)) for t in tids}
            keep = max(tids, key=lambda t: (t in shaped, sizes[t], t))
            for t in tids:
                if t == keep:
                    continue
                if t not in shaped:
                    for i in st.members_of(t):
                        st.put(i, keep, "merged")
                    gone.append(t)
                del named[t]
        return gone

    def _gather(self, st: _State, named, all_defs, units, tags, shaped: set) -> None:
        """5d. Segments whose own words carry a concept join the theme named by it — unless a
        person placed them (pinned, moved) or they sit in a theme a person named or shaped. A
        concept that enough respondents carry, but that names no theme, gets a theme of its own."""
        fixed = {t for t, d in all_defs.items() if d.user_label or d.examples or d.source == "codebook" or d.exclude}
        fixed |= shaped
        movable = [i for i in range(len(st.assigned)) if tags[i] >= 0 and st.how[i] not in ("pinned", "moved", "left")
                   and st.assigned[i] not in fixed]
        theme_of = {c.id: t for t, c in named.items()}
        persons = _persons_labels(all_defs)
        theme_of.update({c.id: persons[c.label.casefold()] for c in self.concepts if c.label.casefold() in persons})
        need = max(self.settings.min_theme_size,
                   int(np.ceil(self.csettings.own_theme_min_share * len(set(units.respondents)))))
        for k, concept in enumerate(self.concepts):
            if concept.id in theme_of:
                continue
            # a re-run does not found concept themes from segments that kept their theme: the
            # themes a person saw stay as they were
            idx = [i for i in movable if tags[i] == k and st.how[i] != "kept"]
            if len({units.respondents[i] for i in idx}) >= need:
                tid = st.new_theme(idx, "concept")
                named[tid] = concept
                theme_of[concept.id] = tid
        for i in movable:
            target = theme_of.get(self.concepts[int(tags[i])].id)
            if target is not None and st.assigned[i] != target:
                st.put(i, target, "concept")

    def _confirm_names(self, st: _State, named, units, carried) -> None:
        """6b. After merging, gathering and folding, a theme keeps its concept name only if a
        clear majority of its respondents still carry that concept."""
        index = {c.id: k for k, c in enumerate(self.concepts)}
        for tid, concept in list(named.items()):
            idx = st.members_of(tid)
            k = index[concept.id]
            resp = {units.respondents[i] for i in idx}
            carrying = {units.respondents[i] for i in idx if k in carried[i]}
            if not resp or len(carrying) / len(resp) < self.csettings.theme_min_share:
                del named[tid]

    def _carve(self, st: _State, units, named, shaped: set) -> None:
        """6c. A theme found this run that no concept names and whose answers share no topic
        (no noun that `new_theme_min_share` of its respondents write) gives the answers that
        share a noun — written by at least `min_theme_size` respondents — a theme of their own
        ("gå in i väggen" among short answers of every kind): "Om väggen" instead of one more
        "Blandade svar"."""
        from .labels import shared_nouns
        need = max(3, self.settings.min_theme_size)
        stop = list(self.settings.stop_words)
        for tid in [t for t in st.new_defs if t not in named and t not in shaped]:
            for _ in range(self.settings.carve_max):
                idx = st.members_of(tid)
                texts = {units.ids[i]: units.texts[i] for i in idx}
                resp = {units.ids[i]: units.respondents[i] for i in idx}
                found = shared_nouns(texts, resp, stop, need)
                # nothing shared by enough, or the theme has its own topic (one noun, or two
                # together, as its label would say: "Om vaccin och vaccination")
                if not found or term_label([f for f, _, _ in found], texts, resp, stop,
                                           self.settings.new_theme_min_share)[0] != MIXED:
                    break
                carriers = set(found[0][2])
                st.new_theme([i for i in idx if units.ids[i] in carriers], "carved")

    def _fold_small(self, st: _State, units, C, defs, skipped: list[int]) -> None:
        """6. Themes with fewer than `min_theme_size` respondents, and parts too small to
        cluster, go to the nearest theme when close enough, else stay unassigned."""
        small = [t for t in st.new_defs if len({units.respondents[i] for i in st.members_of(t)}) < self.settings.min_theme_size]
        to_fold = [i for i, a in enumerate(st.assigned) if a in small] + skipped
        for tid in small:
            del st.new_defs[tid]
        if not to_fold:
            return
        keep_ids = [t for t in list(defs) + list(st.new_defs) if not (t in defs and defs[t].exclude)]
        cents = {t: unit(C[idx].mean(axis=0)) for t in keep_ids if (idx := st.members_of(t))}
        for i in to_fold:
            best = max(cents, key=lambda t: float(C[i] @ cents[t]), default=None)
            if best is not None and float(C[i] @ cents[best]) >= self.settings.assign_threshold:
                st.put(i, best, "folded")
            else:
                st.put(i, None, "")

    def _represent(self, st: _State, units, X, C, all_defs, named, carried, keywords) -> list[Theme]:
        """7. Keywords (c-TF-IDF over lemmas), representative quotes, counts per group, the
        concepts the members carry, and each theme's label with the segments that carry it."""
        live = [t for t in all_defs if not all_defs[t].exclude and t in set(st.assigned)]
        members = {t: st.members_of(t) for t in live}
        order = {t: k for k, t in enumerate(live)}
        labelled = [i for i, a in enumerate(st.assigned) if a in order]
        words = keywords([units.texts[i] for i in labelled], [order[st.assigned[i]] for i in labelled],
                         list(self.settings.stop_words))
        scores = np.full(len(units.ids), np.nan)
        for t in live:
            scores[members[t]] = C[members[t]] @ unit(C[members[t]].mean(axis=0))
        self._scores = scores
        s = np.where(np.isnan(scores), 0.0, scores)
        index = {sid: i for i, sid in enumerate(units.ids)}
        total = len(set(units.respondents))
        themes, self._taken = [], _terms_in(_persons_labels(all_defs))
        for t in sorted(live, key=lambda t: -len(members[t])):
            d, idx = all_defs[t], members[t]
            resp = {units.respondents[i] for i in idx}
            theme = Theme(
                id=t, label="", description=d.description, source=d.source,
                keywords=words.get(order[t], [])[:10], size=len(idx), respondents=len(resp),
                share=round(len(resp) / total, 4),
                groups=group_counts(idx, units, list(self.settings.group_by)),
                segment_ids=[units.ids[i] for i in sorted(idx, key=lambda i: (-s[i], i))],
                voice_respondents=len({units.respondents[i] for i in idx if units.voice[i]}),
                concepts=self._mentions(idx, units, carried))
            self._label(theme, d, named.get(t), units, idx)
            # the quotes shown for a theme are, first, members whose own words carry its label
            carrying = {index[x] for x in theme.carriers if x in index}
            boosted = s + np.isin(np.arange(len(s)), list(carrying)) * 10.0
            pinned = [index[x] for x in d.pinned if x in index]
            reps = represent.representatives(idx, boosted, X, units.texts, units.respondents,
                                             self.settings.representatives, pinned)
            theme.representative = [units.ids[i] for i in reps]
            theme.central = units.texts[reps[0]] if reps else ""
            themes.append(theme)
        themes.sort(key=lambda th: (-th.respondents, -th.size, th.id))
        _name_split_parts(themes, all_defs, st.split_labels)
        mixed = [t for t in themes if t.label == MIXED]
        taken = {t.label for t in themes if t.label != MIXED}          # a person's theme may hold a number
        numbers = (k for k in range(1, 10 * len(themes) + 2) if f"{MIXED} – grupp {k}" not in taken)
        for t in mixed:
            t.label = f"{MIXED} – grupp {next(numbers)}" if len(mixed) > 1 or MIXED in taken else MIXED
        return themes

    def _mentions(self, idx, units, carried) -> list[ConceptMention]:
        by: dict[int, list[int]] = defaultdict(list)
        for i in idx:
            for k in sorted(carried[i]):
                by[k].append(i)
        out = []
        for k, members in by.items():
            c = self.concepts[k]
            out.append(ConceptMention(c.id, c.label, c.narrative, c.kind,
                                      len({units.respondents[i] for i in members}),
                                      [units.ids[i] for i in members]))
        out.sort(key=lambda m: (-m.respondents, m.concept))
        return out

    def _label(self, theme: Theme, d: cb.CodebookTheme, concept: Concept | None, units, idx) -> None:
        """Label, kind, concept, tone, narrative, and the members whose own words carry the
        label (`carriers`): a concept's carriers; a person's label is carried by every member
        (the person placed them); a new theme is named by the key term most of its respondents
        use (pipeline.labels) and carried by the members that use it."""
        if concept is not None:
            theme.kind, theme.concept, theme.label = "concept", concept.id, concept.label
            theme.tone, theme.narrative = concept.kind, concept.narrative
            theme.description = theme.description or concept.description
            theme.carriers = next((m.segment_ids for m in theme.concepts if m.concept == concept.id), [])
            return
        theme.kind = "codebook" if (d.source == "codebook" or d.examples or d.user_label) else "new"
        theme.tone = self._tone(theme, units, idx)
        if d.user_label:
            theme.label, theme.carriers = d.user_label, list(theme.segment_ids)
            return
        texts = {units.ids[i]: units.texts[i] for i in idx}
        resp = {units.ids[i]: units.respondents[i] for i in idx}
        theme.label, theme.term, theme.carriers = term_label(theme.keywords, texts, resp, list(self.settings.stop_words),
                                                             self.settings.new_theme_min_share, taken=self._taken)
        if label_problems(theme.label):          # never a label that reads wrong: say what it is
            theme.label, theme.term, theme.carriers = MIXED, "", list(texts)

    def _tone(self, theme: Theme, units, idx) -> str:
        """A theme without a concept: a wish if most answer the wish question (or "nothing"
        when that is what they carry), else the kind most of its members carry."""
        tones = Counter(m.kind for m in theme.concepts for _ in range(m.respondents))
        if sum(self._asked_wish(units.attributes[i]) for i in idx) * 2 >= len(idx):
            return "nothing" if tones and tones.most_common(1)[0][0] == "nothing" else "wish"
        tone = tones.most_common(1)[0][0] if tones else "praise"
        return {"wish": "critique", "nothing": "praise"}.get(tone, tone)


def _forget_inductive(book: cb.Codebook) -> None:
    """--rediscover: keep only the user's own codebook themes (with examples)."""
    book.themes = [t for t in book.themes if t.examples or t.source == "codebook"]
    book.themes = [t for t in book.themes if not t.merge_into or t.merge_into in {x.id for x in book.themes}]


def _persons_labels(all_defs: dict) -> dict[str, str]:
    """Label (casefolded) -> id of the themes a person named or brought (codebook), live ones."""
    return {d.label.casefold(): tid for tid, d in all_defs.items()
            if (d.user_label or d.source == "codebook") and not d.exclude and not d.merge_into and d.label}


SPLIT_PART = " – utbruten del"


def _name_split_parts(themes: list[Theme], all_defs: dict, split_labels: dict[str, str]) -> None:
    """A part a person split off that shares no topic says where it came from ("Gemenskap med
    andra i samma situation – utbruten del 2"), not "Blandade svar – grupp 9"; on later runs it
    keeps that name (its auto_label)."""
    parts: dict[str, list[Theme]] = defaultdict(list)
    for t in themes:
        d = all_defs.get(t.id)
        if t.label != MIXED or d is None or not d.info.get("split_from"):
            continue
        if d.auto_label and SPLIT_PART in d.auto_label:
            t.label = d.auto_label
        elif split_labels.get(d.info["split_from"], MIXED) != MIXED:
            parts[d.info["split_from"]].append(t)
    for origin, ts in parts.items():
        for k, t in enumerate(ts, start=1):
            t.label = f"{split_labels[origin]}{SPLIT_PART}" + (f" {k}" if len(ts) > 1 else "")


def _answers(units: Units) -> list[str]:
    """Per segment, the text of the whole answer (document) it is part of: a segment id is its
    document id, a dot and its own part."""
    doc = [sid.rsplit(".", 1)[0] for sid in units.ids]
    joined: dict[str, list[str]] = defaultdict(list)
    for d, text in zip(doc, units.texts):
        joined[d].append(text)
    whole = {d: " ".join(parts) for d, parts in joined.items()}
    return [whole[d] for d in doc]


def _terms_in(labels) -> set[str]:
    """The topics that labels of the form "Om X" / "Om X och Y" already name (as pipeline.labels
    keeps them taken): a new theme is not called by a person's theme's name."""
    from .labels import _base
    out: set[str] = set()
    for label in labels:
        m = re.match(r"(?i)om (\w+)(?: och (\w+))?$", label.strip())
        out |= {_base(w.lower()) for w in (m.groups() if m else ()) if w}
    return out


def majority_concept(idx: list[int], respondents: list[str], carried: list[set[int]], min_share: float,
                     before: int | None = None) -> int | None:
    """The concept carried by at least `min_share` (and two) of the respondents of these
    segments: the one that named the theme before if it still is (a re-run keeps names
    stable), else the most carried; None when no concept is carried that widely."""
    resp = {respondents[i] for i in idx}
    if not resp:
        return None
    by: dict[int, set] = defaultdict(set)
    for i in idx:
        for k in carried[i]:
            by[k].add(respondents[i])
    best = max(by, key=lambda k: (len(by[k]), -k), default=None)
    if before is not None and len(by.get(before, ())) >= max(2, min_share * len(resp)):
        return before
    if best is None or len(by[best]) < 2 or len(by[best]) / len(resp) < min_share:
        return None
    return best


def coverage(units: Units, carried: list[set[int]], themes: list[Theme]) -> dict:
    """How much of the material the concepts carry: respondents with at least one segment that
    carries a concept, and respondents in themes named by a concept, of all respondents."""
    total = len(set(units.respondents))
    carrying = {units.respondents[i] for i, c in enumerate(carried) if c}
    in_named = set()
    theme_of = {sid: t for t in themes for sid in t.segment_ids}
    for i, sid in enumerate(units.ids):
        t = theme_of.get(sid)
        if t is not None and t.kind == "concept":
            in_named.add(units.respondents[i])
    return {"respondents": total, "carrying": len(carrying), "in_concept_themes": len(in_named),
            "share": round(len(carrying) / total, 4) if total else 0.0,
            "themes_by_concept": sum(t.kind == "concept" for t in themes), "themes": len(themes)}
