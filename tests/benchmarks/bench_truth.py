"""Concept precision and recall of the product against the blind coding of real material
(tests/fixtures/real: participants of other programmes, staff on samverkan, course comments;
sources in SOURCES.md), with the shared scorer's figures per set. Prints figures, asserts
nothing. usage: bench_truth.py [SET ...] [KEY=VALUE ...]  (studies are written under /tmp/meas)"""
import json, sys, subprocess, re
from collections import Counter, defaultdict
from pathlib import Path
from pipeline import Study
ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "real"
SCORER = ROOT.parent / "shared" / "tools" / "score_against_coding.py"
norm = lambda t: re.sub(r"\W+", " ", t).strip().lower()
tp = Counter(); fp = Counter(); fn = Counter(); per_set = {}
# arguments: set names (default: all in tests/fixtures/real), and KEY=VALUE settings of
# [concepts] for every study (e.g. cue_min_z=1.0; lexicon='"samverkan"' scores the staff list
# against the sets' concepts_samverkan coding)
SETS = [a for a in sys.argv[1:] if "=" not in a] or sorted(p.stem[5:] for p in FIX.glob("gold_*.json"))
EXTRA = "[concepts]\n" + "".join(f"{a.split('=')[0]} = {a.split('=')[1]}\n" for a in sys.argv[1:] if "=" in a)
# the staff list is scored against the blind coding of its own concepts (set 3: concepts_samverkan)
KEY = "concepts_samverkan" if "samverkan" in EXTRA else "concepts"
for name in SETS:
    d = Path(f"/tmp/meas/{name}")
    if d.exists():
        subprocess.run(["rm", "-rf", str(d)])
    d.mkdir(parents=True)
    (d / "study.toml").write_text(EXTRA, encoding="utf-8")
    with Study(d) as s:
        s.ingest(FIX / f"{name}.csv")
        res = s.themes()
        try:
            s.draft()
            s.export()
        except Exception as e:
            print("draft:", e)
    gold = json.load(open(FIX / f"gold_{name}.json"))
    data = json.load(open(d / "out" / "themes.json"))
    qs = {q["id"]: (norm(q["text"]), set(q.get(KEY) or [])) for q in gold["quotes"]}
    # segment-level carried concepts -> statement level
    carried = defaultdict(set)
    segtext = {}
    for t in data["themes"]:
        for c in t["concepts"]:
            for sid in c["segment_ids"]:
                carried[sid].add(c["concept"])
        for s in t["segments"]:
            segtext[s["segment_id"]] = norm(s["text"])
    by_q = defaultdict(set)
    for sid, cs in carried.items():
        st = segtext.get(sid, "")
        for qid, (qt, _) in qs.items():
            if len(st) >= 12 and (st in qt or qt in st):
                by_q[qid] |= cs
    a = b = c_ = 0
    for qid, (_, g) in qs.items():
        p = by_q.get(qid, set())
        for c in p & g: tp[c] += 1
        for c in p - g: fp[c] += 1
        for c in g - p: fn[c] += 1
        a += len(p & g); b += len(p - g); c_ += len(g - p)
    per_set[name] = (a, b, c_)
    named = [(t["label"], t["respondents"], t["kind"]) for t in data["themes"]]
    print(f"== {name}: {res.coverage}")
    for l in named: print("   ", l)
    print("   score:", subprocess.run([sys.executable, str(SCORER), str(FIX / f"gold_{name}.json"),
          str(d / "out" / "themes.json"), str(d / "out" / "narrativ.md")], capture_output=True, text=True).stdout.strip())
for name, (a, b, c_) in per_set.items():
    print(f"{name}: concept precision {a}/{a + b} = {a / max(1, a + b):.2f}, recall {a}/{a + c_} = {a / max(1, a + c_):.2f}")
P = sum(tp.values()); F = sum(fp.values()); N = sum(fn.values())
print(f"ALL concept marks: precision {P}/{P+F} = {P/max(1,P+F):.2f}, recall {P}/{P+N} = {P/max(1,P+N):.2f}")
for c in sorted(set(tp) | set(fp)):
    print(f"  {c}: tp {tp[c]} fp {fp[c]} fn {fn[c]}")
