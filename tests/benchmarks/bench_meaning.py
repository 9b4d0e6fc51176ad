"""Meaning benchmark: are theme labels true to their members, does the draft's own prose name
what participants talk about, does the grounding check catch planted failures?

    .venv/bin/python tests/benchmarks/bench_meaning.py

Needs ../shared (seed 001 and 000). Codings written by us before measuring:
tests/benchmarks/coding/seed001.yaml (the 30 quotes; the ten themes of the human-written
section) and tests/benchmarks/coding/demo.yaml (every sentence the demo generator writes).
Prints figures; asserts nothing.
"""
from __future__ import annotations

import hashlib
import random
import re
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "corpora"))

from pipeline import draft as drafting  # noqa: E402
from pipeline.grounding import DraftError, Sentence, load_material, verify, without_quotes  # noqa: E402
from pipeline.study import Study  # noqa: E402

SEEDS = ROOT.parent / "shared" / "corpora" / "seeds"
CODING = Path(__file__).parent / "coding"


def key(text: str) -> str:
    return hashlib.sha1(" ".join(text.split()).encode()).hexdigest()[:10]


def label_accuracy(m, coded_concepts) -> tuple[int, int, int, list[str]]:
    """(true concept labels, concept labels, new themes, lines): a concept label is true when
    at least half of the theme's participants' texts are coded with that concept."""
    true = total = new = 0
    lines = []
    for t in m.themes:
        if not t.voice_respondents:
            continue
        by_resp: dict[str, set] = {}
        for sid in t.segment_ids:
            seg = m.segments[sid]
            if seg["voice"]:
                by_resp.setdefault(seg["respondent"], set()).update(coded_concepts(seg))
        if t.kind != "concept":
            new += 1
            lines.append(f"    new   {t.label!r} ({t.voice_respondents})")
            continue
        hit = sum(t.concept in c for c in by_resp.values()) / max(1, len(by_resp))
        total += 1
        true += hit >= 0.5
        lines.append(f"    {'ok ' if hit >= 0.5 else 'BAD'}   {t.label!r}: {hit:.0%} of {len(by_resp)} coded with it")
    return true, total, new, lines


def prose_coverage(d, m, section_themes: dict[str, list[str]]) -> tuple[list[str], int]:
    from pipeline import concepts
    lex = {c.id: c for c in concepts.load()}
    prose = [without_quotes(p.text).lower() for p in d.paragraphs]
    long_paragraphs = sum(len(p.split()) >= 25 for p in prose)
    text = " ".join(prose)
    named = [name for name, ids in section_themes.items()
             if any(lex[i].narrative.lower() in text or lex[i].label.lower() in text for i in ids)]
    return named, long_paragraphs


def seed_001(tmp: Path) -> None:
    coding = yaml.safe_load((CODING / "seed001.yaml").read_text(encoding="utf-8"))
    with Study(tmp / "s001") as study:
        study.ingest(SEEDS / "001_2034baf10eb29465.txt")
        study.themes()
        d = study.draft()
        m = load_material(study.store, study.config)
        docs = {doc["id"]: doc["text"] for doc in study.store.documents(["quote"])}
        true, total, new, lines = label_accuracy(m, lambda seg: coding["quotes"].get(key(docs.get(seg["document_id"], "")), []))
        named, long_p = prose_coverage(d, m, coding["section_themes"])
        print(f"seed 001: {m.respondents} participants, {len(m.themes)} themes")
        print(f"  labels true to members: {true}/{total} concept labels; {new} new themes")
        print("\n".join(lines))
        print(f"  draft prose (quotes removed) names {len(named)}/10 themes of the human section; "
              f"{long_p} paragraphs of 25+ words")
        print(f"  not named: {sorted(set(coding['section_themes']) - set(named))}")
        planted(study, d, m)


