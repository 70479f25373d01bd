#!/usr/bin/python3
"""Load an `evaluate --export` directory with PyTorch and compare its logits with the scores of
`evaluate --predictions` on the same examples (float64 on this side).

Usage: check_export.py --impl hf|shipped [--tol T] DIR EXAMPLES PREDICTIONS
  hf       tests/tools/hf_roberta.py, the plain-torch re-implementation of HF's classes: the
           config must name RobertaForSequenceClassification or RobertaForMultipleChoice with
           HF's fields (model_type roberta, id2label with string keys, label2id,
           problem_type) and model.safetensors must hold exactly that class's parameters;
  shipped  DIR/modeling_sparsetune.py, the file the export carries (imported from DIR).
Prints "worst N" (largest |logit difference|) and exits 1 above --tol (default 1e-5).
"""
import argparse
import importlib.util
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_roberta  # noqa: E402
import st_numpy  # noqa: E402
import streamread  # noqa: E402

HF_CLASSES = ("RobertaForSequenceClassification", "RobertaForMultipleChoice")


def fail(msg):
    print("check_export: " + msg, file=sys.stderr)
    sys.exit(1)


def check_hf_config(cfg, header):
    cls = (cfg.get("architectures") or [""])[0]
    if cls not in HF_CLASSES:
        fail("architectures %r is not one of HF's classes" % cfg.get("architectures"))
    if cfg.get("model_type") != "roberta":
        fail("model_type %r" % cfg.get("model_type"))
    if cls == "RobertaForMultipleChoice":
        return cls
    id2label = cfg.get("id2label")
    n = 1 if header["task_type"] == "regression" else header["num_labels"]
    if not isinstance(id2label, dict) or sorted(id2label) != sorted(str(i) for i in range(n)):
        fail("id2label %r: want string keys 0..%d" % (id2label, n - 1))
    if cfg.get("label2id") != {v: int(k) for k, v in id2label.items()}:
        fail("label2id %r is not the inverse of id2label" % cfg.get("label2id"))
    if header["task_type"] == "classification" and header.get("labels"):
        if [id2label[str(i)] for i in range(n)] != header["labels"]:
            fail("id2label %r, the examples' labels are %r" % (id2label, header["labels"]))
    want = "regression" if header["task_type"] == "regression" else "single_label_classification"
    if cfg.get("problem_type") != want:
        fail("problem_type %r, want %r" % (cfg.get("problem_type"), want))
    if "num_labels" in cfg and cfg["num_labels"] != n:
        fail("num_labels %r, want %d" % (cfg["num_labels"], n))
    return cls


def hf_runner(d, header):
    cfg = json.load(open(os.path.join(d, "config.json")))
    cls = check_hf_config(cfg, header)
    P = {k: torch.tensor(v, dtype=torch.float64) for k, v in st_numpy.load(os.path.join(d, "model.safetensors")).items()}
    want = hf_roberta.state_dict_shapes(cfg, cls)
    if set(P) != set(want):
        fail("%s parameters: missing %s, unexpected %s"
             % (cls, sorted(set(want) - set(P))[:4], sorted(set(P) - set(want))[:4]))
    for k, shape in want.items():
        P[k] = P[k].reshape(shape)  # st_numpy gives flat arrays: shapes come from HF's class
    if cls == "RobertaForMultipleChoice":
        return lambda ids, mask, spans: hf_roberta.multiple_choice(P, cfg, ids, mask)
    return lambda ids, mask, spans: hf_roberta.sequence_classification(P, cfg, ids, mask)


def shipped_runner(d, header):
    path = os.path.join(d, "modeling_sparsetune.py")
    if not os.path.exists(path):
        fail(path + " is missing")
    spec = importlib.util.spec_from_file_location("modeling_sparsetune", path)
    ms = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ms)
    model = ms.load(d, dtype=torch.float64)
    return lambda ids, mask, spans: model(ids, attention_mask=mask, spans=spans)


def pad(seqs, pad_id):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return ids, mask


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", choices=["hf", "shipped"], required=True)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("dir")
    ap.add_argument("examples")
    ap.add_argument("predictions")
    a = ap.parse_args()
    header, exs = streamread.read(a.examples)
    _, preds = streamread.read(a.predictions)
    if len(exs) != len(preds):
        fail("%d examples, %d predictions" % (len(exs), len(preds)))
    cfg = json.load(open(os.path.join(a.dir, "config.json")))
    pad_id = cfg.get("pad_token_id", 1)
    run = (hf_runner if a.impl == "hf" else shipped_runner)(a.dir, header)
    mc = header["task_type"] == "multiple_choice"
    worst = scale = 0.0
    with torch.no_grad():
        for b in range(0, len(exs), 8):  # batches of 8: padding as a user's batches have it
            chunk = exs[b:b + 8]
            spans = None
            if mc:
                nc = len(chunk[0]["choices"])
                ids, mask = pad([streamread.ints(c) for e in chunk for c in e["choices"]], pad_id)
                ids, mask = ids.view(len(chunk), nc, -1), mask.view(len(chunk), nc, -1)
            else:
                ids, mask = pad([streamread.ints(e["ids"]) for e in chunk], pad_id)
                if "spans" in chunk[0]:
                    spans = torch.tensor([e["spans"] for e in chunk], dtype=torch.long)
            got = run(ids, mask, spans).reshape(len(chunk), -1)
            for i, p in enumerate(preds[b:b + 8]):
                want = torch.tensor(streamread.floats(p["scores"]), dtype=torch.float64)
                if want.numel() != got[i].numel():
                    fail("example %d: %d logits, the predictions have %d" % (b + i, got[i].numel(), want.numel()))
                worst = max(worst, (got[i] - want).abs().max().item())
                scale = max(scale, want.abs().max().item())
    print("worst %.3g over %d examples (|logits| up to %.3g)" % (worst, len(exs), scale))
    if worst > a.tol:
        fail("largest logit difference %.3g > %g" % (worst, a.tol))


if __name__ == "__main__":
    main()
