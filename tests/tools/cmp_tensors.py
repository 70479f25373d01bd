"""cmp_tensors.py A.safetensors B.safetensors TOL — every array of A and B (same names and
shapes) agrees within relative error TOL: ||a - b|| / ||b|| per array.  Arrays of B whose norm
is below 1e-6 of B's largest (gradients that are zero in exact arithmetic, like the attention
key bias's: softmax ignores a constant added to a row, so both sides hold rounding noise) are
compared against that largest norm instead.  Prints the worst relative error; exit 1 on a
mismatch.  For comparing the CPU and CUDA backends' outputs (exported with inspect --to)."""
import sys

import numpy as np

import st_numpy

a, b, tol = st_numpy.load(sys.argv[1]), st_numpy.load(sys.argv[2]), float(sys.argv[3])
if sorted(a) != sorted(b):
    sys.exit(f"different arrays: {sorted(set(a) ^ set(b))[:5]}")
top = max(np.linalg.norm(v.astype(np.float64)) for v in b.values())
worst, where = 0.0, ""
for k in a:
    x, y = a[k].astype(np.float64), b[k].astype(np.float64)
    if x.shape != y.shape:
        sys.exit(f"{k}: shapes {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        sys.exit(f"{k}: non-finite values")
    ny = np.linalg.norm(y)
    err = np.linalg.norm(x - y) / (ny if ny >= 1e-6 * top else max(top, 1e-30))
    if err > worst:
        worst, where = err, k
print(f"worst relative error {worst:.3g} ({where})")
sys.exit(1 if worst > tol else 0)
