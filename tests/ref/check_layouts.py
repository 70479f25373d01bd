#!/usr/bin/python3
"""check_layouts.py peft|adapterhub|merged EXPORT_DIR BASE_DIR DELTA — an export of
evaluate (--export-peft, --export-adapter, --export of a LoRA delta) against the layouts
../shared/PAPER.md documents ("The baselines, exactly"), with the expected names, shapes and
values derived here from the base model's config.json and tensors and from the delta stream
(read with tests/tools/streamread.py), not from the exporting code.

peft        adapter_config.json: peft_type LORA, task_type SEQ_CLS, r, lora_alpha, lora_dropout
            as the delta's structure; target_modules (PEFT's matching: a list of names matched
            exactly or as a '.'-suffix, a string full-matched as a regular expression) selects
            exactly the Linears the delta has LoRA tensors for, among all Linears of
            RobertaForSequenceClassification (the head's included); bias "none",
            modules_to_save ["classifier"] (a frozen head too: it is not roberta-base's, PEFT
            would initialise it afresh), base_model_name_or_path
            the base directory's name, fan_in_fan_out false, init_lora_weights present.
            adapter_model.safetensors: format pt, F32, exactly
            base_model.model.<module>.lora_A.weight [r,in] / lora_B.weight [out,r] and
            base_model.model.classifier.{dense,out_proj}.{weight,bias}, equal to the delta's
            (a frozen head: to the base directory's).
adapterhub  adapter_config.json: {config, hidden_size, model_class, model_name (the base
            directory's name), model_type roberta, name, version}; config Pfeiffer's (seq_bn):
            output adapter only, original LayerNorm before and after, residual before LN, no
            adapter LayerNorm, relu, init as the delta's, reduction_factor giving the delta's
            bottleneck the way AdapterHub sizes it (int(hidden // reduction_factor)).
            adapter.safetensors: exactly roberta.encoder.layer.N.output.adapters.NAME.
            adapter_down.0.{weight [m,H], bias [m]} and adapter_up.{weight [H,m], bias [H]} for
            every layer, equal to the delta's; head_config.json (classification, num_labels,
            2 layers, tanh, use_pooler = the jiant head, label2id) and model_head.safetensors
            heads.NAME.{1,4}.{weight,bias} = the delta's classifier.{dense,out_proj}.
merged      config.json: HF's RobertaForSequenceClassification (model_type roberta) for a
            --head hf delta, our SparsetuneRobertaForSequenceClassification (model_type
            sparsetune-roberta) for a jiant one, head_arch as the delta's; model.safetensors:
            no lora_*/adapter tensor, the base model's tensor names, every targeted W equal to
            W0 + (alpha/r) B A (float64, 1e-6 relative), every other encoder tensor the base's,
            the head the delta's.
Prints what it checked; exit 1 with the first mismatch.
"""
import json
import os
import re
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import streamread  # noqa: E402

LINEARS = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
           "attention.output": "attention.output.dense", "intermediate": "intermediate.dense",
           "output": "output.dense"}


def fail(msg):
    print("check_layouts: " + msg, file=sys.stderr)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


