#!/usr/bin/python3
"""Independent float64 PyTorch reference for the C engine (lib/model.c).

Writes tests/fixtures/engine/<head>.safetensors (HF's heads, --head hf) and
jiant_<head>.safetensors (jiant's pooled heads, --head jiant) for the heads classification,
regression, multiple_choice and span: a tiny RoBERTa (2 layers, hidden 32, 4 heads, FFN 37, the full
50265-token vocabulary), a padded batch of real roberta-base token ids, and for dropout off
(suffix 0) and on (suffix 1): logits, loss and the gradient of every parameter.

Run with /usr/bin/python3 (torch 1.13, no transformers): the model below is written from the
HF RobertaModel / jiant head definitions, independent of the C code.

Head architectures (lib/model.h):
  hf     classification/regression: RobertaClassificationHead on <s> (no pooler);
         multiple choice: RobertaForMultipleChoice, tanh(pooler(<s>)) -> dropout -> classifier [1,H];
  jiant  tanh(roberta.pooler.dense(<s>)) -> dropout -> dense -> tanh -> dropout -> out_proj;
         the pooler exists for every head (jiant's encoder always has it) and the span head
         does not use it (its gradient is zero).

To keep the fixtures small:
  * the word embeddings are not stored: both sides compute them with word_embedding() below
    (Philox words turned into floats with exactly representable float32 steps);
  * their gradient is stored only at the rows the batch uses (`wgrad_rows`); every other row
    must be zero.
Token ids are real roberta-base BPE ids (tokenised once and hard-coded here), e.g.
"This is an example" -> 713 16 41 1246.

Dropout masks follow lib/ops.h: element i of call c at step `step` is kept iff
u(philox_word_at(seed, RNG_STREAM_DROPOUT=2, (step << 8) | c, i)) >= p.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "engine")

# ---------------------------------------------------------------- Philox4x32-10

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK32 = np.uint64(0xFFFFFFFF)


def philox(c0, c1, c2, c3, k0, k1):
    """Vectorised Philox4x32-10 on uint64 arrays holding 32-bit values."""
    c = [np.asarray(x, dtype=np.uint64) & MASK32 for x in (c0, c1, c2, c3)]
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for _ in range(10):
        p0 = np.uint64(M0) * c[0]
        p1 = np.uint64(M1) * c[2]
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK32
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK32
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
        k0 = (k0 + np.uint64(W0)) & MASK32
        k1 = (k1 + np.uint64(W1)) & MASK32
    return c


def philox_words(seed, stream, sub, n):
    """Words 0..n-1 of stream (seed, stream, sub), as lib/rng.c philox_word_at."""
    nblk = (n + 3) // 4
    blk = np.arange(nblk, dtype=np.uint64)
    out = philox(blk & MASK32, blk >> np.uint64(32), np.full(nblk, sub), np.full(nblk, stream),
                 seed & 0xFFFFFFFF, seed >> 32)
    return np.stack(out, axis=1).reshape(-1)[:n].astype(np.uint32)


def unit_float(words):
    return (words >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)


def check_philox():
    # Random123 known answers, and the value lib/rng.c gives (tests/unit/test_engine.c checks
    # the same number on the C side).
    r = philox([0], [0], [0], [0], 0, 0)
    assert [int(x[0]) for x in r] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    r = philox([0x243F6A88], [0x85A308D3], [0x13198A2E], [0x03707344], 0xA4093822, 0x299F31D0)
    assert [int(x[0]) for x in r] == [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]


RNG_STREAM_DROPOUT, RNG_STREAM_MODEL_INIT = 2, 6
WORD_SEED = 0x5EED0001


def word_embedding(vocab, hidden):
    """Word embeddings shared with the C test: ((w >> 8) * 2^-24 - 0.5) * 0.1 in float32."""
    w = philox_words(WORD_SEED, RNG_STREAM_MODEL_INIT, 0, vocab * hidden)
    u = unit_float(w)
    return ((u - np.float32(0.5)) * np.float32(0.1)).reshape(vocab, hidden)


def dropout_keep(seed, step, call, n, p):
    return unit_float(philox_words(seed, RNG_STREAM_DROPOUT, (step << 8) | call, n)) >= np.float32(p)


# ---------------------------------------------------------------- the tiny model

CFG = dict(vocab_size=50265, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
           intermediate_size=37, max_position_embeddings=32, type_vocab_size=1, pad_token_id=1,
           layer_norm_eps=1e-5, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
LAYER = ["attention.self.query", "attention.self.key", "attention.self.value",
         "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
         "output.dense", "output.LayerNorm"]


def has_pooler(head, arch):
    return arch == "jiant" or head == "multiple_choice"


def param_shapes(head, num_labels, arch="hf"):
    H, I = CFG["hidden_size"], CFG["intermediate_size"]
    s = {"roberta.embeddings.position_embeddings.weight": (CFG["max_position_embeddings"], H),
         "roberta.embeddings.token_type_embeddings.weight": (CFG["type_vocab_size"], H),
         "roberta.embeddings.LayerNorm.weight": (H,), "roberta.embeddings.LayerNorm.bias": (H,)}
    for l in range(CFG["num_hidden_layers"]):
        p = "roberta.encoder.layer.%d." % l
        for n in LAYER:
            out, inp = H, H
            if n == "intermediate.dense":
                out = I
            if n == "output.dense":
                inp = I
            if n.endswith("LayerNorm"):
                s[p + n + ".weight"], s[p + n + ".bias"] = (H,), (H,)
            else:
                s[p + n + ".weight"], s[p + n + ".bias"] = (out, inp), (out,)
    if has_pooler(head, arch):
        s["roberta.pooler.dense.weight"] = (H, H)
        s["roberta.pooler.dense.bias"] = (H,)
    if head == "multiple_choice" and arch == "hf":
        s["classifier.weight"] = (1, H)
        s["classifier.bias"] = (1,)
        return s
    if head == "span":
        s["classifier.span_attention.weight"] = (1, H)
        s["classifier.span_attention.bias"] = (1,)
        s["classifier.out_proj.weight"] = (num_labels, 2 * H)
    else:
        s["classifier.dense.weight"] = (H, H)
        s["classifier.dense.bias"] = (H,)
        s["classifier.out_proj.weight"] = (num_labels, H)
    s["classifier.out_proj.bias"] = (num_labels,)
    return s


def random_params(head, num_labels, rng, arch="hf"):
    ps = {}
    for name, shape in param_shapes(head, num_labels, arch).items():
        if "LayerNorm.weight" in name:
            v = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias"):
            v = 0.1 * rng.standard_normal(shape)
        elif "embeddings" in name:
            v = 0.1 * rng.standard_normal(shape)
        else:
            v = 0.15 * rng.standard_normal(shape)
        ps[name] = v.astype(np.float32)
    return ps


def layer_norm(x, w, b):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + CFG["layer_norm_eps"]) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / np.sqrt(2.0)))


def forward(P, ids, lens, head, drop, batch, arch="hf", lora=None, adapter=False):
    """P: name -> float64 tensor (requires grad).  drop(call, shape) -> multiplier or None.
    lora: scaling alpha/r -- every Linear "M" with P["M.lora_A.weight"] adds
    scaling * (x A^T) B^T (Hu et al.; no LoRA dropout).  adapter: the Pfeiffer adapter
    P["roberta.encoder.layer.N.output.adapters.adapter.adapter_down.0.*"], "...adapter_up.*"
    between every FFN and its LayerNorm, as PAPER.md writes it:
    LN(h + x + ReLU(LN(h + x) D^T + b_d) U^T + b_u), LN the layer's output.LayerNorm."""
    H, NH, L = CFG["hidden_size"], CFG["num_attention_heads"], CFG["num_hidden_layers"]
    HD, pad = H // NH, CFG["pad_token_id"]
    S, T = ids.shape

    def dropout(x, call):
        m = drop(call, x.shape)
        return x if m is None else x * m

    notpad = (ids != pad).long()
    pos = torch.cumsum(notpad, dim=1) * notpad + pad
    x = P["roberta.embeddings.word_embeddings.weight"][ids] + \
        P["roberta.embeddings.position_embeddings.weight"][pos] + \
        P["roberta.embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
    x = layer_norm(x, P["roberta.embeddings.LayerNorm.weight"], P["roberta.embeddings.LayerNorm.bias"])
    x = dropout(x, 0)
    keymask = torch.tensor([[0.0 if t < lens[s] else -1e9 for t in range(T)] for s in range(S)])
    for l in range(L):
        p = "roberta.encoder.layer.%d." % l

        def lin(z, n):
            y = z @ P[p + n + ".weight"].T + P[p + n + ".bias"]
            if lora is not None and p + n + ".lora_A.weight" in P:
                y = y + lora * (z @ P[p + n + ".lora_A.weight"].T) @ P[p + n + ".lora_B.weight"].T
            return y

        def heads(z):
            return z.view(S, T, NH, HD).permute(0, 2, 1, 3)

        q, k, v = heads(lin(x, LAYER[0])), heads(lin(x, LAYER[1])), heads(lin(x, LAYER[2]))
        scores = q @ k.transpose(-1, -2) / np.sqrt(HD) + keymask[:, None, None, :]
        probs = dropout(torch.softmax(scores, dim=-1), 1 + 3 * l)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(S, T, H)
        a = dropout(lin(ctx, LAYER[3]), 2 + 3 * l)
        a = layer_norm(a + x, P[p + LAYER[4] + ".weight"], P[p + LAYER[4] + ".bias"])
        f = dropout(lin(gelu(lin(a, LAYER[5])), LAYER[6]), 3 + 3 * l)
        ln_w, ln_b = P[p + LAYER[7] + ".weight"], P[p + LAYER[7] + ".bias"]
        if adapter:
            q = p + "output.adapters.adapter."
            z = layer_norm(f + a, ln_w, ln_b)
            u = torch.relu(z @ P[q + "adapter_down.0.weight"].T + P[q + "adapter_down.0.bias"])
            f = f + u @ P[q + "adapter_up.weight"].T + P[q + "adapter_up.bias"]
        x = layer_norm(f + a, ln_w, ln_b)
    c1, c2 = 1 + 3 * L, 2 + 3 * L
    if head == "span":
        att = (x @ P["classifier.span_attention.weight"].T)[..., 0] + P["classifier.span_attention.bias"]
        vecs = []
        for s in range(S):
            row = []
            for j in range(2):
                st, en = batch["spans"][s][j]
                w = torch.softmax(att[s, st:en + 1], dim=0)
                row.append((w[:, None] * x[s, st:en + 1]).sum(0))
            vecs.append(torch.cat(row))
        z = dropout(torch.stack(vecs), c1)
        logits = z @ P["classifier.out_proj.weight"].T + P["classifier.out_proj.bias"]
    elif head == "multiple_choice" and arch == "hf":
        z = torch.tanh(x[:, 0, :] @ P["roberta.pooler.dense.weight"].T + P["roberta.pooler.dense.bias"])
        z = dropout(z, c1)
        logits = z @ P["classifier.weight"].T + P["classifier.bias"]
    else:
        z = x[:, 0, :]
        if arch == "jiant":
            z = torch.tanh(z @ P["roberta.pooler.dense.weight"].T + P["roberta.pooler.dense.bias"])
        z = dropout(z, c1)
        z = torch.tanh(z @ P["classifier.dense.weight"].T + P["classifier.dense.bias"])
        z = dropout(z, c2)
        logits = z @ P["classifier.out_proj.weight"].T + P["classifier.out_proj.bias"]
    if head == "regression":
        logits = logits[:, 0]
        loss = ((logits - torch.tensor(batch["target"])) ** 2).mean()
    elif head == "multiple_choice":
        logits = logits.view(-1, batch["n_choices"])
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(batch["label"]))
    else:
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(batch["label"]))
    return logits, loss


