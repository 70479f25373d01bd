"""st_numpy.py — read a .safetensors file into numpy arrays (F32 only), for the bats tests'
independent checks: plain json + struct + numpy, no safetensors package."""
import json
import struct

import numpy as np


def load(path, shaped=False):
    """name -> flat float32 array (shaped: with the tensor's shape)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a = np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], "<f4")
        out[k] = a.reshape(v["shape"]) if shaped else a
    return out
