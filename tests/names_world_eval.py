"""Names of every origin on real public pages (tests/fixtures/names_world, issue 21): ingest
them into one study and measure recall of name parts by origin (F foreign, N Nordic), words
wrongly replaced, and placeholders shared by different people. The pages are as published
except that their real person names were replaced by invented names of the same origin and
shape; the gold list holds those name parts hashed. Shared by tests/test_names_world.py and
tests/benchmarks/bench_privacy.py."""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from pipeline import Study, config, readers

PAGES = Path(__file__).parent / "fixtures" / "names_world"
GOLD = json.loads((PAGES / "gold.json").read_text(encoding="utf-8"))
WORD = re.compile(r"[\wÅÄÖåäöÉéÜü'’-]+")


def digest(word: str) -> str:
    return hashlib.sha256(("narrativ-names:" + word).encode()).hexdigest()[:16]


def _parts(page: str) -> dict[str, tuple[str, int]]:
    """hashed name part -> (origin, index of the person)."""
    return {h: (o, k) for k, person in enumerate(GOLD[page]["people"]) for h, o in person}


def _mentions(texts: list[str], parts: dict) -> Counter:
    """Occurrences of each gold part (a genitive -s included) in `texts`."""
    found: Counter = Counter()
    for text in texts:
        for w in WORD.findall(text):
            for cand in (w, w[:-1] if w.endswith("s") else None):
                if cand and digest(cand) in parts:
                    found[digest(cand)] += 1
                    break
    return found


def evaluate(study: Study, pages: list[str] | None = None) -> dict:
    pages = pages or sorted(p for p in GOLD if not p.startswith("_"))
    assert study.ingest(*[PAGES / f"{p}.txt" for p in pages]).ok
    cfg, docs = config.load(study.dir), study.store.documents()
    total, left, wrong = Counter(), Counter(), []
    owners: dict[str, set] = defaultdict(set)
    for page in pages:
        path, parts = PAGES / f"{page}.txt", _parts(page)
        _, _, orig = readers.read(path, path.read_bytes(), cfg["ingest"])
        stored = [d for d in docs if d["source_name"] == path.name]
        before = _mentions([t for d in orig for t in (d.title, d.text) if t], parts)
        after = _mentions([t for d in stored for t in (d["title"], d["text"]) if t], parts)
        for h, n in before.items():
            total[parts[h][0]] += n
            left[parts[h][0]] += after[h]
        for o, d in zip(orig, stored):
            wrong += _owners(page, parts, o.text, d, owners)
    return {"total": dict(total), "left": dict(left),
            "recall": {o: 1 - left[o] / total[o] for o in total},
            "wrong": wrong, "shared": {p: sorted(v) for p, v in owners.items() if len(v) > 1}}


def _owners(page: str, parts: dict, original: str, doc, owners: dict) -> list[str]:
    """Record whose name each placeholder replaced; return replaced words that are no name part."""
    wrong = []
    particles = set(GOLD["_particles"].get(page, ()))
    for new_start, new_end, old_start, old_end in json.loads(doc["offset_map"] or "[]"):
        m = re.match(r"\[NAMN \d+\]", doc["text"][new_start:new_end])
        if not m:
            continue
        people = None
        for token in WORD.findall(original[old_start:old_end]):      # no quotes of a nickname
            if digest(token) in particles:
                continue
            h = digest(token) if digest(token) in parts else digest(token[:-1])
            if h not in parts:
                wrong.append(f"{page}: {len(token)}-letter word")      # no text in test output
                continue
            mine = {k for k, person in enumerate(GOLD[page]["people"]) if h in {x for x, _ in person}}
            people = mine if people is None else people & mine
        if people and len(people) == 1:           # a lone shared surname says nothing of whose it is
            person = GOLD[page]["people"][people.pop()]
            owners[m.group(0)].add(" ".join(h for h, _ in person))    # one person may be on two pages
    return wrong
