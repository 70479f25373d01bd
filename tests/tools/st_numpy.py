"""st_numpy.py — read a .safetensors file into numpy arrays (F32 only), for the bats tests'
independent checks: plain json + struct + numpy, no safetensors package."""
import json
import struct

import numpy as np


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], "<f4")
            for k, v in header.items() if k != "__metadata__"}
