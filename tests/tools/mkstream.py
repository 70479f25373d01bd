"""mkstream.py — write sparsetune streams from Python for the bats tests, with a minimal
msgpack encoder (python3-msgpack is not a dependency).  An independent encoder also checks
that the C reader accepts streams it did not write itself.

    import mkstream as m
    m.write(path, "tensors", [m.tensor("w", "f32", np.arange(6, dtype="<f4").reshape(2, 3))],
            meta={"role": "params"})
"""
import struct

import numpy as np


class F32(float):
    """A float packed as msgpack float32."""


def pack(o):
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, int):
        if 0 <= o < 128:
            return bytes([o])
        if -32 <= o < 0:
            return struct.pack("b", o)
        if 0 <= o < 2**32:
            return b"\xce" + struct.pack(">I", o)
        if o >= 0:
            return b"\xcf" + struct.pack(">Q", o)
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, F32):
        return b"\xca" + struct.pack(">f", o)
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, str):
        b = o.encode()
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        return b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(o, (bytes, bytearray)):
        return b"\xc6" + struct.pack(">I", len(o)) + bytes(o)
    if isinstance(o, (list, tuple)):
        return b"\xdd" + struct.pack(">I", len(o)) + b"".join(pack(x) for x in o)
    if isinstance(o, dict):
        return b"\xdf" + struct.pack(">I", len(o)) + b"".join(pack(k) + pack(v) for k, v in o.items())
    raise TypeError(type(o))


def header(kind, meta=None, provenance=None):
    h = {"stream": "sparsetune", "version": 1, "kind": kind}
    h.update(meta or {})
    h["provenance"] = provenance if provenance is not None else [
        {"tool": "mkstream", "version": "0.1.0", "argv": ["mkstream", "--test"],
         "time": "2024-01-02T03:04:05Z", "inputs": [{"path": "in.jsonl", "sha256": "ab" * 32}]}]
    return h


def tensor(name, dtype, arr):
    arr = np.ascontiguousarray(arr)
    if dtype == "bf16":
        data = (arr.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    else:
        data = arr.astype({"f32": "<f4", "f16": "<f2", "i32": "<i4"}[dtype]).tobytes()
    return {"name": name, "dtype": dtype, "shape": list(arr.shape), "data": data}


def mask(name, shape, index=None):
    if index is None:
        return {"name": name, "shape": list(shape), "all": True}
    return {"name": name, "shape": list(shape), "index": np.asarray(index, "<u4").tobytes()}


def delta(name, shape, index, value):
    return {"name": name, "shape": list(shape), "index": np.asarray(index, "<u4").tobytes(),
            "value": np.asarray(value, "<f4").tobytes()}


def ids(seq):
    return np.asarray(seq, "<i4").tobytes()


def encode(kind, records, meta=None, count=None, end=True):
    out = pack(header(kind, meta)) + b"".join(pack(r) for r in records)
    if end:
        out += pack({"end": True, "count": len(records) if count is None else count})
    return out


def write(path, kind, records, **kw):
    with open(path, "wb") as f:
        f.write(encode(kind, records, **kw))
