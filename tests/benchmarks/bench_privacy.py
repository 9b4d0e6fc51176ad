"""Pseudonymisation quality and speed (run on demand: `make bench` or
`.venv/bin/python tests/benchmarks/bench_privacy.py`).

Prints, per hand-annotated file (tests/fixtures/person_names.json): name mentions, recall,
words wrongly replaced as names, organisation/place mentions replaced; the same for the test
pages of the classes once missed (tests/fixtures/names: a first name alone on a line, before an
age, an unknown first name before a known surname; written while the rules were made, so not
held out); then the throughput of ingest with pseudonymisation on SweFAQ questions (real
Swedish public-sector text)."""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1])]

from conftest import DEMO, SEEDS, SHARED  # noqa: E402
from pipeline import Study  # noqa: E402
from privacy_eval import GOLD, evaluate  # noqa: E402


def quality() -> None:
    print(f"{'file':34} {'mentions':>8} {'recall':>7} {'FP words':>8} {'org/place replaced':>20}")
    total = missed = fps = keep = keep_rep = 0
    for name in (n for n in GOLD if not n.startswith("_")):
        path = SEEDS / name if (SEEDS / name).exists() else DEMO / name
        with tempfile.TemporaryDirectory() as tmp, Study(Path(tmp) / "s") as study:
            r = evaluate(study, path)
        total += r["mentions"]
        missed += sum(r["missed"].values())
        fps += len(r["fp_tokens"])
        keep += r["keep_mentions"]
        keep_rep += r["keep_replaced"]
        print(f"{name:34} {r['mentions']:>8} {r['recall']:>7.3f} {len(r['fp_tokens']):>8} "
              f"{r['keep_replaced']:>10} of {r['keep_mentions']:<6}  missed={r['missed']} fp={r['fp_tokens']}")
    print(f"{'ALL':34} {total:>8} {1 - missed / total:>7.3f} {fps:>8} {keep_rep:>10} of {keep}")


def pages() -> None:
    import re
    from pipeline import config, readers
    gold = {k: v for k, v in json.loads((HERE.parent / "fixtures/names/gold.json").read_text(encoding="utf-8")).items()
            if not k.startswith("_")}

    def count(word, texts, genitive=True):
        rx = re.compile(r"(?<![\wÅÄÖåäöé-])" + re.escape(word) + (r"s?" if genitive else "") + r"(?![\wÅÄÖåäöé-])")
        return sum(len(rx.findall(t)) for t in texts)

    total = left = keep = keep_rep = 0
    for name, g in gold.items():
        path = HERE.parent / "fixtures/names" / name
        with tempfile.TemporaryDirectory() as tmp, Study(Path(tmp) / "s") as study:
            _, _, docs = readers.read(path, path.read_bytes(), config.load(study.dir)["ingest"])
            before = [t for d in docs for t in (d.title, d.text) if t]
            study.ingest(path)
            after = [t for d in study.store.documents() for t in (d["title"], d["text"]) if t]
        n, m = sum(g["names"].values()), sum(count(w, after) for w in g["names"])
        k = sum(count(w, before, False) for w in g["keep"])
        kr = k - sum(count(w, after, False) for w in g["keep"])
        total, left, keep, keep_rep = total + n, left + m, keep + k, keep_rep + kr
        print(f"{name:34} {n:>8} {1 - m / n:>7.3f} {'':>8} {kr:>10} of {k:<6}  ({g['class']})")
    print(f"{'ALL pages':34} {total:>8} {1 - left / total:>7.3f} {'':>8} {keep_rep:>10} of {keep}")


def world() -> None:
    """Real public pages, names of every origin (tests/fixtures/names_world, issue 21)."""
    from names_world_eval import GOLD as WGOLD, evaluate as wevaluate
    for label, pages in (("all pages", None), ("held-out pages", WGOLD["_held_out"])):
        with tempfile.TemporaryDirectory() as tmp, Study(Path(tmp) / "s") as study:
            r = wevaluate(study, pages)
        print(f"names_world {label:15} foreign {r['total']['F']:>4} recall {r['recall']['F']:.3f}   "
              f"Nordic {r['total']['N']:>4} recall {r['recall']['N']:.3f}   wrongly replaced {len(r['wrong'])}   "
              f"placeholders shared by people {len(r['shared'])}")


def speed(n: int) -> None:
    import openpyxl
    questions = [json.loads(l)["question"] for l in open(SHARED / "benchmarks/superlim2/swefaq_test.jsonl", encoding="utf-8")]
    questions += [json.loads(l)["question"] for l in open(SHARED / "benchmarks/superlim2/swefaq_dev.jsonl", encoding="utf-8")]
    with tempfile.TemporaryDirectory() as tmp:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["Team", "Svar"])
        for i in range(n):
            ws.append([f"Team {i % 3}", questions[i % len(questions)] + f" (svar {i})"])
        path = Path(tmp) / "svar.xlsx"
        wb.save(path)
        chars = sum(len(questions[i % len(questions)]) for i in range(n))
        with Study(Path(tmp) / "s") as study:
            t = time.perf_counter()
            study.ingest(path)
            dt = time.perf_counter() - t
        print(f"ingest+pseudonymise+segment {n:>6} answers ({chars:,} chars): {dt:6.1f} s, {chars / dt:,.0f} chars/s")


if __name__ == "__main__":
    quality()
    pages()
    world()
    for n in (100, 1000, 10000):
        speed(n)
