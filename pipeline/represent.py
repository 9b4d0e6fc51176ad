"""Theme representation: Swedish keywords and labels (BERTopic's c-TF-IDF over lemmas, no stop
words) and representative quotes (varied, one per respondent at most)."""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import numpy as np

from .pseudonymise import PLACEHOLDER

WORD = re.compile(r"^[a-zåäöéü][a-zåäöéü-]*[a-zåäöéü]$")


@lru_cache(maxsize=1)
def _nlp():
    import spacy
    nlp = spacy.blank("sv")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})   # tables from spacy-lookups-data
    nlp.initialize()
    return nlp


class LemmaTokenizer:
    """Word keys for counting: the spaCy lookup lemma (gick -> gå, vänner -> vän), then the
    Snowball Swedish stem, so that "grupperna/gruppen/grupp" and "rutinerna/rutiner" count as
    one word. Stop words, placeholders and numbers are dropped. The most frequent surface form
    of each key is remembered (`display`) so keywords read as words, not stems."""

    def __init__(self, stop_words: set[str]):
        self.stop_words = stop_words
        self.forms: dict[str, Counter] = {}

    @staticmethod
    @lru_cache(maxsize=1)
    def _stemmer():
        import snowballstemmer
        return snowballstemmer.stemmer("swedish")

    def __call__(self, text: str) -> list[str]:
        doc = _nlp()(PLACEHOLDER.sub(" ", text))
        stem = self._stemmer().stemWord
        out = []
        for tok in doc:
            low = tok.text.lower()
            lemma = (tok.lemma_ or low).lower()
            if len(lemma) < 3 or not WORD.match(lemma) or low in self.stop_words or lemma in self.stop_words:
                continue
            key = stem(lemma)
            self.forms.setdefault(key, Counter())[low] += 1
            out.append(key)
        return out

    def display(self, key: str) -> str:
        parts = []
        for k in key.split():
            forms = self.forms.get(k)
            parts.append(min(forms.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0] if forms else k)
        return " ".join(parts)


def stop_words(extra: list[str]) -> set[str]:
    from spacy.lang.sv.stop_words import STOP_WORDS
    return set(STOP_WORDS) | {w.lower() for w in extra}


def vectorizer(extra_stop_words: list[str], n_docs: int):
    from sklearn.feature_extraction.text import CountVectorizer
    return CountVectorizer(tokenizer=LemmaTokenizer(stop_words(extra_stop_words)), lowercase=False,
                           token_pattern=None, ngram_range=(1, 2), min_df=2 if n_docs >= 200 else 1)


def bertopic_model(cluster_model, extra_stop_words: list[str], n_docs: int, embedder=None):
    """BERTopic with our parts: no UMAP (the clusterer works on the embeddings themselves),
    our clusterer, a Swedish lemmatising vectorizer; language="swedish" so that å/ä/ö are not
    stripped from topic words."""
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


def keywords(texts: list[str], labels: list[int], embeddings: np.ndarray, extra_stop_words: list[str],
             embedder=None) -> dict[int, list[str]]:
    """c-TF-IDF keywords for already labelled texts (BERTopic manual mode)."""
    from bertopic.cluster import BaseCluster
    if not texts:
        return {}
    model = bertopic_model(BaseCluster(), extra_stop_words, len(texts), embedder)
    try:
        model.fit(texts, embeddings=embeddings, y=np.asarray(labels))
    except ValueError:            # vocabulary empty (e.g. only stop words): no keywords
        return {label: [] for label in set(labels)}
    tokenizer = model.vectorizer_model.tokenizer
    # a keyword must occur in more than one distinct answer of the theme (c-TF-IDF alone lets
    # one repeated sentence supply all the words)
    texts_of: dict[int, set[str]] = {}
    for text, label in zip(texts, labels):
        texts_of.setdefault(label, set()).add(" ".join(text.lower().split()))
    out: dict[int, list[str]] = {}
    for label in sorted(set(labels)):
        topics = Counter(t for t, l in zip(model.topics_, labels) if l == label)
        topic = topics.most_common(1)[0][0]
        distinct = texts_of[label]
        keys_per_text = [set(tokenizer(t)) for t in distinct]
        need = 2 if len(distinct) >= 4 else 1
        words = []
        for key, score in (model.get_topic(topic) or []):
            if not key or score <= 0:
                continue
            parts = key.split()
            if sum(all(p in keys for p in parts) for keys in keys_per_text) >= need:
                words.append(tokenizer.display(key))
        out[label] = list(dict.fromkeys(words))
    return out


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
