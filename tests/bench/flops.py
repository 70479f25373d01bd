#!/usr/bin/python3
"""Matrix FLOPs of one RoBERTa training step (forward + backward), the benchmark's floor.

Counting (one multiply-add = 2 FLOPs; a GEMM of shapes M x K times K x N costs 2*M*N*K):
  T = batch * len tokens, H hidden, F ffn, A heads of width D = H / A, C labels.
  per layer, forward:
    Q, K, V, output projections   4 * 2*T*H*H
    attention scores  Q K^T       batch*A * 2*len*len*D
    attention context P V         batch*A * 2*len*D*len
    FFN up and down               2 * 2*T*H*F
  classification head on <s> only (batch rows): dense 2*batch*H*H, out_proj 2*batch*H*C.
  backward = 2 x forward: every GEMM has an input gradient and a weight gradient (or, for the
  two attention products, a gradient for each activation operand), each the same size as the
  forward product; this includes the input gradient of layer 0 (the embeddings are trained).
Not counted: embedding lookups and their scatter-add gradients, biases, LayerNorm, softmax,
GELU, dropout, the loss, zero_grad: elementwise work that is not matrix FLOPs.
"""
import argparse
import json


def step_flops(layers=12, hidden=768, heads=12, ffn=3072, batch=16, length=128, labels=2):
    """Returns a dict: forward, backward and total matrix FLOPs of one training step."""
    if hidden % heads:
        raise ValueError("hidden must be a multiple of heads")
    t = batch * length
    d = hidden // heads
    proj = 4 * 2 * t * hidden * hidden
    attn = 2 * batch * heads * 2 * length * length * d
    mlp = 2 * 2 * t * hidden * ffn
    head = 2 * batch * hidden * hidden + 2 * batch * hidden * labels
    fwd = layers * (proj + attn + mlp) + head
    return {"forward": fwd, "backward": 2 * fwd, "total": 3 * fwd,
            "per_layer_forward": {"qkvo": proj, "attention": attn, "ffn": mlp},
            "head_forward": head}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--ffn", type=int, default=3072)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--len", type=int, default=128, dest="length")
    p.add_argument("--labels", type=int, default=2)
    p.add_argument("--json", action="store_true", help="print the breakdown as JSON")
    a = p.parse_args()
    f = step_flops(a.layers, a.hidden, a.heads, a.ffn, a.batch, a.length, a.labels)
    print(json.dumps(f) if a.json else f["total"])


if __name__ == "__main__":
    main()
