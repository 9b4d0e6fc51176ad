"""Recall and false positives of pseudonymisation against the hand-listed names in
tests/fixtures/person_names.json. Shared by the privacy tests and the privacy benchmark."""
from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline import config, readers

GOLD = json.loads((Path(__file__).parent / "fixtures" / "person_names.json").read_text(encoding="utf-8"))


def _count(word: str, texts: list[str], genitive: bool = True) -> int:
    rx = re.compile(r"(?<![\wÅÄÖåäöé-])" + re.escape(word) + (r"s?" if genitive else "") + r"(?![\wÅÄÖåäöé-])")
    return sum(len(rx.findall(t)) for t in texts)


def _texts(docs) -> list[str]:
    out = []
    for d in docs:
        out += [t for t in (d["title"], d["text"]) if t]
    return out


def evaluate(study, path: Path) -> dict:
    """Ingest `path` into `study` and compare what was stored with what the file says."""
    gold = GOLD[path.name]
    cfg = config.load(study.dir)
    _, _, originals = readers.read(path, path.read_bytes(), cfg["ingest"])
    before = [t for d in originals for t in (d.title, d.text) if t]
    assert study.ingest(path).ok
    stored_docs = [d for d in study.store.documents() if d["source_name"] == path.name]
    after = _texts(stored_docs)
    names = gold["names"]
    found = {w: _count(w, before) for w in names}
    assert found == names, f"gold list does not match {path.name}: {found}"
    missed = {w: _count(w, after) for w in names if _count(w, after)}
    total = sum(names.values())
    keep_before = sum(_count(w, before, genitive=False) for w in gold["keep"])
    keep_after = sum(_count(w, after, genitive=False) for w in gold["keep"])
    # false positives: replaced words in the text that are not on the gold list
    fp: list[str] = []
    for orig, doc in zip(originals, stored_docs):
        for new_start, new_end, old_start, old_end in json.loads(doc["offset_map"] or "[]"):
            if doc["text"][new_start:new_end].startswith("[NAMN"):
                for token in orig.text[old_start:old_end].split():
                    base = token[:-1] if token.endswith("s") and token[:-1] in names else token
                    if base not in names:
                        fp.append(token)
    return {
        "file": path.name,
        "mentions": total,
        "missed": missed,
        "recall": 1 - sum(missed.values()) / total,
        "fp_tokens": fp,
        "keep_mentions": keep_before,
        "keep_replaced": keep_before - keep_after,
    }
