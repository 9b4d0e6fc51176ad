"""One count per theme, on one stated base, for every output: the page, Word, Markdown, Excel,
the chart and the REFI-QDA project (issue 18, item 2).

* The **base** is the participants whose free text is themed: respondents of the themed kinds
  ([themes] kinds) whose words are participant voice (pipeline.voice) — the number the draft
  states ("44 av 218"). Staff, articles and report sections are not in it.
* A **theme's count** is its participants (Theme.voice_respondents); its share is that count
  over the base. The draft's sentences may state smaller recounts (the respondents whose own
  words carry one claim); headings and tables give the theme's count.
* **Per group** (team, form, …): the participants of that group in the theme, over the
  participants of that group in the base.
* **Teams named once**: a value written out with its abbreviation, "Fagersta-Norberg-
  Skinnskatteberg (FNS)", and the abbreviation "FNS" (or the long name alone) are one team,
  shown by its fullest name.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

BASE_WORD = "deltagare"
BASE_SENTENCE = ("Antalen i texten räknar de {noun} som själva skriver det som sägs (fler kan mena samma sak "
                 "med andra ord); antalet vid ett tema räknar alla {noun} vars svar hör till temat; andelen "
                 "räknas på de {base} {noun} som svarat i fritext (personal, artiklar och rapporttext räknas inte).")
NAMED_KEYS = ("team", "site")                     # attributes whose values are names of places/teams
KIND_NOTE = {"new": " (nytt tema)", "nothing": ""}
_ABBR = re.compile(r"^(?P<long>.+?)\s*\((?P<short>[^()]{1,15})\)$")


def group_names(values: Iterable[str]) -> dict[str, str]:
    """value -> the one name it is shown by: "X (ABBR)" absorbs "ABBR" and "X" (any case)."""
    values = sorted({str(v) for v in values if v})
    out = {v: v for v in values}
    for v in values:
        m = _ABBR.match(v)
        if not m:
            continue
        for other in values:
            if other != v and other.casefold() in (m.group("short").strip().casefold(), m.group("long").strip().casefold()):
                out[other] = v
    return out


def canonical(attrs: dict, names: dict[str, dict[str, str]]) -> dict:
    """`attrs` with team/site values replaced by their one name (`names`: key -> group_names)."""
    if not any(k in attrs for k in names):
        return attrs
    return {k: names.get(k, {}).get(v, v) if isinstance(v, str) else v for k, v in attrs.items()}


def names_in(attribute_dicts: Iterable[dict]) -> dict[str, dict[str, str]]:
    values: dict[str, set] = defaultdict(set)
    for a in attribute_dicts:
        for k in NAMED_KEYS:
            if a.get(k):
                values[k].add(a[k])
    return {k: group_names(v) for k, v in values.items()}


def participant_groups(indices, units, keys) -> dict[str, dict[str, int]]:
    """Participants per attribute value among `indices` of pipeline.themes.Units."""
    seen: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for i in indices:
        if not units.voice[i]:
            continue
        for k in keys:
            v = units.attributes[i].get(k)
            if v:
                seen[k][v].add(units.respondents[i])
    return {k: {v: len(r) for v, r in sorted(vals.items())} for k, vals in seen.items()}


@dataclass
class Counts:
    """The counts every output shows (see the module doc)."""
    base: int
    group_totals: dict[str, dict[str, int]] = field(default_factory=dict)     # participants per group
    theme_groups: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    named: set[str] = field(default_factory=set)      # themes whose label a person chose
    noun: str = BASE_WORD                             # what the respondents are called

    def display(self, theme) -> str:
        """The label as lists show it: a theme narrativ proposes (no concept fits) is marked
        "(nytt tema)"; a label a person chose never is."""
        return theme.label + (KIND_NOTE["new"] if theme.kind == "new" and theme.id not in self.named else "")

    @staticmethod
    def n(theme) -> int:
        return theme.voice_respondents

    def share(self, theme) -> float:
        return theme.voice_respondents / self.base if self.base else 0.0

    def groups(self, theme, key: str) -> dict[str, int]:
        return self.theme_groups.get(theme.id, {}).get(key, {})

    def sentence(self) -> str:
        return BASE_SENTENCE.format(base=self.base, noun=self.noun)


def of_material(m, store=None) -> Counts:
    """The counts of the latest themes: the base from the themes run, per-group counts from
    the participants' segments in each theme, group totals as the themes run stored them."""
    import json
    names = names_in(store.attributes().values() if store is not None else (seg["attributes"] for seg in m.segments.values()))
    totals = None
    if store is not None:
        saved = json.loads(store.get_meta("themes_counts") or "{}")
        totals = saved.get("participant_group_totals")
    theme_groups: dict[str, dict[str, dict[str, int]]] = {}
    keys: set[str] = set()
    for t in m.themes:
        seen: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        for sid in t.segment_ids:
            seg = m.segments.get(sid)
            if not seg or not seg.get("voice"):
                continue
            for k, v in canonical(seg["attributes"], names).items():
                if isinstance(v, str) and v:
                    seen[k][v].add(seg["respondent"])
        theme_groups[t.id] = {k: {v: len(r) for v, r in sorted(vals.items())} for k, vals in seen.items()}
        keys |= set(seen)
    if totals is None:                 # a themes run from before these counts: the themed participants
        themed = {sid for t in m.themes for sid in t.segment_ids}
        seen = defaultdict(lambda: defaultdict(set))
        for sid in themed:
            seg = m.segments.get(sid)
            if seg and seg.get("voice"):
                for k, v in canonical(seg["attributes"], names).items():
                    if isinstance(v, str) and v:
                        seen[k][v].add(seg["respondent"])
        totals = {k: {v: len(r) for v, r in sorted(vals.items())} for k, vals in seen.items()}
    return Counts(base=m.respondents, group_totals=totals, theme_groups=theme_groups, names=names,
                  named=person_named(store.dir) if store is not None else set(), noun=getattr(m, "noun", BASE_WORD))


def person_named(study_dir) -> set[str]:
    """Ids of the themes whose label a person chose (codebook.yaml: a label that is not narrativ's own)."""
    from pathlib import Path

    from . import codebook as cb
    from .errors import StudyError
    try:
        book = cb.load(Path(study_dir) / cb.CODEBOOK_FILE)
    except StudyError:
        return set()
    return {t.id for t in book.themes if t.user_label} if book else set()


def base_by_group(store, cfg: dict, keys) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """Before or after a themes run: the base (participants with themed text) and its
    participants per value of each key in `keys`, by the definitions the themes run uses."""
    from . import codebook as cb
    from .themes import load_units
    book = cb.load(store.dir / cb.CODEBOOK_FILE) if (store.dir / cb.CODEBOOK_FILE).exists() else None
    units = load_units(store, cfg["themes"]["kinds"], set(book.exclude_segments) if book else set(), cfg)
    groups = participant_groups(range(len(units.ids)), units, keys)
    base = len({units.respondents[i] for i in range(len(units.ids)) if units.voice[i]})
    return base, {k: sorted(v.items(), key=lambda x: (-x[1], x[0])) for k, v in groups.items() if v}
