#!/usr/bin/python3
"""Independent float64 PyTorch reference for masktrain's training steps (tools level).

Starts from an HF directory holding a run's initial state (`evaluate --export` of the delta of
`masktrain --max-steps 0`: the base encoder and the initial head), takes STEPS steps on ONE
batch of all the examples (the C run uses --batch = number of examples, so every step sees
them all; the mean loss does not depend on their order), dropout off, constant learning
rate, and compares the change of every tensor with the C run's final state (the export of
`masktrain --max-steps STEPS --keep last ...`).

A step is the reference code's (PAPER.md, "What the paper's code actually does"), with
torch.optim.AdamW over every parameter in HF/jiant's decay groups (no decay on names
containing "bias" or "LayerNorm.weight"):
  forward -> backward (dense gradients of every parameter)
  -> --clip-scope all:       clip_grad_norm_(all parameters), then mask the gradients
     --clip-scope trainable: mask the gradients, then clip_grad_norm_ (the trained entries)
  -> AdamW step; without --decay-frozen the frozen entries are put back afterwards (the
     masked gradient is zero, so decay is the only thing AdamW did there: a truly sparse
     optimiser does not decay them).
The mask: the encoder tensors' `index` lists (or `all`) of `inspect --json MASK`; tensors
the mask omits are frozen; the head (classifier.*) is always trained.

Checks: the C run's logged grad_norm of every step (--log) equals the reference's clip norm
(relative --tol), and the change of every tensor has relative error <= --tol (||dC - dR|| /
||dR||).  Tensors whose reference change is zero must not change; key biases are special:
their gradient is zero in exact arithmetic (softmax is shift invariant), so both sides feed
rounding noise to Adam; they are checked to move by less than lr per step.

The model is gen_reference.py's forward (written from HF's RobertaModel, independent of the
C code), with the sizes of the directory's config.json; --arch hf|jiant as there.
Run with /usr/bin/python3 (torch 1.13, numpy)."""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import gen_reference as R  # noqa: E402
from st_numpy import load  # noqa: E402


def jsonl(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def read_model(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
              "intermediate_size", "max_position_embeddings", "type_vocab_size", "pad_token_id",
              "layer_norm_eps"):
        R.CFG[k] = cfg[k]
    return load(os.path.join(d, "model.safetensors"), shaped=True)


def batch_of(examples_jsonl):
    rows = jsonl(examples_jsonl)
    head, recs = rows[0], [r for r in rows[1:] if "end" not in r]
    task = {"classification": "classification", "regression": "regression"}[head["task_type"]]
    seqs = [r["ids"] for r in recs]
    T = max(len(s) for s in seqs)
    ids = np.full((len(seqs), T), R.CFG["pad_token_id"], dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
    bt = {"n_choices": 1}
    if task == "regression":
        bt["target"] = [float(r["label"]) for r in recs]
    else:
        bt["label"] = [int(r["label"]) for r in recs]
    return task, torch.tensor(ids), [len(s) for s in seqs], bt


def masks_of(mask_jsonl, init):
    """name -> 0/1 float64 tensor of the trained entries."""
    recs = {r["name"]: r for r in jsonl(mask_jsonl)[1:] if "name" in r}
    out = {}
    for name, v in init.items():
        m = torch.zeros(v.size, dtype=torch.float64)
        r = recs.get(name)
        if name.startswith("classifier.") or (r and r.get("all")):
            m[:] = 1
        elif r:
            m[torch.tensor(r["index"], dtype=torch.long)] = 1
        out[name] = m.view(v.shape)
    return out


def reference(init, M, task, ids, lens, bt, a):
    names = list(init)
    P = {n: torch.tensor(init[n].astype(np.float64), requires_grad=True) for n in names}
    decay = [P[n] for n in names if "bias" not in n and "LayerNorm.weight" not in n]
    no_decay = [P[n] for n in names if "bias" in n or "LayerNorm.weight" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999), eps=a.adam_eps)
    params = [P[n] for n in names]
    norms = []
    for _ in range(a.steps):
        opt.zero_grad()
        _, loss = R.forward(P, ids, lens, task, lambda call, shape: None, bt, a.arch)
        loss.backward()
        if a.clip_scope == "all":
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, a.max_grad_norm)))
        for n in names:
            P[n].grad.mul_(M[n])
        if a.clip_scope == "trainable":
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, a.max_grad_norm)))
        old = {n: P[n].detach().clone() for n in names}
        opt.step()
        if not a.decay_frozen:
            with torch.no_grad():
                for n in names:
                    P[n].copy_(torch.where(M[n] > 0, P[n], old[n]))
        print("reference step: loss %.8f clip norm %.8g" % (loss.item(), norms[-1]))
    return {n: P[n].detach().numpy() for n in names}, norms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--init", required=True)
    ap.add_argument("--final", required=True)
    ap.add_argument("--examples", required=True, help="inspect --json of the training examples")
    ap.add_argument("--mask", required=True, help="inspect --json of the mask")
    ap.add_argument("--log", help="the C run's --log: its grad_norm per step is checked")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--adam-eps", type=float, default=1e-8)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--clip-scope", choices=("all", "trainable"), default="trainable")
    ap.add_argument("--decay-frozen", action="store_true")
    ap.add_argument("--arch", choices=("hf", "jiant"), default="hf")
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()

    init = read_model(a.init)
    final = load(os.path.join(a.final, "model.safetensors"), shaped=True)
    task, ids, lens, bt = batch_of(a.examples)
    M = masks_of(a.mask, init)
    want, norms = reference(init, M, task, ids, lens, bt, a)

    bad = 0
    if a.log:
        got = [r["grad_norm"] for r in jsonl(a.log) if "grad_norm" in r]
        if len(got) != a.steps:
            print("the log has %d steps, expected %d" % (len(got), a.steps))
            bad += 1
        for s, (g, w) in enumerate(zip(got, norms)):
            e = abs(g - w) / w
            print("step %d: clip norm %.8g (reference %.8g), relative error %.2e, %s" %
                  (s + 1, g, w, e, "clipped" if w > a.max_grad_norm else "not clipped"))
            bad += e > a.tol
    worst = 0.0
    for n in init:
        d_ref = want[n] - init[n].astype(np.float64)
        d_c = final[n].astype(np.float64) - init[n].astype(np.float64)
        ref_norm = np.linalg.norm(d_ref)
        if ".key.bias" in n:
            ok = np.max(np.abs(d_c)) <= a.lr * a.steps
            print("%-60s %s (noise-driven: moves %.3g, at most lr per step)" %
                  (n, "ok" if ok else "FAIL", np.max(np.abs(d_c))))
            bad += not ok
            continue
        if ref_norm == 0:
            ok = not np.any(d_c)
            print("%-60s %s (frozen: unchanged)" % (n, "ok" if ok else "FAIL"))
            bad += not ok
            continue
        e = np.linalg.norm(d_c - d_ref) / ref_norm
        worst = max(worst, e)
        print("%-60s relative error of the change %.2e%s" % (n, e, "" if e <= a.tol else "  FAIL"))
        bad += e > a.tol
    print("worst relative error %.3g (clip scope %s, decay_frozen %d, arch %s)" %
          (worst, a.clip_scope, a.decay_frozen, a.arch))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
