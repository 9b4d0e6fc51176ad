"""What a study holds: summary counts (`narrativ info`) and every segment with its trace back
to the source (`narrativ segments`)."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict

from .pseudonymise import source_offset
from .store import Store

MAX_VALUES_SHOWN = 30


def summary(store: Store) -> dict:
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
    }


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