# ---------------------------------------------------------------- batches (real BPE ids)

EXAMPLE = [713, 16, 41, 1246]                                   # This is an example
FRIENDS = [2522, 964, 351, 75, 907, 42, 1966, 6, 905, 1937, 5, 220, 65, 52, 15393, 4]
CAT = [133, 4758, 4005, 15, 5, 7821, 4]                         # The cat sat on the mat.
FLUTE = [250, 313, 16, 816, 10, 2342, 4467, 4]                  # A man is playing a flute.
IRAQ = [3084, 2398, 9, 2862, 8181, 303, 11, 3345, 648, 4]
TOE = [133, 313, 2263, 39, 14934, 4, 653, 21, 5, 1303, 9, 42, 116]  # ...toe. What was the cause of this?
HAMMER = [894, 1882, 10, 13547, 15, 39, 2767, 4]                # He dropped a hammer on his foot.
SOCK = [894, 300, 10, 4683, 11, 39, 37390, 4]                   # He got a hole in his sock.
CAT_RESULT = [133, 4758, 4005, 15, 5, 7821, 4, 653, 1102, 25, 10, 898, 116]  # ... What happened as a result?
BUG = [133, 1816, 303, 10, 13673, 11, 69, 25629, 4]             # The girl found a bug in her cereal.
MARK = [10006, 174, 9141, 171, 5738, 59, 1003, 6, 61, 9141, 1165, 11, 39, 1040, 4, 91, 197, 33, 57,
        55, 14992, 4]  # Mark told Pete many lies about himself, which Pete included ... skeptical.


