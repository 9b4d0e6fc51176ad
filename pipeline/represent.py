"""Theme representation: Swedish keywords and labels (BERTopic's c-TF-IDF over lemmas, no stop
words) and representative quotes (varied, one per respondent at most)."""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import numpy as np

from .pseudonymise import PLACEHOLDER

# raise when keywords() would give other words for the same input (themes.cached_keywords)
KEYWORDS_VERSION = 2
WORD = re.compile(r"^[a-zåäöéü][a-zåäöéü-]*[a-zåäöéü]$")


# words as the keyword counter sees them: letters, with inner hyphens ("budget-"): numbers,
# punctuation and placeholders are not words
TOKEN = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


@lru_cache(maxsize=1)
def lemma_table() -> dict[str, str]:
    """spaCy's Swedish lookup lemmas (the `sv_lemma_lookup` table of spacy-lookups-data, which
    spaCy's lookup lemmatizer uses: gick -> gå, grupperna -> grupp), read directly."""
    import gzip
    import json
    from importlib import resources
    data = resources.files("spacy_lookups_data").joinpath("data")
    packed = data.joinpath("sv_lemma_lookup.json.gz")
    if packed.is_file():
        return json.loads(gzip.decompress(packed.read_bytes()))
    return json.loads(data.joinpath("sv_lemma_lookup.json").read_text(encoding="utf-8"))


class LemmaTokenizer:
    """Word keys for counting: the spaCy lookup lemma (gick -> gå, vänner -> vän), then the
    Snowball Swedish stem, so that "grupperna/gruppen/grupp" and "rutinerna/rutiner" count as
    one word. Stop words, placeholders and numbers are dropped. The most frequent surface form
    of each key is remembered (`display`) so keywords read as words, not stems.

    Words are found with a regular expression and looked up in spaCy's lemma table the way
    spaCy's lookup lemmatizer does (the exact word, else the word itself): running spaCy's
    tokenizer took 4 s per 10,000 answers and 2-6 s to import, for the same words (checked in
    tests/test_themes.py); any length of text works."""

    def __init__(self, stop_words: set[str]):
        self.stop_words = stop_words
        self.forms: dict[str, Counter] = {}
        self._key: dict[str, str | None] = {}

    @staticmethod
    @lru_cache(maxsize=1)
    def _stemmer():
        import snowballstemmer
        return snowballstemmer.stemmer("swedish")

    def __call__(self, text: str) -> list[str]:
        return self.keys(m.group() for m in TOKEN.finditer(PLACEHOLDER.sub(" ", text)))

    def many(self, texts: list[str]) -> list[list[str]]:
        """The word keys of many texts."""
        return [self(t) for t in texts]

    def keys(self, words) -> list[str]:
        out = []
        for word in words:
            low = word.lower()
            key = self._key.get(word, "")
            if key == "":
                key = self._key[word] = self._word_key(word, low)
            if key is None:
                continue
            forms = self.forms.get(key)
            if forms is None:
                forms = self.forms[key] = Counter()
            forms[low] += 1
            out.append(key)
        return out

    def _word_key(self, word: str, low: str) -> str | None:
        lemma = lemma_table().get(word, word).lower()
        if len(lemma) < 3 or not WORD.match(lemma) or low in self.stop_words or lemma in self.stop_words:
            return None
        return self._stemmer().stemWord(lemma)

    def display(self, key: str) -> str:
        parts = []
        for k in key.split():
            forms = self.forms.get(k)
            parts.append(min(forms.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0] if forms else k)
        return " ".join(parts)


def _unigrams_and_bigrams(keys: list[str]) -> list[str]:
    return keys + [f"{a} {b}" for a, b in zip(keys, keys[1:])]


def stop_words(extra: list[str]) -> set[str]:
    return set(_spacy_stop_words()) | {w.lower() for w in extra}


@lru_cache(maxsize=1)
def _spacy_stop_words() -> frozenset[str]:
    """spaCy's Swedish stop words (spacy/lang/sv/stop_words.py), read without importing spaCy
    (2-6 s) when it is not loaded already."""
    import sys
    if "spacy" in sys.modules:
        from spacy.lang.sv.stop_words import STOP_WORDS
        return frozenset(STOP_WORDS)
    import importlib.util
    import runpy
    from pathlib import Path
    spec = importlib.util.find_spec("spacy")
    path = Path(next(iter(spec.submodule_search_locations))) / "lang" / "sv" / "stop_words.py"
    return frozenset(runpy.run_path(str(path))["STOP_WORDS"])


def vectorizer(extra_stop_words: list[str], n_docs: int):
    from sklearn.feature_extraction.text import CountVectorizer
    return CountVectorizer(tokenizer=LemmaTokenizer(stop_words(extra_stop_words)), lowercase=False,
                           token_pattern=None, ngram_range=(1, 2), min_df=2 if n_docs >= 200 else 1)


def bertopic_model(cluster_model, extra_stop_words: list[str], n_docs: int, embedder=None):
    """BERTopic with our parts, for notebooks and comparisons: no UMAP (the clusterer works on
    the embeddings themselves), our clusterer, a Swedish lemmatising vectorizer;
    language="swedish" so that å/ä/ö are not stripped from topic words. The themes stage calls
    the clusterer itself (same partition, tests/test_themes.py) and counts keywords per answer."""
    from .embed import import_torch
    import_torch()
    from bertopic import BERTopic
    from bertopic.dimensionality import BaseDimensionalityReduction
    from bertopic.vectorizers import ClassTfidfTransformer

    from .embed import as_bertopic_backend
    return BERTopic(
        embedding_model=as_bertopic_backend(embedder) if embedder is not None else None,
        umap_model=BaseDimensionalityReduction(),
        hdbscan_model=cluster_model,
        vectorizer_model=vectorizer(extra_stop_words, n_docs),
        ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
        language="swedish",
        top_n_words=10,
        calculate_probabilities=False,
        verbose=False,
    )


