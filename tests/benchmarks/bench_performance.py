"""End-to-end performance on 100, 1,000 and 10,000 survey answers (run on demand: `make bench`;
the 10,000 size embeds ~15,000 new texts and takes several minutes on 2 cores).

Answers are built from SweFAQ (real Swedish public-sector questions and answers, SuperLim 2):
each answer joins one question with one or two answer sentences, so they are distinct. Each
size runs in a fresh process (cold caches, its own peak memory). Printed per size: wall time
per stage (ingest = read + pseudonymise + segment; themes = embed + themes; draft; export),
end-to-end time, peak RSS, the time of a re-run after a codebook edit (rename + merge, cached
embeddings), and our themes stage against BERTopic with default settings on the same
embeddings, measured in the same process.

    .venv/bin/python tests/benchmarks/bench_performance.py [--sizes 100 1000 10000]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE.parent), str(ROOT)]
DATA = ROOT.parent / "shared" / "benchmarks" / "superlim2"


def answers(n: int) -> list[str]:
    rows = [json.loads(l) for f in ("swefaq_test.jsonl", "swefaq_dev.jsonl") for l in open(DATA / f, encoding="utf-8")]
    questions = [r["question"] for r in rows]
    sentences = sorted({s.strip() for r in rows for a in r["candidate_answers"]
                        for s in re.findall(r"[^.!?]+[.!?]", a) if 30 <= len(s.strip()) <= 200})
    rng = random.Random(n)
    out, seen = [], set()
    while len(out) < n:
        text = " ".join([rng.choice(questions)] + rng.sample(sentences, rng.choice([1, 1, 2])))
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def one_size(n: int) -> dict:
    import yaml
    from openpyxl import Workbook
    t_all = time.perf_counter()
    from pipeline import Study   # imports are part of a cold run
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wb = Workbook()
        ws = wb.active
        ws.append(["Löpnummer", "Team", "Formulär", "Vad vill du berätta om stödet?"])
        for i, text in enumerate(answers(n)):
            ws.append([i + 1, ["Norr", "Syd", "Väst"][i % 3], ["Pågående", "Avslut"][i % 2], text])
        wb.save(tmp / "svar.xlsx")
        times = {}
        with Study(tmp / "s") as study:
            t = time.perf_counter(); study.ingest(tmp / "svar.xlsx"); times["ingest"] = time.perf_counter() - t
            t = time.perf_counter(); result = study.themes(); times["themes"] = time.perf_counter() - t
            t = time.perf_counter(); study.draft(); times["draft"] = time.perf_counter() - t
            t = time.perf_counter(); study.export(); times["export"] = time.perf_counter() - t
            end_to_end = time.perf_counter() - t_all
            # a re-run after an edit: rename one theme, merge another into it
            path = tmp / "s" / "codebook.yaml"
            book = yaml.safe_load(path.read_text(encoding="utf-8"))
            book["themes"][0]["label"] = "Omdöpt tema"
            if len(book["themes"]) > 1:
                book["themes"][1]["merge_into"] = book["themes"][0]["id"]
            path.write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
            t = time.perf_counter(); study.themes(); rerun = time.perf_counter() - t
            # our themes stage vs BERTopic defaults on the same (cached) embeddings
            t = time.perf_counter(); study.themes(rediscover=True); ours = time.perf_counter() - t
            from bertopic import BERTopic
            from pipeline.embed import as_bertopic_backend, embed_texts, make_embedder
            from pipeline.themes import load_units
            units = load_units(study.store, study.config["themes"]["kinds"], set())
            emb = make_embedder(study.config)
            X, _ = embed_texts(study.store, emb, units.texts)
            t = time.perf_counter()
            topics, _ = BERTopic(embedding_model=as_bertopic_backend(emb)).fit_transform(units.texts, embeddings=X)
            bertopic_default = time.perf_counter() - t
            n_default = len(set(topics) - {-1})
            outliers = sum(1 for x in topics if x == -1)
    return {"answers": n, "segments": result.segments, "themes": len(result.themes), "unassigned": len(result.unassigned),
            **{f"t_{k}": round(v, 2) for k, v in times.items()}, "end_to_end": round(end_to_end, 1),
            "rerun_after_edit": round(rerun, 2), "ours_themes_cached": round(ours, 2),
            "bertopic_default": round(bertopic_default, 2), "bertopic_default_topics": n_default,
            "bertopic_default_outliers": outliers,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 1000, 10000])
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.size:
        print(json.dumps(one_size(args.size)))
        return
    print(f"{'answers':>8} {'segm.':>6} {'themes':>6} {'ingest':>7} {'themes':>7} {'draft':>6} {'export':>7} "
          f"{'total':>7} {'peak MB':>8} {'re-run':>7} {'ours':>6} {'BERTopic':>9} {'ratio':>6}")
    for n in args.sizes:
        done = subprocess.run([sys.executable, __file__, "--size", str(n)], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{n}: failed\n{done.stderr[-2000:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        ratio = r["ours_themes_cached"] / r["bertopic_default"] if r["bertopic_default"] else float("nan")
        print(f"{n:>8} {r['segments']:>6} {r['themes']:>6} {r['t_ingest']:>7.1f} {r['t_themes']:>7.1f} {r['t_draft']:>6.1f} "
              f"{r['t_export']:>7.1f} {r['end_to_end']:>7.1f} {r['peak_rss_mb']:>8} {r['rerun_after_edit']:>7.2f} "
              f"{r['ours_themes_cached']:>6.2f} {r['bertopic_default']:>9.2f} {ratio:>6.2f}"
              f"   (BERTopic defaults: {r['bertopic_default_topics']} topics, {r['bertopic_default_outliers']} outliers)")
    print("times in seconds; total = cold process start to export done (imports and model load included);")
    print("re-run = themes after a codebook rename + merge; ours / BERTopic = themes stage vs BERTopic defaults on the same cached embeddings")


if __name__ == "__main__":
    main()
