#!/usr/bin/python3
"""Coefficients of erf_fast in lib/ops_cpu.c (float erf within 1 ulp of glibc's erff).

erf(a) = a + a * P(a^2) for |a| <= B, and 1 - exp(Q(|a|)) with Q ~ log(erfc) on [B, 4];
weighted minimax fits (relative error of erf) by Lawson's iteratively reweighted least
squares on a dense grid.  Prints the float coefficients, lowest degree first.
Needs numpy and scipy (the Debian python3: /usr/bin/python3 lib/gen-erf-coeffs.py)."""
import numpy as np
from scipy.special import erf, erfc

B = 0.875


def lawson(x, f, w, deg, iters=300):
    A = np.vander(x, deg + 1, increasing=True)
    u = np.ones_like(x) / len(x)
    for _ in range(iters):
        sw = np.sqrt(u)
        c, *_ = np.linalg.lstsq(A * (sw * w)[:, None], f * sw * w, rcond=None)
        e = np.abs(w * (A @ c - f))
        u = u * e
        u /= u.sum()
    return c, np.max(np.abs(w * (A @ c - f)))


a = np.linspace(1e-4, B, 20000)
p, ep = lawson(a * a, erf(a) / a - 1, a / erf(a), 5)
t = np.linspace(B, 4.0, 40000)
q, eq = lawson(t, np.log(erfc(t)), erfc(t) / erf(t), 6)
fmt = lambda c: ", ".join("%.9ef" % np.float32(v) for v in c)
print("ERF_P = {%s}  /* max rel err %.2g */" % (fmt(p), ep))
print("ERF_Q = {%s}  /* max rel err %.2g */" % (fmt(q), eq))