def safetensors(path):
    """(metadata, {name: (dtype, shape, float32 array)})."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None)
    out = {}
    for k, v in header.items():
        expect(v["dtype"] == "F32", "%s: %s is %s, not F32" % (path, k, v["dtype"]))
        a, b = v["data_offsets"]
        out[k] = (v["dtype"], list(v["shape"]), np.frombuffer(raw[8 + n + a:8 + n + b], "<f4").reshape(v["shape"]))
    return meta, out


def delta_tensors(path):
    header, recs = streamread.read(path)
    dense = {}
    for r in recs:
        expect("data" in r, "%s: %s is not a dense record (a structural delta is dense)" % (path, r["name"]))
        dense[r["name"]] = np.frombuffer(r["data"], "<f4").reshape(r["shape"])
    return header, dense


def hf_linears(cfg):
    """The Linear modules of RobertaForSequenceClassification: name -> (in, out)."""
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    lin = {}
    for layer in range(cfg["num_hidden_layers"]):
        for key, mod in LINEARS.items():
            lin["roberta.encoder.layer.%d.%s" % (layer, mod)] = (I if key == "output" else H,
                                                                 I if key == "intermediate" else H)
    lin["classifier.dense"] = (H, H)
    lin["classifier.out_proj"] = (H, None)
    return lin


def peft_targeted(tm, module):
    if isinstance(tm, str):
        return re.fullmatch(tm, module) is not None
    return any(module == t or module.endswith("." + t) for t in tm)


def same(name, got, want):
    expect(list(got.shape) == list(want.shape), "%s: shape %s, the delta's is %s" % (name, list(got.shape), list(want.shape)))
    expect(np.array_equal(got, want), "%s: values differ from the delta's (max %.3g)"
           % (name, np.abs(got.astype(np.float64) - want).max()))


def head_shapes(cfg, n):
    H = cfg["hidden_size"]
    return {"classifier.dense.weight": [H, H], "classifier.dense.bias": [H],
            "classifier.out_proj.weight": [n, H], "classifier.out_proj.bias": [n]}


def check_peft(export, base, dh, dt):
    cfg = json.load(open(os.path.join(base, "config.json")))
    lo = dh["structure"]["lora"]
    ac = json.load(open(os.path.join(export, "adapter_config.json")))
    want = {"peft_type": "LORA", "task_type": "SEQ_CLS", "r": lo["r"], "lora_alpha": lo["alpha"],
            "lora_dropout": lo.get("dropout", 0.0), "bias": "none",
            "modules_to_save": ["classifier"],
            "base_model_name_or_path": os.path.basename(os.path.normpath(base)), "fan_in_fan_out": False}
    for k, v in want.items():
        expect(k in ac, "adapter_config.json has no %s" % k)
        expect(ac[k] == v and type(ac[k]) is type(v), "adapter_config.json: %s is %r, want %r" % (k, ac[k], v))
    expect(isinstance(ac.get("init_lora_weights"), bool), "adapter_config.json: init_lora_weights %r" % ac.get("init_lora_weights"))
    expect(isinstance(ac.get("target_modules"), (str, list)), "target_modules %r" % ac.get("target_modules"))
    lin = hf_linears(cfg)
    lora_mods = sorted({n[:-len(".lora_A.weight")] for n in dt if n.endswith(".lora_A.weight")})
    matched = sorted(m for m in lin if peft_targeted(ac["target_modules"], m))
    expect(matched == lora_mods, "target_modules %r selects %s; the delta has LoRA on %s"
           % (ac["target_modules"], matched[:3], lora_mods[:3]))
    wanted_targets = sorted(LINEARS[t] for t in lo["targets"])
    expect(sorted({m.split(".", 4)[4] for m in lora_mods}) == wanted_targets,
           "LoRA on %s, the structure's targets are %s" % (lora_mods, lo["targets"]))
    expect(len(lora_mods) == cfg["num_hidden_layers"] * len(lo["targets"]), "LoRA modules: %d" % len(lora_mods))
    meta, st = safetensors(os.path.join(export, "adapter_model.safetensors"))
    expect(meta == {"format": "pt"}, "adapter_model.safetensors: __metadata__ %r" % meta)
    names = {}
    for m in lora_mods:
        i, o = lin[m]
        names["%s.lora_A.weight" % m] = [lo["r"], i]
        names["%s.lora_B.weight" % m] = [o, lo["r"]]
    names.update(head_shapes(cfg, dh["num_labels"] if dh["task_type"] != "regression" else 1))
    frozen = not any(k.startswith("classifier.") for k in dt)
    if frozen:  # the head as initialised: the base directory's (init-model --task-head)
        _, b = safetensors(os.path.join(base, "model.safetensors"))
        dt = dict(dt, **{k: v[2] for k, v in b.items() if k.startswith("classifier.")})
    got = {k[len("base_model.model."):]: v for k, v in st.items() if k.startswith("base_model.model.")}
    expect(len(got) == len(st), "names without base_model.model.: %s" % [k for k in st if k not in got][:3])
    expect(sorted(got) == sorted(names), "tensors: missing %s, unexpected %s"
           % (sorted(set(names) - set(got))[:3], sorted(set(got) - set(names))[:3]))
    for k, shape in names.items():
        expect(got[k][1] == shape, "%s: shape %s, want %s" % (k, got[k][1], shape))
        same(k, got[k][2], dt[k])
    print("peft: adapter_config.json (%s), %d tensors (%d LoRA modules, r %d%s) as documented and equal to the delta's"
          % (", ".join(sorted(ac)), len(st), len(lora_mods), lo["r"], ", frozen head" if frozen else ", head"))


def check_adapterhub(export, base, dh, dt):
    cfg = json.load(open(os.path.join(base, "config.json")))
    H, L = cfg["hidden_size"], cfg["num_hidden_layers"]
    ad = dh["structure"]["adapter"]
    m = ad["bottleneck"]
    ac = json.load(open(os.path.join(export, "adapter_config.json")))
    name = ac.get("name")
    expect(isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_]+", name), "adapter name %r" % name)
    for k, v in {"hidden_size": H, "model_type": "roberta", "model_name": os.path.basename(os.path.normpath(base))}.items():
        expect(ac.get(k) == v, "adapter_config.json: %s is %r, want %r" % (k, ac.get(k), v))
    for k in ("model_class", "version", "config"):
        expect(k in ac, "adapter_config.json has no %s" % k)
    c = ac["config"]
    pfeiffer = {"mh_adapter": False, "output_adapter": True, "original_ln_before": True, "original_ln_after": True,
                "residual_before_ln": True, "adapter_residual_before_ln": False, "ln_before": False,
                "ln_after": False, "non_linearity": "relu", "init_weights": ad["init"], "is_parallel": False,
                "scaling": 1.0, "use_gating": False}
    for k, v in pfeiffer.items():
        expect(k in c and c[k] == v, "adapter_config.json: config.%s is %r, want %r (Pfeiffer)" % (k, c.get(k), v))
    rf = c.get("reduction_factor")
    expect(isinstance(rf, (int, float)) and int(H // rf) == m,
           "config.reduction_factor %r: AdapterHub's int(%d // it) is not the bottleneck %d" % (rf, H, m))
    meta, st = safetensors(os.path.join(export, "adapter.safetensors"))
    names = {}
    for layer in range(L):
        p = "roberta.encoder.layer.%d.output.adapters." % layer
        names[p + name + ".adapter_down.0.weight"] = ([m, H], p + "adapter.adapter_down.0.weight")
        names[p + name + ".adapter_down.0.bias"] = ([m], p + "adapter.adapter_down.0.bias")
        names[p + name + ".adapter_up.weight"] = ([H, m], p + "adapter.adapter_up.weight")
        names[p + name + ".adapter_up.bias"] = ([H], p + "adapter.adapter_up.bias")
    expect(sorted(st) == sorted(names), "adapter.safetensors: missing %s, unexpected %s"
           % (sorted(set(names) - set(st))[:3], sorted(set(st) - set(names))[:3]))
    for k, (shape, dname) in names.items():
        expect(st[k][1] == shape, "%s: shape %s, want %s" % (k, st[k][1], shape))
        same(k, st[k][2], dt[dname])
    hc = json.load(open(os.path.join(export, "head_config.json")))
    n = dh["num_labels"]
    want = {"head_type": "classification", "num_labels": n, "layers": 2, "activation_function": "tanh",
            "use_pooler": dh["head"] == "jiant", "bias": True,
            "label2id": {lab: i for i, lab in enumerate(dh["labels"])}}
    for k, v in want.items():
        expect(hc.get("config", {}).get(k) == v, "head_config.json: config.%s is %r, want %r"
               % (k, hc.get("config", {}).get(k), v))
    expect(hc.get("name") == name and hc.get("hidden_size") == H, "head_config.json: name/hidden_size")
    _, hs = safetensors(os.path.join(export, "model_head.safetensors"))
    hn = {"heads.%s.1.weight" % name: "classifier.dense.weight", "heads.%s.1.bias" % name: "classifier.dense.bias",
          "heads.%s.4.weight" % name: "classifier.out_proj.weight", "heads.%s.4.bias" % name: "classifier.out_proj.bias"}
    expect(sorted(hs) == sorted(hn), "model_head.safetensors: %s" % sorted(hs))
    shapes = head_shapes(cfg, n)
    for k, dname in hn.items():
        expect(hs[k][1] == shapes[dname], "%s: shape %s, want %s" % (k, hs[k][1], shapes[dname]))
        same(k, hs[k][2], dt[dname])
    print("adapterhub: adapter_config.json (Pfeiffer, bottleneck %d = int(%d // %.6g)), %d adapter tensors, "
          "head_config.json, %d head tensors as documented and equal to the delta's" % (m, H, rf, len(st), len(hs)))


def check_merged(export, base, dh, dt):
    cfg = json.load(open(os.path.join(export, "config.json")))
    hf = dh["head"] == "hf"
    want = ("RobertaForSequenceClassification", "roberta") if hf else \
        ("SparsetuneRobertaForSequenceClassification", "sparsetune-roberta")
    got = ((cfg.get("architectures") or [None])[0], cfg.get("model_type"))
    expect(got == want, "config.json: architectures/model_type %s, want %s for --head %s" % (got, want, dh["head"]))
    expect(cfg.get("sparsetune", {}).get("head_arch") == dh["head"], "config.json: sparsetune.head_arch")
    _, st = safetensors(os.path.join(export, "model.safetensors"))
    extra = [k for k in st if "lora_" in k or ".adapters." in k]
    expect(not extra, "model.safetensors holds %s" % extra[:3])
    _, b = safetensors(os.path.join(base, "model.safetensors"))
    base_names = sorted(k for k in b if not k.startswith("classifier."))
    enc = sorted(k for k in st if not k.startswith("classifier."))
    expect(enc == base_names, "encoder tensors: missing %s, unexpected %s"
           % (sorted(set(base_names) - set(enc))[:3], sorted(set(enc) - set(base_names))[:3]))
    lo = dh["structure"]["lora"]
    s = lo["alpha"] / lo["r"]
    merged = worst = 0
    for k in enc:
        w0 = b[k][2].astype(np.float64)
        mod = k[:-len(".weight")] if k.endswith(".weight") else None
        if mod is not None and mod + ".lora_A.weight" in dt:
            ref = w0 + s * dt[mod + ".lora_B.weight"].astype(np.float64) @ dt[mod + ".lora_A.weight"].astype(np.float64)
            err = np.abs(st[k][2] - ref).max() / max(1.0, np.abs(ref).max())
            expect(err <= 1e-6, "%s: not W0 + (alpha/r) B A (off by %.3g)" % (k, err))
            expect(not np.array_equal(st[k][2], b[k][2]), "%s: unchanged by its LoRA delta" % k)
            merged, worst = merged + 1, max(worst, err)
        else:
            expect(np.array_equal(st[k][2], b[k][2]), "%s: differs from the base model" % k)
    expect(merged == len([n for n in dt if n.endswith(".lora_A.weight")]), "merged %d LoRA modules" % merged)
    heads = sorted(k for k in st if k.startswith("classifier."))
    for k in heads:
        if k in dt:
            same(k, st[k][2], dt[k])
    print("merged (%s): %s, no LoRA tensors, %d weights = W0 + (alpha/r) B A (worst %.3g), the rest the base's"
          % (dh["head"], want[0], merged, worst))


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("peft", "adapterhub", "merged"):
        sys.exit(__doc__)
    kind, export, base, delta = sys.argv[1:5]
    dh, dt = delta_tensors(delta)
    need = "adapter" if kind == "adapterhub" else "lora"
    expect(need in dh.get("structure", {}), "%s: not a %s delta" % (delta, need))
    {"peft": check_peft, "adapterhub": check_adapterhub, "merged": check_merged}[kind](export, base, dh, dt)


if __name__ == "__main__":
    main()