def keywords(texts: list[str], labels: list[int], extra_stop_words: list[str], top_n: int = 10) -> dict[int, list[str]]:
    """c-TF-IDF keywords (BERTopic's ClassTfidfTransformer) for already labelled texts.

    Counted per answer, then summed per theme — never one joined text per theme, so a theme of
    any total length works, and `min_df` means "in at least two answers" (not "in two themes").
    Each distinct text counts once per theme (one repeated sentence must not supply all the
    words), and a keyword must occur in more than one distinct answer of a theme of four or
    more. A theme whose answers hold only stop words gets no keywords; any other error is
    raised."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import CountVectorizer
    classes = sorted(set(labels))
    if not texts:
        return {}
    distinct: dict[tuple[int, str], str] = {}
    for text, label in zip(texts, labels):
        distinct.setdefault((label, " ".join(text.lower().split())), text)
    docs = list(distinct.values())
    row_class = np.array([classes.index(label) for label, _ in distinct])
    tokenizer = LemmaTokenizer(stop_words(extra_stop_words))
    vec = CountVectorizer(analyzer=_unigrams_and_bigrams, min_df=2 if len(docs) >= 200 else 1)
    try:
        X = vec.fit_transform(tokenizer.many(docs))
    except ValueError as exc:
        if "empty vocabulary" not in str(exc):
            raise
        return {label: [] for label in classes}                  # only stop words: no keywords
    M = sp.csr_matrix((np.ones(len(docs)), (row_class, np.arange(len(docs)))), shape=(len(classes), len(docs)))
    counts = (M @ X).tocsr()
    in_answers = (M @ (X > 0).astype(np.int64)).toarray()
    scores = class_tfidf(counts).toarray()
    vocab = vec.get_feature_names_out()
    n_distinct = np.bincount(row_class, minlength=len(classes))
    out: dict[int, list[str]] = {}
    for c, label in enumerate(classes):
        need = 2 if n_distinct[c] >= 4 else 1
        order = np.argsort(-scores[c], kind="stable")
        # a word pair must be a phrase answers share (three of them), not two words that met once
        words = [tokenizer.display(vocab[j]) for j in order
                 if scores[c, j] > 0 and in_answers[c, j] >= (max(need, 3) if " " in vocab[j] else need)][:top_n]
        out[label] = list(dict.fromkeys(words))
    return out


def class_tfidf(counts):
    """BERTopic's c-TF-IDF (ClassTfidfTransformer(reduce_frequent_words=True)): each theme's
    counts l1-normalised, square-rooted, times log(1 + A / f) (A: the mean count of words per
    theme, as an integer; f: the word's count over all themes). Written out here because
    importing bertopic imports sentence-transformers and torch (5-12 s) and a re-run after a
    codebook edit needs nothing else from it; tests/test_themes.py checks it equals BERTopic's."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize
    counts = sp.csr_matrix(counts, dtype=np.float64)
    df = np.asarray(counts.sum(axis=0)).ravel()
    avg = int(counts.sum(axis=1).mean())
    idf = np.log(avg / df + 1)
    X = normalize(counts, axis=1, norm="l1", copy=True)
    X.data = np.sqrt(X.data)
    return (X @ sp.diags(idf, offsets=0, format="csr")).tocsr()


def make_label(words: list[str], fallback: str = "") -> str:
    """'Rutiner, struktur och vardag' from the top keywords (a bigram absorbs its words); with
    no keywords (a theme of stop words only, e.g. "Inget, allt har varit bra"), the start of its
    most typical quote."""
    picked: list[str] = []
    for w in [w for w in words if " " not in w] or words:      # single words read best in a label
        if any(w in p.split() or p in w.split() for p in picked):
            continue
        picked.append(w)
        if len(picked) == 3:
            break
    if not picked:
        words = fallback.strip(" .!?").split()
        return " ".join(words[:6]) + ("…" if len(words) > 6 else "") if words else "Övrigt"
    text = picked[0] if len(picked) == 1 else ", ".join(picked[:-1]) + " och " + picked[-1]
    return text[0].upper() + text[1:]


def representatives(members: list[int], scores: np.ndarray, raw: np.ndarray, texts: list[str],
                    respondents: list[str], n: int, pinned: list[int] = ()) -> list[int]:
    """Up to n member indices: pinned first, then the most typical (score to the theme), skipping
    near-duplicates (cosine > 0.95 or same text) and a second quote from the same respondent;
    quotes of readable length (25-300 characters) are preferred."""
    chosen = [i for i in pinned if i in set(members)][:n]

    def ok_length(i):
        return 25 <= len(texts[i]) <= 300

    ranked = sorted(members, key=lambda i: (not ok_length(i), -scores[i], i))
    for i in ranked:
        if len(chosen) >= n:
            break
        if i in chosen:
            continue
        norm = " ".join(texts[i].lower().split())
        if any(" ".join(texts[j].lower().split()) == norm or float(raw[i] @ raw[j]) > 0.95 for j in chosen):
            continue
        if any(respondents[j] == respondents[i] for j in chosen):
            continue
        chosen.append(i)
    return chosen
