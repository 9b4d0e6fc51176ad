"""The framework matrix (as in NVivo): themes × stakeholder groups, each cell the number of
respondents (interviews) in that group whose words carry the theme, and the cell's strongest
passage (highest similarity to the theme)."""
from __future__ import annotations

from .grounding import Material
from .groups import GroupRules


def framework_matrix(m: Material, rules: GroupRules) -> tuple[list[str], list[dict]]:
    """(groups, rows); a row: {theme_id, label, respondents, cells: {group: {n, segment_id, text}}}."""
    group_of = {sid: rules.group(seg["kind"], seg["attributes"]) for sid, seg in m.segments.items()}
    rows, used = [], set()
    for t in m.themes:
        cells: dict[str, dict] = {}
        for sid in t.segment_ids:
            seg = m.segments.get(sid)
            if seg is None:
                continue
            g = group_of[sid]
            used.add(g)
            cell = cells.setdefault(g, {"respondents": set(), "segment_id": None, "text": "", "score": None})
            cell["respondents"].add(seg["respondent"])
            score = seg.get("score")
            if cell["segment_id"] is None or (score is not None and (cell["score"] is None or score > cell["score"])):
                cell.update(segment_id=sid, text=seg["text"], score=score)
        rows.append({"theme_id": t.id, "label": t.label, "respondents": t.respondents,
                     "cells": {g: {"n": len(c["respondents"]), "segment_id": c["segment_id"], "text": c["text"]}
                               for g, c in cells.items()}})
    order = [r["group"] for r in rules.rules_as_dicts()] if hasattr(rules, "rules_as_dicts") else []
    groups = sorted(used, key=lambda g: (order.index(g) if g in order else len(order), g))
    return groups, rows


def as_frame(groups: list[str], rows: list[dict], with_passages: bool = True):
    """A pandas DataFrame for notebooks: one row per theme, per group 'n' (and the passage)."""
    import pandas as pd
    records = []
    for r in rows:
        rec = {"tema": r["label"], "svarande": r["respondents"]}
        for g in groups:
            cell = r["cells"].get(g)
            rec[g] = cell["n"] if cell else 0
            if with_passages:
                rec[f"{g}: starkaste avsnitt"] = (f"[{cell['segment_id']}] {cell['text'][:160]}" if cell else "")
        records.append(rec)
    return pd.DataFrame.from_records(records).set_index("tema")
