"""Ingest and the export gate check each distinct text once, in one batch (issue 12). What they
find must not change: on real material (the demo corpus, our own name pages and interviews,
the seeds when ../shared is there) the batched path gives exactly the spans, replacements,
registry rows and gate findings of the one-by-one path, which here calls euredact and the name
detector text by text with no cache at all."""
from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEMO, OWN, ROOT, SEEDS, shared
from pipeline import Study, config, gate, identifiers, readers
from pipeline.documents import Document
from pipeline.pseudonymise import SALT_FILE, Pseudonymiser

NAME_PAGES = ROOT / "tests" / "fixtures" / "names"
# Identifiers of every kind the detector knows, and names in the contexts its rules look at.
PLANTED = [
    "Ring mig på 070-123 45 67 eller mejla anna.berg@exempel.se",
    "Mitt personnummer är 19811218-9876 och min sambo har 850709-9805.",
    "Vi bor på Storgatan 12, 123 45 Ort sedan i våras.",
    "Lönen går till konto 8327-9 123 456 789-0 (Swedbank), IBAN SE45 5000 0000 0583 9825 7466.",
    "Kurator Zorbaxa ringde, och Solvig Andersson, 61 år, följde med.",
    "Hälsningar\nVera",
    "Susannes handledare Susanne Johnsson hjälpte mig, sa Per.",
    "",
]


def _one_by_one(checker: Pseudonymiser, text: str):
    """The spans of one text, computed from scratch: euredact's single-text call, no cache."""
    import euredact
    found = euredact.redact(text, countries=["SE"], cache=False).detections
    return identifiers.merge(identifiers._spans(text, found) + checker.detector.find(text))


class OneByOne(Pseudonymiser):
    """The pseudonymiser as it was before batching: every text looked at on its own, each time."""

    def name_spans_many(self, texts):
        return [self.detector.find(t) for t in texts]

    def spans_many(self, texts):
        return [_one_by_one(self, t) for t in texts]

    def spans(self, text):
        return _one_by_one(self, text)

    def prepare(self, docs):
        pass


def _material(which: str) -> list[Path]:
    if which == "seeds":                       # the seeds in ../shared (skipped without; CI=true: fails)
        return sorted(shared(SEEDS).glob("[0-9]*.txt"))
    return sorted(DEMO.iterdir()) + sorted(NAME_PAGES.glob("*.txt")) + sorted(OWN.glob("*.txt"))


# A name learnt from one answer is replaced in another where, alone, it would not be a name
# (a sentence start, no evidence); a genitive too; a heading's name goes everywhere.
LEARNT = [Document("answer", "Jag träffade Solvig Andersson på mötet."),
          Document("answer", "Solvig var bra, och Andersson."),
          Document("answer", "Det var Solvigs idé."),
          Document("interview", "Hon heter Quillan. Quillan berättade om sina år.", title="Intervju",
                   names=["Quillan"]),
          *[Document("answer", t, attributes={"team": "Norr"}) for t in PLANTED if t]]


def _documents(study_dir: Path, which: str = "own"):
    cfg = config.load(study_dir)
    docs = [copy.deepcopy(d) for d in LEARNT] if which == "own" else []
    for path in _material(which):
        docs += readers.read(path, path.read_bytes(), cfg["ingest"])[2]
    return cfg, docs


def _pseudonymise(kind, study: Study, which: str):
    cfg, docs = _documents(study.dir, which)
    p = kind(study.store, cfg)
    p.learn(docs)
    p.prepare(docs)
    counts = [p.apply(doc) for doc in docs]
    out = [(d.title, d.text, d.offset_map, d.attributes) for d in docs]
    return out, counts, sorted(p.take_new_rows()), p.counters


@pytest.mark.parametrize("which", ["own", "seeds"])
def test_batched_pseudonymisation_replaces_exactly_what_one_by_one_did(tmp_path, which):
    a, b = Study(tmp_path / "a"), Study(tmp_path / "b")
    batched = _pseudonymise(Pseudonymiser, a, which)
    shutil.copy(a.dir / SALT_FILE, b.dir / SALT_FILE)   # one key: the registry rows can be compared
    reference = _pseudonymise(OneByOne, b, which)
    texts, counts, rows, counters = batched
    assert sum(sum(c.values()) for c in counts) > 30, "the material should hold many replacements"
    assert texts == reference[0]
    assert counts == reference[1]
    assert rows == reference[2]
    assert counters == reference[3]


def test_batched_spans_equal_one_by_one_on_real_texts(tmp_path):
    study = Study(tmp_path / "s")
    cfg, docs = _documents(study.dir)
    texts = [t for d in docs for t in Pseudonymiser._texts(d)]
    texts += [p for d in docs for p in d.text.split("\n\n")] + PLANTED
    texts += texts[:50]                                   # repeated texts: each keeps its own spans
    checker = Pseudonymiser(study.store, cfg, check_only=True)
    batched = checker.spans_many(texts)
    reference = [_one_by_one(checker, t) for t in texts]
    assert batched == reference
    assert sum(map(len, batched)) > 100
    kinds = {s.kind for spans in batched for s in spans}
    assert {"NAMN", "TELEFON", "E-POST", "PERSONNUMMER", "ADRESS", "KONTO"} <= kinds
    assert identifiers.find_many(texts) == [identifiers.find(t) for t in texts]


def test_gate_findings_batched_equal_one_by_one(tmp_path):
    study = Study(tmp_path / "demo")
    assert study.ingest(DEMO).ok
    segments = [(s["id"], s["text"]) for s in study.store.segments()]
    items = segments + [(f"planted {k}", t) for k, t in enumerate(PLANTED)] + segments[:20]
    items += [(f"page {p.name}", p.read_text(encoding="utf-8")) for p in sorted(NAME_PAGES.glob("*.txt"))]
    findings = gate.scan(study.store, study.config, iter(items))
    checker = Pseudonymiser(study.store, study.config, check_only=True)
    reference = [gate.Finding(i, s.kind) for i, t in items if t for s in _one_by_one(checker, t)]
    assert findings == reference
    assert {f.item_id for f in findings} >= {"planted 0", "planted 1", "planted 4"}
    assert not [f for f in findings if not f.item_id.startswith(("planted", "page"))], \
        "a stored demo segment still holds something identifying"


def test_detector_uses_euredacts_accelerated_scan():
    """euredact[fast]: the RE2 prefilter and Aho-Corasick (the same detections, about 6x faster
    here); euredact falls back to its plain scan without them, so check they are installed."""
    import ahocorasick  # noqa: F401
    import re2  # noqa: F401


def test_segmenter_loads_spacy_without_torch_and_torch_still_imports():
    code = ("import sys; from pipeline.segment import Segmenter; s = Segmenter(); "
            "print(s.split('answer', 'Det var bra. Bl.a. fick jag hjälp t.ex. med CV. ' * 3)); "
            "assert 'torch' not in sys.modules, 'spaCy pulled in torch'; "
            "import torch; print(torch.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines()[-1] == "torch"
