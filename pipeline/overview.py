"""What a study holds: summary counts (`narrativ info`) and every segment with its trace back
to the source (`narrativ segments`)."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict

from .pseudonymise import PLACEHOLDER, source_offset
from .store import Store

MAX_VALUES_SHOWN = 30
MAX_REVIEW = 40


def privacy_review(store: Store, cfg: dict) -> dict:
    """What pseudonymisation replaced (placeholders, mentions, one example in context) and the
    capitalised words it kept (unknown ones first): for a person to check, since no offline
    method finds every name."""
    from .names import NameDetector
    detector = NameDetector.from_config(cfg["privacy"])
    mentions: Counter = Counter()
    example: dict[str, tuple[str, str]] = {}
    kept: Counter = Counter()
    for g in store.segments():
        text = g["text"]
        for m in PLACEHOLDER.finditer(text):
            mentions[m.group(0)] += 1
            if m.group(0) not in example:
                s, e = max(0, m.start() - 40), min(len(text), m.end() + 40)
                example[m.group(0)] = (g["id"], ("…" if s else "") + text[s:e] + ("…" if e < len(text) else ""))
        kept.update(detector.capitalised_kept(text))
    by_kind: dict[str, dict[str, int]] = {}
    for placeholder, n in mentions.items():
        kind = PLACEHOLDER.match(placeholder).group(1)
        entry = by_kind.setdefault(kind, {"items": 0, "mentions": 0})
        entry["items"] += 1
        entry["mentions"] += n
    order = sorted(mentions, key=lambda p: (PLACEHOLDER.match(p).group(1), int(PLACEHOLDER.match(p).group(2))))
    unknown = [(w, n) for w, n in kept.most_common() if not detector.vetoed(w)]
    known = [(w, n) for w, n in kept.most_common() if detector.vetoed(w)]
    return {
        "replaced": by_kind,
        "placeholders": [{"placeholder": p, "mentions": mentions[p], "segment_id": example[p][0],
                          "context": example[p][1]} for p in order],
        "kept_unknown": [{"word": w, "count": n} for w, n in unknown],
        "kept_known": [{"word": w, "count": n} for w, n in known],
    }


def format_review(review: dict) -> str:
    lines = ["Granskning av pseudonymiseringen:"]
    if review["replaced"]:
        lines.append("  Ersatt: " + ", ".join(f"{v['items']} {k.lower()} ({v['mentions']} förekomster)"
                                              for k, v in sorted(review["replaced"].items())))
    else:
        lines.append("  Ersatt: inget")
    for p in review["placeholders"][:MAX_REVIEW]:
        lines.append(f"    {p['placeholder']} ×{p['mentions']}  [{p['segment_id']}] {p['context']}")
    if len(review["placeholders"]) > MAX_REVIEW:
        lines.append(f"    … (+{len(review['placeholders']) - MAX_REVIEW}; hela listan med --json)")
    unknown = review["kept_unknown"]
    lines.append("  Behållna ord med stor bokstav mitt i en mening – kontrollera att inga namn finns bland dem:")
    lines.append("    " + (", ".join(f"{k['word']} ({k['count']})" for k in unknown[:MAX_REVIEW]) or "inga")
                 + (f", … (+{len(unknown) - MAX_REVIEW})" if len(unknown) > MAX_REVIEW else ""))
    known = review["kept_known"]
    if known:
        lines.append(f"  Kända organisationer och orter som behållits: {len(known)} ord, t.ex. "
                     + ", ".join(k["word"] for k in known[:8]))
    lines.append("  Ett missat namn: lägg det i [privacy] deny i study.toml och läs in filerna igen.")
    return "\n".join(lines)


def summary(store: Store, cfg: dict | None = None) -> dict:
    docs = store.documents()
    attrs = store.attributes()
    by_kind = Counter(d["kind"] for d in docs)
    values: dict[str, Counter] = defaultdict(Counter)
    for d in docs:
        for k, v in attrs.get(d["id"], {}).items():
            values[k][v] += 1
    interviews = [d for d in docs if d["kind"] == "interview"]
    return {
        "study": str(store.dir),
        "schema_version": store.schema_version,
        "sources": [{"file": s["name"], "reader": s["reader"], "documents": s["n_documents"],
                     "ingested_at": s["ingested_at"]} for s in store.sources()],
        "documents": {"total": len(docs), "by_kind": dict(sorted(by_kind.items()))},
        "respondents": len({d["respondent"] for d in docs if d["kind"] in ("answer", "quote", "interview")}),
        "segments": store.count("segments"),
        "attributes": {k: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for k, c in sorted(values.items())},
        "interviews": {
            "total": len(interviews),
            "participant": sum(attrs.get(d["id"], {}).get("participant") == "ja" for d in interviews),
            "interviewees": sum(int(attrs.get(d["id"], {}).get("n_interviewees", 1)) for d in interviews),
            "dated": sum("date" in attrs.get(d["id"], {}) for d in interviews),
        },
        **({"voice": _voice(store, cfg), "privacy": privacy_review(store, cfg)} if cfg is not None else {}),
    }


def _voice(store: Store, cfg: dict) -> dict:
    """Which documents are participant voice (counted and quoted in the narrative) and why."""
    from .voice import describe, judge_documents
    judged = judge_documents(store, cfg)
    docs = {d["id"]: d for d in store.documents()}
    return {"participants": len({docs[i]["respondent"] for i, (ok, _) in judged.items() if ok}),
            "by_source": describe(store, cfg)}


KIND_SV = {"answer": "enkätsvar", "quote": "citat", "interview": "intervjuer", "section": "textavsnitt"}


def format_summary(info: dict) -> str:
    lines = [f"Studie: {info['study']}"]
    lines.append(f"Källfiler: {len(info['sources'])}")
    for s in info["sources"]:
        lines.append(f"  {s['file']} ({s['reader']}): {s['documents']} dokument")
    kinds = ", ".join(f"{n} {KIND_SV.get(k, k)}" for k, n in info["documents"]["by_kind"].items())
    lines.append(f"Dokument: {info['documents']['total']} ({kinds or 'inga'})")
    lines.append(f"Svarande/intervjuer/citat (enheter): {info['respondents']}")
    lines.append(f"Segment: {info['segments']}")
    iv = info["interviews"]
    if iv["total"]:
        lines.append(f"Intervjuer: {iv['total']} ({iv['interviewees']} intervjuade personer), "
                     f"varav {iv['participant']} med deltagare; {iv['dated']} med datum")
    if info["attributes"]:
        lines.append("Attribut (antal dokument per värde):")
        for key, counts in info["attributes"].items():
            shown = list(counts.items())[:MAX_VALUES_SHOWN]
            more = len(counts) - len(shown)
            text = ", ".join(f"{v}: {n}" for v, n in shown) + (f", … (+{more})" if more > 0 else "")
            lines.append(f"  {key}: {text}")
    if "voice" in info:
        lines.append(f"Deltagarröst (räknas och citeras i berättelsen): {info['voice']['participants']} deltagare")
        for row in info["voice"]["by_source"]:
            mark = "ja " if row["participant_voice"] else "nej"
            lines.append(f"  {mark} {row['source']}: {row['documents']} {KIND_SV.get(row['kind'], row['kind'])} – {row['why']}")
        lines.append("  Ändra med [voice] participant_sources / other_sources i study.toml.")
    if "privacy" in info:
        lines.append(format_review(info["privacy"]))
    return "\n".join(lines)


def segment_records(store: Store) -> list[dict]:
    attrs = store.attributes()
    out = []
    for g in store.segments():
        src = g["src_start"]
        omap = json.loads(g["offset_map"]) if g["offset_map"] else None
        out.append({
            "segment_id": g["id"],
            "document_id": g["document_id"],
            "kind": g["kind"],
            "text": g["text"],
            "source": g["source_name"],
            "source_path": g["source_path"],
            "locator": g["locator"],
            "start": g["start_char"],
            "end": g["end_char"],
            "source_start": None if src is None else src + source_offset(omap, g["start_char"]),
            "source_end": None if src is None else src + source_offset(omap, g["end_char"]),
            "respondent": g["respondent"],
            "attributes": attrs.get(g["document_id"], {}),
        })
    return out


def write_segments(records: list[dict], fmt: str, out: io.TextIOBase) -> None:
    if fmt == "jsonl":
        for r in records:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
        return
    keys = sorted({k for r in records for k in r["attributes"]})
    fields = [k for k in (records[0].keys() if records else ["segment_id"]) if k != "attributes"]
    writer = csv.writer(out)
    writer.writerow(fields + [f"attr_{k}" for k in keys])
    for r in records:
        writer.writerow([r[f] for f in fields] + [r["attributes"].get(k, "") for k in keys])
