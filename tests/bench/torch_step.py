#!/usr/bin/python3
"""PyTorch reference for the engine benchmark: time one RoBERTa training step on the CPU.

A torch.nn RoBERTa written out here (no transformers): embeddings (word + position + type,
LayerNorm, dropout), post-LN encoder layers with multi-head attention as explicit q/k/v/o
Linears and an additive padding mask, erf-GELU FFN, and the sequence-classification head
(dense -> tanh -> out_proj on <s>). fp32, dropout 0.1 in train mode, random weights, random
token ids, random labels, cross-entropy. One timed step = zero_grad + forward + loss +
backward (no optimizer step). One warm-up step (it allocates the .grad tensors), then the
median of --steps steps (fewer when --budget seconds run out first).

Padding: by default no padding (every sequence is --len real tokens), matching the engine's
step; the mask is still built and added, so the cost is the same. --pad realistic draws
lengths uniformly in [len/4, len] and pads the tail with <pad> (the FLOPs do not change: the
model is dense over the full length, as in HF).

Prints one JSON object on stdout: seconds_per_step, steps (all timed seconds), threads,
torch_version, blas (BLAS_INFO and the OpenBLAS core actually chosen at run time).

Run with the Debian torch: /usr/bin/python3 tests/bench/torch_step.py --threads 2 --steps 3
"""
import argparse
import ctypes
import json
import math
import os
import re
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flops import step_flops  # noqa: E402

PAD_ID = 1  # RoBERTa's <pad>; positions start at PAD_ID + 1


class Embeddings(nn.Module):
    def __init__(self, vocab, hidden, max_pos, p):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden, padding_idx=PAD_ID)
        self.pos = nn.Embedding(max_pos, hidden, padding_idx=PAD_ID)
        self.tok_type = nn.Embedding(1, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-5)
        self.drop = nn.Dropout(p)

    def forward(self, ids):
        # RoBERTa numbers real tokens from PAD_ID + 1 and gives padding the pad position.
        real = ids.ne(PAD_ID).long()
        pos = torch.cumsum(real, dim=1) * real + PAD_ID
        x = self.word(ids) + self.pos(pos) + self.tok_type(torch.zeros_like(ids))
        return self.drop(self.ln(x))


