"""streamread.py — read a sparsetune stream (header, records, end) from Python for the tests,
with a minimal msgpack decoder (python3-msgpack is not a dependency; mkstream.py is the
writing side).  Binary fields stay bytes; `ints`/`floats` turn them into lists.

    import streamread as sr
    header, records = sr.read("p.st")        # checks the end map and its count
    scores = sr.floats(records[0]["scores"])
"""
import struct


class _Reader:
    def __init__(self, raw):
        self.raw, self.pos = raw, 0

    def take(self, n):
        if self.pos + n > len(self.raw):
            raise ValueError("truncated msgpack data at byte %d" % self.pos)
        b = self.raw[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def obj(self):
        t = self.take(1)[0]
        if t <= 0x7F:
            return t
        if t >= 0xE0:
            return t - 0x100
        if 0x80 <= t <= 0x8F:
            return self.map(t & 0x0F)
        if 0x90 <= t <= 0x9F:
            return [self.obj() for _ in range(t & 0x0F)]
        if 0xA0 <= t <= 0xBF:
            return self.take(t & 0x1F).decode("utf-8")
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if t in simple:
            return simple[t]
        lengths = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}  # bin 8/16/32
        if t in lengths:
            return bytes(self.take(self.unpack(lengths[t])))
        numbers = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
                   0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
        if t in numbers:
            return self.unpack(numbers[t])
        strs = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}
        if t in strs:
            return self.take(self.unpack(strs[t])).decode("utf-8")
        if t in (0xDC, 0xDD):
            return [self.obj() for _ in range(self.unpack(">H" if t == 0xDC else ">I"))]
        if t in (0xDE, 0xDF):
            return self.map(self.unpack(">H" if t == 0xDE else ">I"))
        raise ValueError("unsupported msgpack type 0x%02x at byte %d" % (t, self.pos - 1))

    def map(self, n):
        out = {}
        for _ in range(n):
            k = self.obj()
            out[k] = self.obj()
        return out


def read(path):
    """(header, records) of a complete stream; raises ValueError on a truncated one."""
    r = _Reader(open(path, "rb").read())
    header = r.obj()
    if not isinstance(header, dict) or header.get("stream") != "sparsetune":
        raise ValueError("%s: not a sparsetune stream" % path)
    records = []
    while True:
        if r.pos >= len(r.raw):
            raise ValueError("%s: no end map (truncated)" % path)
        o = r.obj()
        if isinstance(o, dict) and o.get("end") is True:
            if o.get("count") != len(records):
                raise ValueError("%s: end count %s, %d records" % (path, o.get("count"), len(records)))
            return header, records
        records.append(o)


def ints(b):
    return list(struct.unpack("<%di" % (len(b) // 4), b))


def floats(b):
    return list(struct.unpack("<%df" % (len(b) // 4), b))