def single(a):
    return [0] + a + [2]


def pair(a, b):
    return [0] + a + [2, 2] + b + [2]


BATCHES = {
    "classification": dict(seqs=[single(EXAMPLE), single(FRIENDS), pair(CAT, FLUTE)],
                           label=[1, 0, 2], num_labels=3, n_choices=1),
    "regression": dict(seqs=[pair(FLUTE, CAT), pair(IRAQ, EXAMPLE), single(BUG)],
                       target=[3.8, 0.5, 2.25], num_labels=1, n_choices=1),
    "multiple_choice": dict(seqs=[pair(TOE, HAMMER), pair(TOE, SOCK), pair(CAT_RESULT, BUG),
                                  pair(CAT_RESULT, EXAMPLE)],
                            label=[0, 1], num_labels=1, n_choices=2),
    "span": dict(seqs=[single(MARK), single(TOE), single(FRIENDS)],
                 spans=[[[3, 3], [16, 16]], [[1, 2], [4, 5]], [[1, 2], [13, 14]]],
                 label=[1, 0, 1], num_labels=2, n_choices=1),
}
SEED = 0x123456789ABC  # dropout seed: uses both key words
STEP = 5


# ---------------------------------------------------------------- safetensors writer

def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dt = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}[arr.dtype]
        data = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"generator": "tests/ref/gen_reference.py",
                              "config": json.dumps(CFG, sort_keys=True)}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_case(head, seed, arch="hf"):
    bt = BATCHES[head]
    rng = np.random.default_rng(seed)
    params = random_params(head, bt["num_labels"], rng, arch)
    wte = word_embedding(CFG["vocab_size"], CFG["hidden_size"])
    seqs = bt["seqs"]
    S, T = len(seqs), max(len(s) for s in seqs)
    ids = np.full((S, T), CFG["pad_token_id"], dtype=np.int32)
    for s, q in enumerate(seqs):
        ids[s, :len(q)] = q
    lens = np.array([len(q) for q in seqs], dtype=np.int32)
    assert CFG["pad_token_id"] + T < CFG["max_position_embeddings"]
    out = {"batch.ids": ids, "batch.len": lens,
           "batch.n_choices": np.array([bt["n_choices"]], dtype=np.int32),
           "batch.num_labels": np.array([bt["num_labels"]], dtype=np.int32),
           "dropout.seed": np.array([SEED & 0xFFFFFFFF, SEED >> 32], dtype=np.int32).view(np.int32),
           "dropout.step": np.array([STEP], dtype=np.int32)}
    if "label" in bt:
        out["batch.label"] = np.array(bt["label"], dtype=np.int32)
    if "target" in bt:
        out["batch.target"] = np.array(bt["target"], dtype=np.float32)
    if "spans" in bt:
        out["batch.spans"] = np.array(bt["spans"], dtype=np.int32)
    for name, v in params.items():
        out["param." + name] = v
    rows = np.unique(ids).astype(np.int32)
    out["wgrad_rows"] = rows
    for mode in (0, 1):
        P = {n: torch.tensor(v.astype(np.float64), requires_grad=True) for n, v in params.items()}
        P["roberta.embeddings.word_embeddings.weight"] = torch.tensor(wte.astype(np.float64), requires_grad=True)

        def drop(call, shape, mode=mode):
            if not mode:
                return None
            p = CFG["attention_probs_dropout_prob"] if (call >= 1 and call < 1 + 3 * CFG["num_hidden_layers"]
                                                        and (call - 1) % 3 == 0) else CFG["hidden_dropout_prob"]
            n = int(np.prod(shape))
            keep = dropout_keep(SEED, STEP, call, n, p).reshape(shape)
            scale = 1.0 / (1.0 - float(np.float32(p)))
            return torch.tensor(keep.astype(np.float64) * scale)

        logits, loss = forward(P, torch.tensor(ids.astype(np.int64)), lens, head, drop, bt, arch)
        loss.backward()
        out["logits%d" % mode] = logits.detach().numpy().astype(np.float32).reshape(-1)
        out["loss%d" % mode] = np.array([loss.item()], dtype=np.float32)
        for n, t in P.items():
            g = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)  # unused: the span head's pooler
            if n == "roberta.embeddings.word_embeddings.weight":
                mask = np.ones(g.shape[0], bool)
                mask[rows] = False
                assert np.all(g[mask] == 0)
                out["grad%d.%s" % (mode, n)] = g[rows].astype(np.float32)
            else:
                out["grad%d.%s" % (mode, n)] = g.astype(np.float32)
        print("%s %s dropout=%d loss=%.6f logits=%s" % (arch, head, mode, loss.item(), out["logits%d" % mode]))
    return out


def main():
    check_philox()
    os.makedirs(OUT, exist_ok=True)
    # sample values of the shared functions, checked on the C side too
    print("philox_word_at(42, 2, 7, 0..3) =", [hex(x) for x in philox_words(42, 2, 7, 4)])
    for i, head in enumerate(BATCHES):
        write_safetensors(os.path.join(OUT, head + ".safetensors"), make_case(head, 100 + i))
        write_safetensors(os.path.join(OUT, "jiant_" + head + ".safetensors"), make_case(head, 200 + i, "jiant"))


if __name__ == "__main__":
    sys.exit(main())
