"""SweFAQ through the CLI path against the internal path of bench_themes.py (run on demand).

The internal path (tests/benchmarks/bench_themes.py) embeds the SweFAQ questions, centres them and
runs AutoKClusterer on them: one vector per question, no segmenting, no concepts, no folding.
The CLI path writes the same questions into a survey csv (one row per question: an `ID` column
and the question as the answer in a column `Fråga`), runs `narrativ ingest` and `narrativ themes`
in a subprocess, and reads DIR/out/themes.json. A question's theme is the theme that holds most
of its characters (a long question can be split into several segments); a question none of whose
segments has a theme counts as one "unassigned" cluster (-1), as BERTopic's outliers do in
bench_themes.py. ARI/NMI against `category_id`, as there.

Then the same study is themed again in-process (pipeline.Study, the embeddings cached in its
store) with one step of the theme model switched off at a time — study settings where one exists
(an empty lexicon file for `[concepts] lexicon`, `min_theme_size`, ...), a subclass of ThemeModel
where not — and with the questions kept whole (`[segment] keep_whole_chars`, a second study
ingested through the CLI). Printed: ARI, NMI, themes, inductive k (clusters before the concept
steps), unassigned questions per variant; how many segments the concept lexicon tags (and how
many of those by a cue word in the text), and how the CLI run placed its segments. The internal
path is also shown with identical questions clustered once, as the theme model does. Asserts
nothing; skips with a message when ../shared is missing.

    .venv/bin/python tests/benchmarks/bench_swefaq_cli.py [--splits test dev]
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE.parent), str(ROOT)]

from conftest import SHARED  # noqa: E402

DATA = SHARED / "benchmarks" / "superlim2"
COLUMN = "Fråga"
WHOLE = "[segment]\nkeep_whole_chars = 100000\n"
EMPTY_LEXICON = "concepts: []\n"


def load(split: str) -> list[dict]:
    return [json.loads(line) for line in open(DATA / f"swefaq_{split}.jsonl", encoding="utf-8")]


def write_csv(rows: list[dict], path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["ID", COLUMN])
        for i, r in enumerate(rows, start=1):
            w.writerow([i, r["question"]])
    return path


def cli(*args) -> None:
    subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def scores(truth, labels) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    return adjusted_rand_score(truth, labels), normalized_mutual_info_score(truth, labels)


def internal(rows, embedder, cfg, once: bool = False) -> dict:
    """bench_themes.swefaq's own path (ours, not BERTopic's defaults). `once`: identical
    questions (case and spacing aside) clustered once, as ThemeModel._cluster does."""
    from pipeline.cluster import AutoKClusterer, centre
    texts = [r["question"] for r in rows]
    X = embedder.encode(texts)
    C = centre(X)
    key = [" ".join(t.lower().split()) for t in texts]
    first: dict[str, int] = {}
    for i, k in enumerate(key):
        first.setdefault(k, i)
    fit_on = sorted(first.values()) if once else list(range(len(texts)))
    tcfg = cfg["themes"]
    fit = AutoKClusterer(k_max=tcfg["max_themes"], tolerance=tcfg["silhouette_tolerance"]).fit(C[fit_on])
    label_of = {key[i]: lab for i, lab in zip(fit_on, fit.labels_)}
    labels = [label_of[k] for k in key]
    ari, nmi = scores([r["category_id"] for r in rows], labels)
    return {"ari": ari, "nmi": nmi, "themes": fit.k_, "k": fit.k_, "unassigned": 0, "X": X,
            "repeats": len(texts) - len(first)}


def question_of(store) -> dict[str, int]:
    """segment id -> index of its question (the csv's ID column is the respondent)."""
    return {g["id"]: int(g["respondent"].rsplit(":", 1)[1]) - 1 for g in store.segments()}


def score_study(study_dir: Path, rows) -> dict:
    from pipeline.store import Store
    payload = json.loads((study_dir / "out" / "themes.json").read_text(encoding="utf-8"))
    store = Store(study_dir, create=False)
    q_of = question_of(store)
    texts = {g["id"]: g["text"] for g in store.segments()}
    chars: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for k, theme in enumerate(payload["themes"]):
        for seg in theme["segments"]:
            chars[q_of[seg["segment_id"]]][k] += len(texts[seg["segment_id"]])
    labels = [max(chars[i].items(), key=lambda kv: (kv[1], -kv[0]))[0] if chars[i] else -1
              for i in range(len(rows))]
    ari, nmi = scores([r["category_id"] for r in rows], labels)
    how = Counter(seg["how"] for theme in payload["themes"] for seg in theme["segments"])
    return {"ari": ari, "nmi": nmi, "themes": len(payload["themes"]), "k": payload["counts"]["inductive_k"],
            "unassigned": labels.count(-1), "segments": payload["counts"]["segments"],
            "unassigned_segments": payload["counts"]["unassigned"], "how": dict(how.most_common()),
            "concept_themes": sum(t.get("kind") == "concept" for t in payload["themes"])}


def concept_tags(study_dir: Path, embedder) -> tuple[int, int, int]:
    """(segments, tagged with a concept of the lexicon, of those with a cue word of that
    concept in the text) — as ThemeModel._tag tags them."""
    from pipeline import Study
    from pipeline.concepts import ConceptTagger
    from pipeline.embed import embed_texts
    from pipeline.themes import load_units, model_from_config
    from pipeline.vectors import centre
    study = Study(study_dir, create=False)
    cfg = study.config
    units = load_units(study.store, cfg["themes"]["kinds"], set(), cfg)
    X, _ = embed_texts(study.store, embedder, units.texts)
    mean = X.mean(axis=0)
    model = model_from_config(cfg)
    c = cfg["concepts"]
    tagger = ConceptTagger(c["segment_min_z"], c["cue_min_z"], c["segment_floor"]).fit(
        model.concepts, lambda phrases: embed_texts(study.store, embedder, phrases)[0], mean)
    tags, _ = tagger.tag(centre(X, mean), units.texts, [model._allowed(a) for a in units.attributes])
    tagged = [i for i in range(len(tags)) if tags[i] >= 0]
    cues = tagger.cue_matrix(units.texts)
    by_cue = sum(bool(cues[i, int(tags[i])]) for i in tagged)
    return len(tags), len(tagged), by_cue


def material(study_dir: Path, rows) -> dict:
    """What ingest made of the questions: segments per question, texts changed by
    pseudonymisation (counts only: no text is printed)."""
    from pipeline.store import Store
    store = Store(study_dir, create=False)
    per_q = defaultdict(list)
    for g in store.segments():
        per_q[int(g["respondent"].rsplit(":", 1)[1]) - 1].append(g["text"])
    changed = sum(" ".join(" ".join(per_q[i]).split()) != " ".join(r["question"].split())
                  for i, r in enumerate(rows))
    return {"split_questions": sum(len(v) > 1 for v in per_q.values()),
            "segments": sum(len(v) for v in per_q.values()), "changed_texts": changed}


# -- variants: one step off at a time ----------------------------------------------------------
def _model_class(no_merge=False, no_gather=False):
    from pipeline.theme_model import ThemeModel

    class Variant(ThemeModel):
        def _one_theme_per_concept(self, st, named, shaped):
            # with every theme counted as "shaped", two themes named by one concept keep their
            # members (the smaller loses the name) instead of being merged
            return super()._one_theme_per_concept(st, named, set(named) if no_merge else shaped)

        def _gather(self, *args, **kwargs):
            if not no_gather:
                super()._gather(*args, **kwargs)
    return Variant


NO_LEXICON = {"concepts": {"lexicon": "EMPTY"}}       # EMPTY: replaced by the empty lexicon's path
VARIANTS = [
    # name, settings change, ThemeModel options (None: the shipped ThemeModel)
    ("as the CLI (in-process)", {}, None),
    ("concept steps off (empty lexicon)", NO_LEXICON, None),
    ("no merge of themes named by one concept", {}, {"no_merge": True}),
    ("no gathering into concept themes", {}, {"no_gather": True}),
    ("no own theme per concept (own_theme_min_share=1)", {"concepts": {"own_theme_min_share": 1.0}}, None),
    ("no folding (min_theme_size = 1)", {"themes": {"min_theme_size": 1}}, None),
    ("separate_questions = false", {"themes": {"separate_questions": False}}, None),
    ("max_themes = 30", {"themes": {"max_themes": 30}}, None),
    ("empty lexicon + min_theme_size = 1", {**NO_LEXICON, "themes": {"min_theme_size": 1}}, None),
]


def _with_lexicon(change: dict, empty: Path) -> dict:
    change = copy.deepcopy(change)
    if change.get("concepts", {}).get("lexicon") == "EMPTY":
        change["concepts"]["lexicon"] = str(empty)
    return change


def run_variant(study_dir: Path, rows, embedder, change: dict, options: dict | None) -> dict:
    from pipeline import Study
    from pipeline import themes as themes_stage
    from pipeline.config import _merge
    (study_dir / "codebook.yaml").unlink(missing_ok=True)     # no memory of the previous run
    study = Study(study_dir, create=False)
    study.config = _merge(study.config, _with_lexicon(change, study_dir.parent / "empty_lexicon.yaml"))
    original = themes_stage.model_from_config

    def model_from_config(cfg):
        m = original(cfg)
        if not options:
            return m
        return _model_class(**options)(m.tcfg, m.ccfg, m.concepts, m.wish_question.pattern, m.nothing.pattern)
    themes_stage.model_from_config = model_from_config
    try:
        study.themes(rediscover=True, embedder=embedder)
    finally:
        themes_stage.model_from_config = original
    return score_study(study_dir, rows)


W = 52


def line(name: str, r: dict) -> str:
    k = "-" if r.get("k") is None else str(r["k"])
    return f"  {name:{W}} {r['ari']:6.3f} {r['nmi']:6.3f} {r['themes']:7d} {k:>4} {r['unassigned']:11d}"


def one_split(split: str, embedder, cfg) -> None:
    rows = load(split)
    print(f"\nSweFAQ {split}: {len(rows)} questions, {len({r['category_id'] for r in rows})} categories")
    print(f"  {'path / variant':{W}} {'ARI':>6} {'NMI':>6} {'themes':>7} {'k':>4} {'unassigned':>11}")
    ref = internal(rows, embedder, cfg)
    print(line("internal path (bench_themes.py)", ref))
    once = internal(rows, embedder, cfg, once=True)
    print(line(f"internal, identical questions once ({once['repeats']} repeats)", once))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = write_csv(rows, tmp / f"swefaq_{split}.csv")
        empty = tmp / "empty_lexicon.yaml"
        empty.write_text(EMPTY_LEXICON, encoding="utf-8")
        study = tmp / "study"
        cli("ingest", "--study", study, path)
        cli("themes", "--study", study)
        got = score_study(study, rows)
        print(line("CLI path (narrativ ingest + themes)", got))
        m = material(study, rows)
        n, tagged, by_cue = concept_tags(study, embedder)
        print(f"    ingest: {m['segments']} segments, {m['split_questions']} questions split into several, "
              f"{m['changed_texts']} question texts changed by ingest; {got['unassigned_segments']} segments unassigned")
        print(f"    concept lexicon: {tagged} of {n} segments tagged with a concept, {by_cue} of them by a cue word; "
              f"{got['concept_themes']} of {got['themes']} themes named by a concept")
        print(f"    placements: {got['how']}")
        for name, change, options in VARIANTS:
            print(line(name, run_variant(study, rows, embedder, change, options)))

        whole = tmp / "whole"
        whole.mkdir()
        (whole / "study.toml").write_text(WHOLE, encoding="utf-8")
        cli("ingest", "--study", whole, path)
        cli("themes", "--study", whole)
        got = score_study(whole, rows)
        print(line("CLI, questions kept whole (keep_whole_chars)", got))
        m = material(whole, rows)
        print(f"    ingest: {m['segments']} segments, {m['changed_texts']} question texts changed by ingest; "
              f"placements: {got['how']}")
        for name, change, options in VARIANTS[1:]:
            print(line("whole + " + name, run_variant(whole, rows, embedder, change, options)))

        plain = tmp / "plain"
        plain.mkdir()
        (plain / "study.toml").write_text(
            f"{WHOLE}\n[themes]\nmin_theme_size = 1\n\n[concepts]\nlexicon = {json.dumps(str(empty))}\n",
            encoding="utf-8")
        cli("ingest", "--study", plain, path)
        cli("themes", "--study", plain)
        print(line("CLI, study.toml: whole + empty lexicon + min 1", score_study(plain, rows)))

        # the vectors the CLI path clustered against the internal path's
        from pipeline.embed import text_hash
        from pipeline.store import Store
        store = Store(whole, create=False)
        text_of = {int(g["respondent"].rsplit(":", 1)[1]) - 1: g["text"] for g in store.segments()}
        hashes = [text_hash(text_of[i]) for i in range(len(rows))]
        cached = store.get_embeddings(embedder.model_id, set(hashes))
        V = np.vstack([cached[h] for h in hashes])
        differ = int((np.abs(V - ref["X"]).max(axis=1) > 1e-4).sum())
        print(f"    vectors: {differ} of {len(rows)} questions embedded differently by the CLI path "
              f"(texts trimmed by ingest, other batches; largest |difference| {np.abs(V - ref['X']).max():.2e})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", nargs="+", default=["test", "dev"])
    args = ap.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} is missing (the shared/ folder {SHARED} is not beside the repo)")
        return
    from pipeline import config
    from pipeline.embed import make_embedder
    cfg = config.defaults()
    embedder = make_embedder(cfg)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    print(f"embedding backend: {embedder.model_id}; code at {commit or '?'}")
    for split in args.splits:
        one_split(split, embedder, cfg)


if __name__ == "__main__":
    main()
