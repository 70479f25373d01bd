#!/usr/bin/env python3
"""step_model.py - bytes, FLOPs and launches of one roberta-base training step on the CUDA
backend as written (kernels/*.cu, lib/model.c, lib/optim.c), per pass, with the METHOD.md
estimate (bytes / 4.3 TB/s, FLOPs / rate).  Counts are DRAM bytes if every kernel reads
each input once and writes each output once (L1/L2 re-reads inside a kernel not counted).
Usage: python3 tests/device/step_model.py [--batch 32] [--len 128] [--ratio 0]"""
import argparse

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--len", type=int, default=128)
ap.add_argument("--ratio", type=float, default=0.0)
a = ap.parse_args()
S, T, H, I, NH, L, V = a.batch, a.len, 768, 3072, 12, 12, 50265
N, HD, f = S * T, H // NH, 4
BW = 4.3e12
RATE = {"fp32": 67e12, "tf32": 495e12, "bf16": 989e12}  # H200 datasheet, dense
NH_ = N * H * f            # one [N,H] fp32 tensor, bytes
NI_ = N * I * f
ATT = S * NH * T * T * f   # one attention tensor
rows = []                   # (group, what, bytes per step)


def add(group, what, per_layer_bytes, layers=L):
    rows.append((group, what, per_layer_bytes * layers))


# ---- elementwise passes, forward (per layer)
add("bias add (separate pass)", "k_add_bias r+w of q,k,v,o,o2 and f1", 2 * (5 * NH_ + NI_))
add("mask add (separate pass)", "k_mask_add r+w scores", 2 * ATT)
add("softmax fwd", "r+w", 2 * ATT)
add("attention dropout fwd", "r P w att1", 2 * ATT)
add("hidden dropout/add/LN fwd", "2 dropouts in place, 2 adds, 2 LN", 2 * (2 * NH_) + 2 * (3 * NH_) + 2 * (2 * NH_))
add("gelu fwd", "r f1 w gi", 2 * NI_)
# ---- backward (per layer)
add("LN bwd", "part: r dy,x; dx: r dy,x w dx (x2 LN)", 2 * (2 * NH_ + 3 * NH_))
add("hidden dropout bwd", "3 passes r+w", 3 * 2 * NH_)
add("gelu recompute in bwd", "r f1 w gi", 2 * NI_)
add("gelu bwd", "r gi,f1 w gi", 3 * NI_)
add("bias grad column sums", "r dy of 5 [N,H] + 1 [N,I] linears", 5 * NH_ + NI_)
add("dx accumulate (beta=1 reads C)", "IW, Q, K, V dx += ", 4 * NH_)
add("attention dropout recompute in bwd", "r P w att1", 2 * ATT)
add("attention dropout bwd", "r+w", 2 * ATT)
add("softmax bwd", "r dy,y w dx", 3 * ATT)

# ---- bf16 operand copies (read fp32, write bf16): per layer, as gemm.cu converts them
def conv(nfloats):
    return nfloats * 6  # 4 read + 2 written

x, W, Wi, xi, att = N * H, H * H, H * I, N * I, S * NH * T * T
fwd = 3 * (conv(x) + conv(W)) + 2 * conv(x) + conv(att) + conv(x) + (conv(x) + conv(W)) \
    + (conv(x) + conv(Wi)) + (conv(xi) + conv(Wi))
bwd = (conv(x) + conv(xi)) + (conv(x) + conv(Wi)) + (conv(xi) + conv(Wi) + conv(x)) \
    + (conv(x) + conv(W) + conv(x)) + (conv(x) + conv(att) + conv(x)) + (conv(att) + 2 * conv(x)) \
    + 3 * (conv(x) + conv(W) + conv(x))
bf16_conv = (fwd + bwd) * L

# ---- optimizer (dense): sumsq r g; adamw r theta,g,m,v w theta,m,v,g
P = 124_647_170
k_total = P if a.ratio <= 0 else int(a.ratio * (P - H * 2 - 2 * H * H)) + H * H + 2 * H + 2 * H
opt = (k_total * f) + 8 * k_total * f

# ---- masked: transposes and sampled products
if a.ratio > 0:
    tr = (4 * (2 * 2 * NH_) + 2 * (2 * (NH_ + NI_))) * L   # r+w of dy and x per Linear
    kq, ki = a.ratio * H * H, a.ratio * H * I
    dots = (4 * kq + 2 * ki) * 2 * N * f * L                # rows read per entry (L2 mostly)
else:
    tr = dots = 0

ew = sum(b for _, _, b in rows)
fwd_flops = L * (2 * N * (4 * H * H + 2 * H * I) + 4 * S * T * T * H)
gemm_flops = 3 * fwd_flops if a.ratio <= 0 else 2 * fwd_flops

us = lambda b: b / BW * 1e6
print(f"N={N} tokens, attention tensor {ATT/1e6:.1f} MB, [N,H] {NH_/1e6:.1f} MB, [N,I] {NI_/1e6:.1f} MB")
print(f"{'pass':40s} {'GB/step':>8s} {'us/step':>8s}")
for g, w, b in rows:
    print(f"{g:40s} {b/1e9:8.2f} {us(b):8.0f}")
print(f"{'elementwise total':40s} {ew/1e9:8.2f} {us(ew):8.0f}")
print(f"{'bf16 operand copies (bf16, dense)':40s} {bf16_conv/1e9:8.2f} {us(bf16_conv):8.0f}")
print(f"{'optimizer: sumsq + adamw':40s} {opt/1e9:8.2f} {us(opt):8.0f}")
if a.ratio > 0:
    print(f"{'masked: dy/x transposes':40s} {tr/1e9:8.2f} {us(tr):8.0f}")
    print(f"{'masked: sampled-dot row reads (L2)':40s} {dots/1e9:8.2f} {dots/10e12*1e6:8.0f}  (at 10 TB/s L2)")
for p, r in RATE.items():
    print(f"GEMM floor {p}: {gemm_flops/1e12:.2f} TFLOP -> {gemm_flops/r*1e3:6.2f} ms")
