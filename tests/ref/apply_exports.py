#!/usr/bin/python3
"""apply_exports.py peft|adapterhub|merged BASE_DIR EXPORT_DIR EXAMPLES.jsonl PREDICTIONS [TOL] —
re-read evaluate's --export-peft / --export-adapter directory with plain torch, as PEFT and
AdapterHub would apply it to the base model, and compare its logits with evaluate's
--predictions scores (max |difference| <= TOL, default 1e-5, times max(1, max |logit|)).

peft: adapter_config.json must say peft_type LORA with r, lora_alpha, target_modules (a list
of module-name suffixes or a regular expression full-matched against module names),
modules_to_save ["classifier"]; adapter_model.safetensors holds
base_model.model.<module>.lora_A.weight [r,in] / lora_B.weight [out,r] and
base_model.model.classifier.*.  Applied unmerged: y = x W^T + b + (alpha/r) (x A^T) B^T on HF's
RobertaForSequenceClassification (gen_reference.py's forward, arch hf).
adapterhub: adapter_config.json's config must be Pfeiffer's (output adapter, original LN
before and after, residual before LN, relu, reduction_factor); adapter.safetensors holds
roberta.encoder.layer.N.output.adapters.NAME.adapter_{down.0,up}.{weight,bias};
head_config.json / model_head.safetensors the head (heads.NAME.1.* and .4.*; use_pooler:
the head reads tanh(pooler(<s>)), jiant's architecture).
merged: EXPORT_DIR is evaluate --export's HF directory of a --head hf run (LoRA folded into
its weights), read as HF's class without any extra.
EXAMPLES.jsonl is `inspect --json` of the examples stream; PREDICTIONS the predictions stream.
"""
import json
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import check_grads  # noqa: E402
import gen_reference as R  # noqa: E402
import st_numpy  # noqa: E402
import streamread  # noqa: E402


def tensors(path):
    """name -> float64 array of its shape."""
    raw = open(path, "rb").read()
    meta = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    flat = st_numpy.load(path)
    return {k: flat[k].astype(np.float64).reshape(v["shape"]) for k, v in meta.items() if k != "__metadata__"}


def peft(export):
    cfg = json.load(open(os.path.join(export, "adapter_config.json")))
    assert cfg["peft_type"] == "LORA" and cfg["modules_to_save"] == ["classifier"], cfg
    tm = cfg["target_modules"]
    targeted = (lambda mod: re.fullmatch(tm, mod) is not None) if isinstance(tm, str) else \
        (lambda mod: any(mod == t or mod.endswith("." + t) for t in tm))
    out = {}
    for name, v in tensors(os.path.join(export, "adapter_model.safetensors")).items():
        assert name.startswith("base_model.model."), name
        name = name[len("base_model.model."):]
        m = re.fullmatch(r"(.*)\.lora_[AB]\.weight", name)
        if m:
            assert targeted(m.group(1)), f"{m.group(1)} is not matched by target_modules {tm}"
            assert v.shape[0 if "lora_A" in name else 1] == cfg["r"], (name, v.shape)
        else:
            assert name.startswith("classifier."), name
        out[name] = v
    return out, "hf", cfg["lora_alpha"] / cfg["r"], False


def adapterhub(export):
    ac = json.load(open(os.path.join(export, "adapter_config.json")))
    c = ac["config"]
    want = {"output_adapter": True, "mh_adapter": False, "original_ln_before": True, "original_ln_after": True,
            "residual_before_ln": True, "non_linearity": "relu", "ln_before": False, "ln_after": False}
    assert all(c[k] == v for k, v in want.items()), c
    name = ac["name"]
    hc = json.load(open(os.path.join(export, "head_config.json")))["config"]
    out = {}
    for k, v in tensors(os.path.join(export, "adapter.safetensors")).items():
        assert re.fullmatch(r"roberta\.encoder\.layer\.\d+\.output\.adapters\.%s\.adapter_(down\.0|up)\.(weight|bias)"
                            % re.escape(name), k), k
        if k.endswith("adapter_down.0.weight"):
            assert abs(ac["hidden_size"] / v.shape[0] - c["reduction_factor"]) < 1e-9, (k, v.shape)
        out[k.replace(".adapters.%s." % name, ".adapters.adapter.")] = v
    head = tensors(os.path.join(export, "model_head.safetensors"))
    first, second = ("classifier.dense", "classifier.out_proj") if hc["layers"] == 2 else ("classifier", None)
    for k, v in head.items():
        idx, part = re.fullmatch(r"heads\.%s\.(\d+)\.(weight|bias)" % re.escape(name), k).groups()
        out["%s.%s" % (first if idx == "1" else second, part)] = v
    return out, "jiant" if hc["use_pooler"] else "hf", None, True


def main():
    kind, base, export, ex_path, pred_path = sys.argv[1:6]
    tol = float(sys.argv[6]) if len(sys.argv) > 6 else 1e-5
    if kind == "merged":
        base, extra, arch, lora, adapter = export, {}, "hf", None, False
    else:
        extra, arch, lora, adapter = (peft if kind == "peft" else adapterhub)(export)
    cfg, weights, header, head, shapes, ids, lens, batch = check_grads.load_case(base, ex_path, arch)
    P = {n: torch.tensor(weights[n].astype(np.float64).reshape(s)) for n, s in shapes.items() if n in weights}
    for n, v in extra.items():
        P[n] = torch.tensor(v)
    missing = sorted(set(shapes) - set(P))
    if missing:
        sys.exit(f"no values for {missing}")
    with torch.no_grad():
        logits, _ = R.forward(P, ids, lens, head, lambda c, s: None, batch, arch, lora=lora, adapter=adapter)
    _, recs = streamread.read(pred_path)
    got = np.array([streamread.floats(r["scores"]) for r in recs])
    ref = logits.numpy().reshape(got.shape)
    diff = np.abs(got - ref).max()
    print(f"{kind} ({arch}): max |logit difference| {diff:.3g} over {got.size} logits")
    return 1 if diff > tol * max(1.0, np.abs(ref).max()) else 0


if __name__ == "__main__":
    sys.exit(main())
