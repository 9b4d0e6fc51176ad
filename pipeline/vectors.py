"""Vector helpers shared by every stage: one normaliser, one centring."""
from __future__ import annotations

import numpy as np


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    X = np.asarray(X, dtype=np.float32 if np.asarray(X).dtype == np.float32 else np.float64)
    norms = np.linalg.norm(X, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return X / norms


def unit(v: np.ndarray) -> np.ndarray:
    return unit_rows(np.asarray(v)[None, :])[0]


def centre(X: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Subtract the corpus mean and renormalise: e5 cosines are compressed (random pairs
    ~0.84); centring spreads them out."""
    X = np.asarray(X)
    return unit_rows(X - (X.mean(axis=0) if mean is None else mean))
