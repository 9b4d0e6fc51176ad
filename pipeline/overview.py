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


def _sentence(text: str, start: int, end: int, width: int = 90) -> str:
    """The sentence around text[start:end], at most about 2 x `width` characters."""
    left = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    right = min([i for i in (text.find(c, end) for c in ".!?\n") if i >= 0] or [len(text)])
    left, right = max(left, start - width), min(right + 1, end + width)
    return ("…" if left > 0 else "") + text[left:right].strip() + ("…" if right < len(text) else "")


def review_words(store: Store, cfg: dict) -> tuple[list[dict], list[dict]]:
    """Every kept word that may be a name, most likely first, each with its count and one
    sentence it stands in: (unknown words, known organisations and places)."""
    from .names import NameDetector
    detector = NameDetector.from_config(cfg["privacy"])
    seen: dict[str, dict] = {}
    for g in store.segments():
        text = g["text"]
        for word, score, start, end, vetoed in detector.review_candidates(text):
            entry = seen.get(word)
            if entry is None:
                entry = seen[word] = {"word": word, "count": 0, "score": score, "segment_id": g["id"],
                                      "context": _sentence(text, start, end), "known": vetoed}
            entry["count"] += 1
            entry["score"] = max(entry["score"], score)
    ranked = sorted(seen.values(), key=lambda e: (-e["score"], -e["count"], e["word"]))
    unknown = [{k: v for k, v in e.items() if k != "known"} for e in ranked if not e["known"]]
    known = [{k: v for k, v in e.items() if k != "known"} for e in ranked if e["known"]]
    return unknown, known


def review_page(store: Store, cfg: dict, offset: int = 0, limit: int = 50, known: bool = False) -> dict:
    """One page of the review list (for the web page): {"total", "offset", "items"}; the
    items are `review_words` entries (word, count, score, segment_id, context)."""
    unknown, kept = review_words(store, cfg)
    rows = kept if known else unknown
    return {"total": len(rows), "offset": offset, "items": rows[offset:offset + limit]}


def privacy_review(store: Store, cfg: dict) -> dict:
    """What pseudonymisation replaced (placeholders, mentions, one example in context) and the
    words it kept that may be names, most likely first, each with a sentence it stands in:
    for a person to check, since no offline method finds every name."""
    mentions: Counter = Counter()
    example: dict[str, tuple[str, str]] = {}
    for g in store.segments():
        text = g["text"]
        for m in PLACEHOLDER.finditer(text):
            mentions[m.group(0)] += 1
            if m.group(0) not in example:
                s, e = max(0, m.start() - 40), min(len(text), m.end() + 40)
                example[m.group(0)] = (g["id"], ("…" if s else "") + text[s:e] + ("…" if e < len(text) else ""))
    by_kind: dict[str, dict[str, int]] = {}
    for placeholder, n in mentions.items():
        kind = PLACEHOLDER.match(placeholder).group(1)
        entry = by_kind.setdefault(kind, {"items": 0, "mentions": 0})
        entry["items"] += 1
        entry["mentions"] += n
    order = sorted(mentions, key=lambda p: (PLACEHOLDER.match(p).group(1), int(PLACEHOLDER.match(p).group(2))))
    unknown, known = review_words(store, cfg)
    return {
        "replaced": by_kind,
        "placeholders": [{"placeholder": p, "mentions": mentions[p], "segment_id": example[p][0],
                          "context": example[p][1]} for p in order],
        "kept_unknown": unknown,
        "kept_known": known,
    }


def format_review(review: dict, show_all: bool = False) -> str:
    lines = ["Granskning av pseudonymiseringen:"]
    if review["replaced"]:
        lines.append("  Ersatt: " + ", ".join(f"{v['items']} {k.lower()} ({v['mentions']} förekomster)"
                                              for k, v in sorted(review["replaced"].items())))
    else:
        lines.append("  Ersatt: inget")
    shown = review["placeholders"] if show_all else review["placeholders"][:MAX_REVIEW]
    for p in shown:
        lines.append(f"    {p['placeholder']} ×{p['mentions']}  [{p['segment_id']}] {p['context']}")
    if len(review["placeholders"]) > len(shown):
        lines.append(f"    … (+{len(review['placeholders']) - len(shown)}; alla med --review-all)")
    unknown = review["kept_unknown"]
    lines.append(f"  Behållna ord som kan vara namn ({len(unknown)}), troligast först – kontrollera varje rad:")
    rows = unknown if show_all else unknown[:MAX_REVIEW]
    for k in rows:
        lines.append(f"    {k['word']} ×{k['count']}  [{k['segment_id']}] {k['context']}")
    if not unknown:
        lines.append("    inga")
    if len(unknown) > len(rows):
        lines.append(f"    … {len(unknown) - len(rows)} till: hela listan med `narrativ info --review-all` "
                     "(eller --json); webbsidan visar den sida för sida")
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
        "coverage": json.loads(store.get_meta("themes_counts") or "{}").get("coverage", {}),
        **({"groups": interview_groups(store, cfg), "voice": _voice(store, cfg),
            "privacy": privacy_review(store, cfg)} if cfg is not None else {}),
    }


