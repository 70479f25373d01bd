#!/usr/bin/python3
"""check_structural.py MODEL_DIR EXAMPLES.jsonl INIT.safetensors FINAL.safetensors DELTA.json
[TOL] — masktrain of a structural plan (LoRA, adapter) equals an independent float64 PyTorch
reference: STEPS AdamW steps (torch.optim.AdamW, the delta's lr, betas 0.9/0.999, eps 1e-8,
no weight decay, constant schedule; clip_grad_norm_ over the trained tensors at the delta's
max_grad_norm) on one batch of all examples without dropout, started from the state masktrain
wrote with --max-steps 0 (INIT: the extra tensors and the head as initialised).

INIT and FINAL are `inspect --to X.safetensors` of the two deltas (their dense records: the
trained tensors); DELTA.json is the first line of `inspect --json` of the final delta (the
structure, the head architecture, the training settings).  The model directory must carry
its task head (init-model --task-head).  The change of every trained tensor, FINAL - INIT,
is compared with the reference's: relative error ||d_c - d_ref|| / ||d_ref||.  Prints the
worst error per tensor kind and overall; exit 1 above TOL (1e-4).
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import check_grads  # noqa: E402
import gen_reference as R  # noqa: E402
import st_numpy  # noqa: E402


def kind(name):
    for k in ("lora_A", "lora_B", "adapter_down.0.weight", "adapter_down.0.bias", "adapter_up.weight",
              "adapter_up.bias"):
        if k in name:
            return k
    return "head" if name.startswith("classifier.") else "other"


def main():
    model_dir, ex_path, init_path, final_path, hdr_path = sys.argv[1:6]
    tol = float(sys.argv[6]) if len(sys.argv) > 6 else 1e-4
    hdr = json.load(open(hdr_path))
    arch, tr, st = hdr["head"], hdr["training"], hdr.get("structure", {})
    cfg, weights, header, head, shapes, ids, lens, batch = check_grads.load_case(model_dir, ex_path, arch)
    init, final = st_numpy.load(init_path), st_numpy.load(final_path)
    raw = open(init_path, "rb").read()
    init_shape = {k: v["shape"] for k, v in json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")]).items()
                  if k != "__metadata__"}
    P = {}
    for name, shape in shapes.items():
        if name not in init and name not in weights:
            sys.exit(f"{model_dir}: no tensor {name} (init-model --task-head?)")
    for name in list(shapes) + [k for k in init if k not in shapes]:  # the base, then the extras
        v = init[name] if name in init else weights[name]
        shape = init_shape[name] if name in init else shapes[name]
        P[name] = torch.tensor(v.astype(np.float64).reshape(shape), requires_grad=name in init)
    trained = [P[name] for name in sorted(init)]
    lora = st["lora"]["alpha"] / st["lora"]["r"] if "lora" in st else None
    opt = torch.optim.AdamW(trained, lr=tr["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    losses = []
    for _ in range(tr["steps"]):
        opt.zero_grad()
        _, loss = R.forward(P, ids, lens, head, lambda c, s: None, batch, arch, lora=lora, adapter="adapter" in st)
        loss.backward()
        if tr["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(trained, tr["max_grad_norm"])
        opt.step()
        losses.append(loss.item())
    if sorted(final) != sorted(init):
        sys.exit(f"the deltas hold different tensors: {sorted(set(final) ^ set(init))}")
    worst = {}
    for name in init:
        d_ref = P[name].detach().numpy().reshape(-1) - init[name].astype(np.float64)
        d_c = final[name].astype(np.float64) - init[name].astype(np.float64)
        nr = np.linalg.norm(d_ref)
        err = np.linalg.norm(d_c - d_ref) / nr if nr > 0 else np.linalg.norm(d_c)
        k = kind(name)
        if err >= worst.get(k, (-1, ""))[0]:
            worst[k] = (err, name)
    top = max(worst.values())
    parts = ", ".join(f"{k} {e:.3g}" for k, (e, _) in sorted(worst.items()))
    print(f"{'+'.join(st) or 'plain'} {arch}: losses {' '.join(f'{x:.6f}' for x in losses)}; "
          f"worst relative error of the change: {parts}; overall {top[0]:.3g} ({top[1]})")
    return 1 if top[0] > tol else 0


if __name__ == "__main__":
    sys.exit(main())
