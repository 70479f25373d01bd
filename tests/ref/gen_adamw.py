#!/usr/bin/python3
"""Independent float64 PyTorch reference for masktrain's optimiser (lib/optim.c).

Writes tests/fixtures/engine/adamw.safetensors: the classification case of gen_reference.py
(tiny model, padded batch of real token ids), then STEPS full fine-tuning steps without dropout
on that batch with torch.optim.AdamW (betas 0.9/0.999, eps 1e-8, weight decay 0.01 on every
tensor but biases and LayerNorm weights, as HF/jiant group them), gradient clipping
(clip_grad_norm_, max norm 1.0) and HF's linear schedule with warm-up (LambdaLR).  Stored:
the losses of every step and delta.NAME = θ_STEPS − θ_0 for every parameter (the word
embeddings only at the rows the batch uses: the other rows only decay, which the C test
checks by formula).

Run with /usr/bin/python3 (torch 1.13).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_reference as R  # noqa: E402

LR, WD, WARMUP, TOTAL, STEPS, CLIP = 2e-3, 0.01, 1, 6, 4, 1.0


def main():
    case = R.make_case("classification", 100)  # the classification fixture's parameters
    bt = R.BATCHES["classification"]
    params = {k[len("param."):]: v for k, v in case.items() if k.startswith("param.")}
    wte = R.word_embedding(R.CFG["vocab_size"], R.CFG["hidden_size"])
    names = ["roberta.embeddings.word_embeddings.weight"] + list(params)
    P = {n: torch.tensor((wte if n.endswith("word_embeddings.weight") else params[n]).astype(np.float64),
                         requires_grad=True) for n in names}
    decay = [P[n] for n in names if "bias" not in n and "LayerNorm.weight" not in n]
    no_decay = [P[n] for n in names if "bias" in n or "LayerNorm.weight" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.999), eps=1e-8)

    def lam(step):  # transformers.get_linear_schedule_with_warmup
        if step < WARMUP:
            return step / max(1, WARMUP)
        return max(0.0, (TOTAL - step) / max(1, TOTAL - WARMUP))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
    ids = torch.tensor(case["batch.ids"].astype(np.int64))
    lens = case["batch.len"]
    theta0 = {n: P[n].detach().clone() for n in names}
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        _, loss = R.forward(P, ids, lens, "classification", lambda call, shape: None, bt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([P[n] for n in names], CLIP)
        opt.step()
        sched.step()
        losses.append(loss.item())
    out = {k: v for k, v in case.items() if k.startswith(("param.", "batch.", "dropout.", "wgrad_rows"))}
    out["adamw.hparams"] = np.array([LR, WD, WARMUP, TOTAL, STEPS, CLIP], dtype=np.float32)
    out["adamw.losses"] = np.array(losses, dtype=np.float32)
    rows = case["wgrad_rows"]
    for n in names:
        d = (P[n].detach() - theta0[n]).numpy()
        if n.endswith("word_embeddings.weight"):
            d = d[rows]
        out["delta." + n] = d.astype(np.float32)
    R.write_safetensors(os.path.join(R.OUT, "adamw.safetensors"), out)
    print("losses", losses)


if __name__ == "__main__":
    sys.exit(main())
