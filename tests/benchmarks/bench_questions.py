"""Research questions on seed 002 against the blind relevance judgments
(tests/fixtures/questions/seed002_relevance.json): precision of the top two passages per
question and group, abstention ("berörs inte" exactly when no interview of the group answers),
the evaluator's summary points surfaced, fragments among the passages, and how often one
passage is reused across questions. Prints figures, asserts nothing.

usage: bench_questions.py [--study DIR] [--keep] [KEY=VALUE ...]   (KEY=VALUE: [questions] settings)
A passage answers a question when it covers at least half of a sentence judged to answer it.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path

from pipeline import Study
from pipeline.overview import source_offset

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "questions" / "seed002_relevance.json"
SEED = ROOT.parent / "shared" / "corpora" / "seeds" / "002_90c25d1651882498.txt"


def questions_of(text: str) -> list[str]:
    intro = text[text.index("## INLEDNING"):text.index("### Metod")]
    return [l[2:].strip() for l in intro.splitlines() if l.startswith("- ") and l.strip().endswith("?")]


def main(argv: list[str]) -> None:
    args = [a for a in argv if "=" not in a]
    study_dir = Path(args[args.index("--study") + 1]) if "--study" in args else Path("/tmp/meas/questions_002")
    settings = "[questions]\n" + "".join(f"{a.split('=', 1)[0]} = {a.split('=', 1)[1]}\n" for a in argv if "=" in a)
    if not SEED.exists():
        sys.exit(f"{SEED} is missing")
    gold = json.loads(FIX.read_text(encoding="utf-8"))
    text = SEED.read_text(encoding="utf-8")
    questions = questions_of(text)
    sents = gold["sentences"]
    if "--keep" not in args and study_dir.exists():
        shutil.rmtree(study_dir)
    fresh = not study_dir.exists()
    study_dir.mkdir(parents=True, exist_ok=True)
    (study_dir / "study.toml").write_text(settings, encoding="utf-8")
    qfile = study_dir / "fragor.txt"
    qfile.write_text("\n".join(questions) + "\n", encoding="utf-8")
    with Study(study_dir) as st:
        if fresh:
            st.ingest(SEED)
        results = st.questions(qfile)
        spans = {}
        line_of_doc = {}
        for g in st.store.segments():
            omap = json.loads(g["offset_map"]) if g["offset_map"] else None
            spans[g["id"]] = (g["src_start"] + source_offset(omap, g["start_char"]),
                              g["src_start"] + source_offset(omap, g["end_char"]))
        groups_of_line: dict[int, str] = {}
        from pipeline.groups import GroupRules
        rules = GroupRules.from_config(st.config)
        attrs = st.store.attributes()
        for d in st.store.documents(["interview"]):
            groups_of_line[int(re.sub(r"\D", "", d["locator"]))] = rules.group("interview", attrs.get(d["id"], {}))

    def span(p):
        if "source_start" in p:
            return p["source_start"], p["source_end"]
        return spans[p["segment_id"]]

    def covers(p, sid):
        a, b = span(p)
        s = sents[sid]
        return min(b, s["end"]) - max(a, s["start"]) >= 0.5 * (s["end"] - s["start"])

    hits = slots = 0
    abst_ok = abst_n = false_abst = false_answer = 0
    per_q = []
    used = Counter()
    short = []
    surfaced = total_points = 0
    points_by_q = defaultdict(lambda: [0, 0])
    for qi, r in enumerate(results, start=1):
        rel = gold["questions"][qi - 1]["relevant"]
        groups_answering = {groups_of_line[sents[s]["interview_line"]] for s in rel}
        q_hits = q_slots = 0
        shown = []
        for group, g in r["groups"].items():
            top = g["passages"][:2]
            shown += g["passages"]
            for p in top:
                ok = any(covers(p, s) for s in rel)
                hits += ok; slots += 1; q_hits += ok; q_slots += 1
            for p in g["passages"]:
                used[p.get("segment_id", p.get("text"))] += 1
                if len(p["text"]) < 60 or not re.search(r"[.!?]\W*$", p["text"]):
                    short.append(len(p["text"]))
            should = group in groups_answering
            said = bool(g["passages"])
            abst_n += 1; abst_ok += should == said
            false_abst += should and not said
            false_answer += said and not should
        for pt in gold["points"]:
            if qi in pt["questions"]:
                total_points += 1; points_by_q[qi][1] += 1
                if any(covers(p, s) for p in shown for s in pt["support"]):
                    surfaced += 1; points_by_q[qi][0] += 1
        per_q.append((qi, q_hits, q_slots))
    print(f"precision@2: {hits}/{slots} = {hits / max(slots, 1):.2f}")
    print("  per question: " + ", ".join(f"Q{q} {h}/{s}" for q, h, s in per_q))
    print(f"abstention accuracy: {abst_ok}/{abst_n} = {abst_ok / max(abst_n, 1):.2f}; "
          f"false 'berörs inte': {false_abst}; passages where no interview of the group answers: {false_answer}")
    print(f"summary points surfaced: {surfaced}/{total_points} = {surfaced / max(total_points, 1):.2f}")
    print("  per question: " + ", ".join(f"Q{q} {a}/{b}" for q, (a, b) in sorted(points_by_q.items())))
    n_slots = sum(used.values())
    print(f"passage slots: {n_slots}, distinct passages: {len(used)}, most reused: {max(used.values()) if used else 0} questions")
    print(f"passages shorter than 60 characters or not ending a sentence: {len(short)}")


if __name__ == "__main__":
    main(sys.argv[1:])
