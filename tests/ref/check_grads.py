#!/usr/bin/python3
"""check_grads.py MODEL_DIR EXAMPLES.jsonl GRADS.safetensors ARCH [TOL] — the gradient a tool
wrote (gradacc --steps 1 --batch <all examples> --dropout 0, exported with inspect --to)
equals the float64 PyTorch reference of gen_reference.py's model on the same weights and
examples: the gradient of the mean loss, per tensor within relative error TOL (1e-4).

EXAMPLES.jsonl is `inspect --json` of the examples stream (header line, records, end line);
the head kind comes from its task_type.  The model directory must carry its task head
(init-model --task-head), so that no seed-dependent initialisation is involved.  Tensors
that are zero in exact arithmetic (the key biases; the pooler under the span head) are
compared against the largest gradient norm instead, as tests/tools/cmp_tensors.py does.
Prints one line per architecture: the worst relative error and its tensor; exit 1 above TOL.

check_grads.py scramble SRC DST SEED — copy the model directory SRC to DST with every tensor
redrawn at gen_reference.py's scales (weights 0.15, embeddings and biases 0.1, LayerNorm
weights 1 +- 0.1).  init-model's 0.02 leaves near-equal scores (COPA's two choices, a loss of
ln 2) whose small gradients fp32 cannot resolve to 1e-4; these scales can.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import gen_reference as R  # noqa: E402
import st_numpy  # noqa: E402

import shutil  # noqa: E402


def scramble(src, dst, seed):
    shutil.copytree(src, dst)
    raw = open(os.path.join(src, "model.safetensors"), "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    rng = np.random.default_rng(int(seed))
    out = {}
    for name in header:
        if name == "__metadata__":
            continue
        shape = tuple(header[name]["shape"])
        if "LayerNorm.weight" in name:
            v = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias") or "embeddings" in name:
            v = 0.1 * rng.standard_normal(shape)
        else:
            v = 0.15 * rng.standard_normal(shape)
        out[name] = v.astype(np.float32)
    R.write_safetensors(os.path.join(dst, "model.safetensors"), out)
    return 0


HEADS = {"classification": "classification", "regression": "regression",
         "multiple_choice": "multiple_choice", "span_classification": "span"}


def load_case(model_dir, ex_path, arch):
    """R.CFG from the model's config.json; the examples as one padded batch.  Returns
    (cfg, weights, header, head, shapes, ids, lens, batch)."""
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
              "intermediate_size", "max_position_embeddings", "type_vocab_size", "pad_token_id",
              "layer_norm_eps"):
        R.CFG[k] = cfg[k]
    weights = st_numpy.load(os.path.join(model_dir, "model.safetensors"))
    lines = [json.loads(x) for x in open(ex_path)]
    header, recs = lines[0], [r for r in lines[1:] if "end" not in r]
    head = HEADS[header["task_type"]]
    shapes = R.param_shapes(head, header["num_labels"] if head in ("classification", "span") else 1, arch)
    shapes["roberta.embeddings.word_embeddings.weight"] = (cfg["vocab_size"], cfg["hidden_size"])
    seqs = [c for r in recs for c in r["choices"]] if head == "multiple_choice" else [r["ids"] for r in recs]
    T = max(len(s) for s in seqs)
    ids = np.full((len(seqs), T), cfg["pad_token_id"], dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
    batch = {"n_choices": len(recs[0]["choices"]) if head == "multiple_choice" else 1,
             "label": [int(r["label"]) for r in recs] if head != "regression" else None,
             "target": [float(r["label"]) for r in recs] if head == "regression" else None,
             "spans": [r.get("spans") for r in recs]}
    return cfg, weights, header, head, shapes, torch.tensor(ids), [len(s) for s in seqs], batch


def main():
    if sys.argv[1] == "scramble":
        return scramble(*sys.argv[2:5])
    model_dir, ex_path, grads_path, arch = sys.argv[1:5]
    tol = float(sys.argv[5]) if len(sys.argv) > 5 else 1e-4
    cfg, weights, header, head, shapes, ids, lens, batch = load_case(model_dir, ex_path, arch)
    P = {}
    for name, shape in shapes.items():
        v = weights.get(name)
        if v is None:
            sys.exit(f"{model_dir}: no tensor {name} (init-model --task-head?)")
        P[name] = torch.tensor(v.astype(np.float64).reshape(shape), requires_grad=True)
    _, loss = R.forward(P, ids, lens, head, lambda c, s: None, batch, arch)
    loss.backward()

    got = st_numpy.load(grads_path)
    if sorted(got) != sorted(P):
        sys.exit(f"tensors differ: {sorted(set(got) ^ set(P))}")
    ref = {n: (t.grad.numpy() if t.grad is not None else np.zeros(t.shape)).reshape(-1) for n, t in P.items()}
    top = max(np.linalg.norm(v) for v in ref.values())
    worst, where = 0.0, ""
    for n, r in ref.items():
        g = got[n].astype(np.float64)
        nr = np.linalg.norm(r)
        err = np.linalg.norm(g - r) / (nr if nr >= 1e-6 * top else top)
        if err > worst:
            worst, where = err, n
    print(f"{header['task']} {arch}: loss {loss.item():.6f}, worst relative error {worst:.3g} ({where})")
    return 1 if worst > tol else 0


if __name__ == "__main__":
    sys.exit(main())