def demo(tmp: Path) -> None:
    import make_demo
    coding = yaml.safe_load((CODING / "demo.yaml").read_text(encoding="utf-8"))
    norm = {re.sub(r"\W+", " ", k.lower()).strip(): v for k, v in coding.items()}

    def coded(seg):
        text = re.sub(r"\W+", " ", seg["text"].lower()).strip()
        return {c for k, v in norm.items() if k in text for c in v}

    with Study(tmp / "demo") as study:
        study.ingest(ROOT / "corpora" / "demo")
        study.themes()
        d = study.draft()
        m = load_material(study.store, study.config)
        true, total, new, lines = label_accuracy(m, coded)
        print(f"demo: {m.respondents} participants, {len(m.themes)} themes; largest: {m.themes[0].label!r} "
              f"({m.themes[0].voice_respondents})")
        print(f"  labels true to members: {true}/{total} concept labels; {new} new themes")
        print("\n".join(lines))
        print(f"  paragraphs: {len(d.paragraphs)}, of 25+ words: "
              f"{sum(len(without_quotes(p.text).split()) >= 25 for p in d.paragraphs)}")
        planted(study, d, m)
    del make_demo


def voices(tmp: Path) -> None:
    with Study(tmp / "voices") as study:
        study.ingest(SEEDS / "001_2034baf10eb29465.txt", SEEDS / "000_a6293695d6126856.txt")
        study.themes()
        d = study.draft()
        m = load_material(study.store, study.config)
        quoted_other = [sid for p in d.paragraphs for s in p.sentences for sid in s.segment_ids
                        if "”" in s.text and not m.segments[sid]["voice"]]
        print(f"seed 001 + 000 (news article): {m.respondents} participants counted (30 expected); "
              f"sentences quoting non-participants: {len(quoted_other)}")


def planted(study, d, m) -> None:
    """Planted failures: invented quotes in every style, citations swapped to another theme,
    and claims whose words belong to another theme (the paraphrase check)."""
    styles = ["”{q}”", "\"{q}\"", "“{q}”", "«{q}»", "'{q}'", "„{q}“"]
    caught = 0
    for style in styles:
        bad = drafting.Draft(d.title, [drafting.Paragraph.of("x", [Sentence(
            "En deltagare skriver: " + style.format(q="Jag fick ett eget kontor med havsutsikt"),
            d.paragraphs[1].segment_ids[:1])])])
        try:
            verify(bad, m)
        except DraftError:
            caught += 1
    print(f"  planted invented quotes caught: {caught}/{len(styles)}")
    claims = [(p, s) for p in d.paragraphs for s in p.sentences if s.claims]
    rng = random.Random(0)
    swapped = caught = 0
    for _, s in claims:
        other = rng.choice([t for t in m.themes if t.id not in s.claims and t.segment_ids])
        bad = drafting.Draft(d.title, [drafting.Paragraph.of("x", [Sentence(s.text, other.segment_ids[:2], s.claims)])])
        swapped += 1
        try:
            verify(bad, m)
        except DraftError:
            caught += 1
    print(f"  planted swapped citations caught (claims check): {caught}/{swapped}")
    check = drafting.support_check(study.store, study.config, m)
    own = [check(s.text, s.segment_ids, len(s.claims)) for _, s in claims]
    wrong = total = 0
    for _, s in claims:
        others = [t for t in m.themes if t.id not in s.claims and t.segment_ids]
        for t in rng.sample(others, min(3, len(others))):
            total += 1
            wrong += not check(s.text, t.segment_ids[:len(s.segment_ids)], len(s.claims))
    print(f"  paraphrase check (near_share {check.near_share}): "
          f"own sentences passed {sum(own)}/{len(own)}; "
          f"the same sentences citing another theme's segments refused {wrong}/{total}")


def main() -> None:
    if not SEEDS.exists():
        sys.exit(f"needs {SEEDS}")
    tmp = Path(tempfile.mkdtemp())
    try:
        seed_001(tmp)
        voices(tmp)
        demo(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