def interview_groups(store: Store, cfg: dict) -> list[dict]:
    """Per interview: the stakeholder group it landed in, its site, and why (the rule of
    [[questions.groups]] and the words of its heading that matched)."""
    from .groups import GroupRules
    rules = GroupRules.from_config(cfg)
    attrs = store.attributes()
    out = []
    for d in store.documents(["interview"]):
        a = attrs.get(d["id"], {})
        group, why = rules.explain("interview", a)
        out.append({"document_id": d["id"], "source": d["source_name"], "locator": d["locator"],
                    "site": a.get("site", ""), "date": a.get("date", ""), "group": group, "why": why})
    return out


PAGE_HINT = ("  Teman får då namn efter svarens egna ord. Den som sköter studiens inställningar kan ange en "
             "egen begreppslista eller listan för personalens svar om samverkan.")
CLI_HINT = ("  Obs! Begreppslistan passar dåligt för det här materialet. Använd en egen lista "
            "([concepts] lexicon i study.toml; 'narrativ concepts --write FIL' skriver ut den "
            "inbyggda som utgångspunkt) eller lexicon = \"samverkan\" för personalens svar om samverkan.")


def coverage_lines(cov: dict, hint: str = CLI_HINT) -> list[str]:
    """How much of the material the concept list covers, in words a person reads; `hint`: what
    to do when the list does not fit (the terminal's words, or the page's: PAGE_HINT)."""
    if not cov or not cov.get("respondents"):
        return []
    lines = [f"Begreppslistan: {cov['carrying']} av {cov['respondents']} svarande ({cov['share']:.0%}) "
             f"skriver med egna ord om något av begreppen; {cov['themes_by_concept']} av {cov['themes']} teman "
             f"har namn efter ett begrepp, övriga efter svarens egna ord."]
    if not cov.get("fits", True):
        lines[0] = (f"Begreppslistan passar inte materialet: bara {cov.get('likeness', 0):.0%} av svaren liknar det "
                    f"listan är skriven för; inga teman har namn efter listan, alla efter svarens egna ord.")
        lines.append(hint)
    return lines



def _voice(store: Store, cfg: dict) -> dict:
    """Which documents are participant voice (counted and quoted in the narrative) and why."""
    from .voice import describe, judge_documents
    judged = judge_documents(store, cfg)
    docs = {d["id"]: d for d in store.documents()}
    return {"participants": len({docs[i]["respondent"] for i, (ok, _) in judged.items() if ok}),
            "by_source": describe(store, cfg)}


KIND_SV = {"answer": "enkätsvar", "quote": "citat", "interview": "intervjuer", "section": "textavsnitt"}


def format_summary(info: dict, review_all: bool = False) -> str:
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
    lines += coverage_lines(info.get("coverage") or {})
    if info.get("groups"):
        lines.append("Intervjuer per intressentgrupp (ändra reglerna i [[questions.groups]] i study.toml):")
        for g in info["groups"]:
            where = ", ".join(x for x in (g["site"], g["date"]) if x)
            lines.append(f"  {g['source']} {g['locator']}{' (' + where + ')' if where else ''}: "
                         f"{g['group']} – {g['why']}.")
    if "voice" in info:
        lines.append(f"Deltagarröst (räknas och citeras i berättelsen): {info['voice']['participants']} deltagare")
        for row in info["voice"]["by_source"]:
            mark = "ja " if row["participant_voice"] else "nej"
            lines.append(f"  {mark} {row['source']}: {row['documents']} {KIND_SV.get(row['kind'], row['kind'])} – {row['why']}")
        lines.append("  Ändra med [voice] participant_sources / other_sources i study.toml.")
    if "privacy" in info:
        lines.append(format_review(info["privacy"], review_all))
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
