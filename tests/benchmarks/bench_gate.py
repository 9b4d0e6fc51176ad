"""The privacy checks at scale (issue 12), run on demand; prints figures, asserts nothing.

    .venv/bin/python tests/benchmarks/bench_gate.py [N ...]        (default: 1000 respondents)

For each N the distinct-answer survey of bench_scale.py is ingested (pseudonymised and
segmented) into a throw-away study; then the export gate's check of every segment is timed
three ways on the same texts, in this process, in CPU seconds:

* one by one, euredact's plain scan: each text on its own (`euredact.redact` + the name
  detector), as the gate ran before batching;
* one by one, euredact with its RE2 prefilter (the `fast` extra: google-re2, pyahocorasick);
* batched (`gate.scan`): each distinct text once, `euredact.redact_batch`, the prefilter on.

and the findings of all three are compared. Needs ../shared/benchmarks (the survey's sentences).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))


# So that the findings compared are not all empty: identifiers and names as the detector sees them.
PLANTED = ["Ring mig på 070-123 45 67 eller mejla anna.berg@exempel.se",
           "Mitt personnummer är 19811218-9876.", "Vi bor på Storgatan 12, 123 45 Ort.",
           "Kurator Zorbaxa ringde, och Solvig Andersson, 61 år, följde med.", "Hälsningar\nVera"]


def _one_by_one(checker, texts: list[str], engine) -> list[list]:
    from pipeline import identifiers
    out = []
    for text in texts:
        found = engine.redact(text, countries=["SE"], cache=False).detections
        out.append(identifiers.merge(identifiers._spans(text, found) + checker.detector.find(text)))
    return out


def _engine(prefilter: bool):
    """A euredact engine of its own, with or without the RE2/Aho-Corasick prefilter."""
    from euredact import EuRedact
    from euredact.rules import matchers
    saved = matchers._HAS_RE2, matchers._HAS_AC
    if not prefilter:
        matchers._HAS_RE2 = matchers._HAS_AC = False
    try:
        engine = EuRedact()
        engine.redact("070-123 45 67", countries=["SE"], cache=False)   # compiles its plan now
    finally:
        matchers._HAS_RE2, matchers._HAS_AC = saved
    return engine


def run(n: int) -> None:
    from bench_scale import survey
    from pipeline import Study, gate
    from pipeline.pseudonymise import Pseudonymiser

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"enkat_{n}.xlsx"
        survey(n, path)
        study = Study(Path(tmp) / "studie")
        t = time.process_time()
        assert study.ingest(path).ok
        ingest_s = time.process_time() - t
        items = [(s["id"], s["text"]) for s in study.store.segments()]
        items += [(f"planted {k}", x) for k, x in enumerate(PLANTED * 3)]     # repeated: found each time
        texts = [x for _, x in items]
        checker = Pseudonymiser(study.store, study.config, check_only=True)
        checker.detector.find("Per")                                 # the word lists, loaded once
        figures, results = {}, {}
        for name, prefilter in (("one by one, plain scan", False), ("one by one, RE2 prefilter", True)):
            engine = _engine(prefilter)
            t = time.process_time()
            results[name] = [gate.Finding(i, s.kind) for (i, _), spans in
                             zip(items, _one_by_one(checker, texts, engine)) for s in spans]
            figures[name] = time.process_time() - t
        import euredact
        euredact.redact("x", countries=["SE"], cache=False)
        t = time.process_time()
        results["batched (gate.scan)"] = gate.scan(study.store, study.config, items)
        figures["batched (gate.scan)"] = time.process_time() - t
        reference = results["one by one, plain scan"]
        print(f"[{n}] {len(texts)} segments ({len(set(texts))} distinct), ingest {ingest_s:.1f} s CPU, "
              f"{len(reference)} findings")
        for name, seconds in figures.items():
            same = "same findings" if results[name] == reference else "DIFFERENT FINDINGS"
            print(f"  {name:28s} {seconds:6.1f} s CPU  {len(texts) / seconds:7.0f} texts/s  {same}")


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["1000"]:
        run(int(arg))