class Layer(nn.Module):
    def __init__(self, hidden, heads, ffn, p):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, hidden)
        self.o = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden, eps=1e-5)
        self.up = nn.Linear(hidden, ffn)
        self.down = nn.Linear(ffn, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-5)
        self.drop = nn.Dropout(p)

    def split(self, x):  # (B, L, H) -> (B, heads, L, D)
        b, n, h = x.shape
        return x.view(b, n, self.heads, h // self.heads).transpose(1, 2)

    def forward(self, x, mask):
        b, n, h = x.shape
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(h // self.heads) + mask
        probs = self.drop(F.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, n, h)
        x = self.ln1(x + self.drop(self.o(ctx)))
        return self.ln2(x + self.drop(self.down(F.gelu(self.up(x)))))


class Roberta(nn.Module):
    def __init__(self, layers, hidden, heads, ffn, vocab, labels, max_pos=514, p=0.1):
        super().__init__()
        self.emb = Embeddings(vocab, hidden, max_pos, p)
        self.layers = nn.ModuleList(Layer(hidden, heads, ffn, p) for _ in range(layers))
        self.dense = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, labels)
        self.drop = nn.Dropout(p)

    def forward(self, ids):
        # Additive mask over keys: 0 for real tokens, a large negative for padding.
        mask = (ids.eq(PAD_ID).float() * torch.finfo(torch.float32).min)[:, None, None, :]
        x = self.emb(ids)
        for layer in self.layers:
            x = layer(x, mask)
        cls = self.drop(x[:, 0])
        return self.out_proj(self.drop(torch.tanh(self.dense(cls))))


def init_weights(model, gen):
    # BERT-style init (normal 0.02, zero bias, unit LayerNorm); values do not matter for speed
    # but keep activations in a sane range (no denormals, no overflow).
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            with torch.no_grad():
                m.weight.normal_(0.0, 0.02, generator=gen)
                if isinstance(m, nn.Linear):
                    m.bias.zero_()


def make_batch(batch, length, vocab, labels, pad, gen):
    # Ids 3.. avoid <s>=0, <pad>=1, </s>=2 in the body; each row is <s> ... </s>.
    ids = torch.randint(3, vocab, (batch, length), generator=gen)
    ids[:, 0] = 0
    if pad == "realistic":
        lens = torch.randint(max(2, length // 4), length + 1, (batch,), generator=gen)
    else:
        lens = torch.full((batch,), length)
    for i, n in enumerate(lens.tolist()):
        ids[i, n - 1] = 2
        ids[i, n:] = PAD_ID
    y = torch.randint(0, labels, (batch,), generator=gen)
    return ids, y


def openblas_lib():
    """The OpenBLAS that this process loaded (via torch's libblas.so.3), or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {ln.split()[-1] for ln in f if "blas" in ln and "/" in ln}
    except OSError:
        return None, None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            return lib, path
        except (OSError, AttributeError):
            continue
    return None, None


def blas_summary(threads):
    """BLAS_INFO from torch's build config and, when it is OpenBLAS, the core it picked."""
    cfg = torch.__config__.show()
    out = {}
    for key in ("BLAS_INFO", "LAPACK_INFO", "USE_MKLDNN", "USE_OPENMP"):
        m = re.search(key + r"=([^,\s]+)", cfg)
        if m:
            out[key] = m.group(1)
    m = re.search(r"CPU capability usage: (\S+)", cfg)
    if m:
        out["cpu_capability"] = m.group(1)
    out["mkl"] = torch.backends.mkl.is_available()
    lib, path = openblas_lib()
    if lib is not None:
        out["openblas_lib"] = os.path.realpath(path)
        out["openblas_core"] = lib.openblas_get_corename().decode()
        out["openblas_config"] = lib.openblas_get_config().decode()
        out["openblas_threads"] = lib.openblas_get_num_threads()
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS"):
        out[var] = os.environ.get(var)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--ffn", type=int, default=3072)
    p.add_argument("--vocab", type=int, default=50265)
    p.add_argument("--labels", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--len", type=int, default=128, dest="length")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=3, help="timed steps (after 1 warm-up)")
    p.add_argument("--budget", type=float, default=0,
                   help="stop timing once the timed steps took this many seconds (0: no cap;"
                        " at least one step is always timed)")
    p.add_argument("--pad", choices=("none", "realistic"), default="none")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--probe", action="store_true",
                   help="only print the BLAS summary (which OpenBLAS core this environment"
                        " selects) as JSON, without building or timing a model")
    a = p.parse_args()
    if a.probe:
        print(json.dumps({"torch_version": torch.__version__, "blas": blas_summary(a.threads)}))
        return
    if a.threads < 1 or a.steps < 1:
        p.error("--threads and --steps must be >= 1")
    if a.length + 2 > 514:
        p.error("--len must be <= 512 (RoBERTa position table)")

    torch.set_num_threads(a.threads)
    # Debian's torch calls OpenBLAS (pthread build) for fp32 GEMMs; that pool is sized
    # separately from torch's OpenMP threads, so set it to the same count.
    lib, _ = openblas_lib()
    if lib is not None:
        lib.openblas_set_num_threads(a.threads)

    gen = torch.Generator().manual_seed(a.seed)
    model = Roberta(a.layers, a.hidden, a.heads, a.ffn, a.vocab, a.labels)
    init_weights(model, gen)
    model.train()
    ids, y = make_batch(a.batch, a.length, a.vocab, a.labels, a.pad, gen)
    torch.manual_seed(a.seed)  # dropout masks

    def step():
        model.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(ids), y)
        loss.backward()
        return loss.item()

    step()  # warm-up: allocates grads, first-touch of weights and workspaces
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
        if a.budget > 0 and sum(times) >= a.budget:
            break
    if not math.isfinite(loss):
        sys.exit("torch_step: loss is not finite: %r" % loss)
    fl = step_flops(a.layers, a.hidden, a.heads, a.ffn, a.batch, a.length, a.labels)
    sec = statistics.median(times)
    print(json.dumps({
        "seconds_per_step": sec,
        "steps": times,
        "threads": a.threads,
        "torch_version": torch.__version__,
        "step_flops": fl["total"],
        "gflops": fl["total"] / sec / 1e9,
        "loss": loss,
        "pad": a.pad,
        "shape": {"layers": a.layers, "hidden": a.hidden, "heads": a.heads, "ffn": a.ffn,
                  "vocab": a.vocab, "batch": a.batch, "len": a.length},
        "blas": blas_summary(a.threads),
    }))


if __name__ == "__main__":
    main()
