#!/usr/bin/env python3
"""Brute-force reference for sam-select masks (independent of the C selection code).

Usage: check_mask.py METHOD MASK.jsonl SCORES.safetensors RATIO SCOPE
MASK.jsonl is `inspect --json` of the mask.  SCORES holds the ranked values: gradients for
sam/fisher/abs, the model's weights for magnitude (bare or roberta.-prefixed names), anything
with the right names/shapes for random/bitfit/full.  Ranking: largest key first, ties by lower
flat index (tensor order first in global scope); k = int(ratio * numel) as Python computes it.
"""
import json
import struct
import sys

import numpy as np


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").astype(np.float64)
        name = k if k.startswith(("roberta.", "classifier.")) else "roberta." + k
        out[name] = arr
    return out


def topk(key, k):
    order = np.lexsort((np.arange(len(key)), -key))  # by -key, then index
    return np.sort(order[:k])


def main():
    method, mask_path, scores_path, ratio, scope = sys.argv[1:6]
    ratio = float(ratio)
    lines = [json.loads(l) for l in open(mask_path)]
    recs = {r["name"]: r for r in lines[1:-1]}
    scores = load(scores_path)
    fail = []
    masked = [n for n in scores if n.startswith("roberta.")]
    for n in scores:
        if n.startswith("classifier."):
            if not recs.get(n, {}).get("all"):
                fail.append(f"{n}: head not all:true")
    if method in ("bitfit", "full"):
        for n in masked:
            want = method == "full" or n.endswith(".bias")
            got = recs.get(n, {}).get("all", False)
            if want != got:
                fail.append(f"{n}: all={got}, want {want}")
    elif method == "random":
        for n in masked:
            idx = np.array(recs[n]["index"])
            k = int(ratio * len(scores[n]))
            if len(idx) != k or len(set(idx.tolist())) != k or (k and (idx.min() < 0 or idx.max() >= len(scores[n]))):
                fail.append(f"{n}: {len(idx)} indices, want {k} unique in range")
            if np.any(np.diff(idx) <= 0):
                fail.append(f"{n}: not ascending")
    else:
        keyf = (lambda a: a) if method == "fisher" else np.abs
        if scope == "global":
            allkey = np.concatenate([keyf(scores[n]) for n in masked])
            k = int(ratio * len(allkey))
            sel = topk(allkey, k)
            off = 0
            for n in masked:
                m = len(scores[n])
                want = sel[(sel >= off) & (sel < off + m)] - off
                got = np.array(recs.get(n, {}).get("index", []), dtype=np.int64)
                if not np.array_equal(want, got):
                    fail.append(f"{n}: global selection differs ({len(got)} vs {len(want)})")
                off += m
        else:
            for n in masked:
                k = int(ratio * len(scores[n]))
                want = topk(keyf(scores[n]), k)
                got = np.array(recs[n]["index"], dtype=np.int64)
                if not np.array_equal(want, got):
                    fail.append(f"{n}: selection differs ({len(got)} vs {len(want)})")
    for f in fail[:10]:
        print(f, file=sys.stderr)
    if fail:
        sys.exit(1)
    print(f"{method}: {len(masked)} masked tensors ok")


if __name__ == "__main__":
    main()
