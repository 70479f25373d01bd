#!/usr/bin/env bats
# inspect: listings, JSON lines, exports, and its errors.  Test streams are written by
# tests/tools/mkstream.py (an independent msgpack encoder), results checked with numpy.
load helper

PY=/usr/bin/python3

setup() {
  export PYTHONPATH=$ROOT/tests/tools
  cd "$BATS_TEST_TMPDIR"
  $PY - <<'EOF'
import numpy as np, mkstream as m
w = np.array([[1.5, -4.0, 0.0], [2.0, 0.25, -0.5]], "f4")
m.write("t.st", "tensors", [
    m.tensor("enc.w", "f32", w),
    m.tensor("enc.b", "bf16", np.array([1.5, -2.0, 0.0, 3.0], "f4")),
    m.tensor("h", "f16", np.array([0.5, -0.25], "f4")),
    m.tensor("ids", "i32", np.array([[7, -8]], "i4")),
], meta={"role": "grads", "steps": 700, "reduction": "sumsq"})
m.write("m.st", "mask", [m.mask("enc.w", [2, 3], [0, 4, 5]), m.mask("enc.b", [4])],
        meta={"method": "sam", "ratio": 0.005})
m.write("d.st", "delta", [m.delta("enc.w", [2, 3], [1, 2], [0.5, -1.0]),
                          m.tensor("head", "f32", np.ones(3, "f4"))])
m.write("e.st", "examples", [
    {"idx": 0, "ids": m.ids([0, 5, 6, 2]), "label": 1},
    {"idx": 1, "choices": [m.ids([0, 1]), m.ids([0, 1, 2])], "label": 0},
    {"idx": 2, "ids": m.ids([0, 3]), "spans": [[1, 2], [3, 4]], "label": m.F32(3.8)}],
    meta={"task": "rte", "max_len": 128})
m.write("big.st", "tensors", [m.tensor("big", "f32", np.arange(5000, dtype="f4") - 2500)])
data = m.encode("tensors", [m.tensor("a", "f32", np.ones(4, "f4"))] * 3)
open("cut.st", "wb").write(data[:-20])
open("garbage.st", "wb").write(data + b"\x00")
open("count.st", "wb").write(m.encode("tensors", [m.tensor("a", "f32", np.ones(2, "f4"))], count=5))
open("v2.st", "wb").write(m.pack({"stream": "sparsetune", "version": 2, "kind": "mask"}))
open("j.json", "w").write('{"a": 1}\n')
EOF
}

@test "inspect: --help and --version print to stdout and exit 0" {
  run inspect --help
  assert_success
  assert_output --partial "Usage: inspect [OPTIONS] [FILE|-]"
  assert_output --partial "--to PATH"
  run inspect --version
  assert_success
  assert_output --regexp '^inspect \(sparsetune\) [0-9]+\.[0-9]+'
}

@test "inspect: usage errors exit 2" {
  run inspect --bogus t.st
  assert_failure 2
  assert_output --partial "Try 'inspect --help'"
  run inspect t.st m.st
  assert_failure 2
  run inspect --top x t.st
  assert_failure 2
  assert_output --partial "--top: not an integer"
  run inspect --to out.txt t.st
  assert_failure 2
  assert_output --partial "cannot tell the format of 'out.txt'"
  run inspect --json --to out.npy t.st
  assert_failure 2
}

@test "inspect: tensor listing shows header, provenance, stats and the input's sha256" {
  run inspect t.st
  assert_success
  assert_line "t.st: sparsetune stream v1, kind tensors"
  assert_line '  role: "grads"'
  assert_line "  steps: 700"
  assert_line --partial "  1. mkstream 0.1.0  2024-01-02T03:04:05Z  mkstream --test  <- in.jsonl (abababababab)"
  assert_line "  0  enc.w  f32 [2, 3]  min=-4 max=2 mean=-0.125 l2=4.75 nnz=83.33%"
  assert_line "  1  enc.b  bf16 [4]  min=-2 max=3 mean=0.625 l2=3.90512 nnz=75%"
  assert_line "  2  h  f16 [2]  min=-0.25 max=0.5 mean=0.125 l2=0.559017 nnz=100%"
  assert_line "  3  ids  i32 [1, 2]  min=-8 max=7 mean=-0.5 l2=10.6301 nnz=100%"
  assert_line "end: 4 records, sha256 $(sha256sum t.st | cut -d' ' -f1)"
}

@test "inspect: reads standard input and writes -o atomically" {
  run bash -c "inspect < m.st"
  assert_success
  assert_line "<stdin>: sparsetune stream v1, kind mask"
  assert_line "  0  enc.w  [2, 3]  k=3 density=50%"
  assert_line "  1  enc.b  [4]  all"
  run bash -c "cat m.st | inspect - -o list.txt"
  assert_success
  assert_output ""
  run grep -c "k=3 density=50%" list.txt
  assert_output "1"
}

@test "inspect: delta and examples listings" {
  run inspect d.st
  assert_success
  assert_line "  0  enc.w  [2, 3]  k=2 density=33.33%  value:  min=-1 max=0.5 mean=-0.25 l2=1.11803 nnz=100%"
  assert_line "  1  head  f32 [3]  min=1 max=1 mean=1 l2=1.73205 nnz=100%"
  run inspect e.st
  assert_success
  assert_line "  max_len: 128"
  assert_line "  0  idx=0 label=1 len=4"
  assert_line "  1  idx=1 label=0 choices=2 len=2/3"
  assert_line "  2  idx=2 label=3.8 len=2 spans=2 [[1,2],[3,4]]"
}

@test "inspect: --top lists the largest |x| with flat index and coordinates" {
  run inspect --top 2 --name enc.w t.st
  assert_success
  assert_line "      top 1: flat 1 [0, 1] = -4"
  assert_line "      top 2: flat 3 [1, 0] = 2"
  refute_line --partial "enc.b"
  run inspect --top 1 d.st
  assert_line "      top 1: flat 2 [0, 2] = -1"
}

@test "inspect --json: header, records with arrays or stats, end object" {
  inspect --json t.st > t.jsonl
  inspect --json m.st > m.jsonl
  inspect --json e.st > e.jsonl
  inspect --json --top 2 big.st > big.jsonl
  inspect --json --max-elems 5000 big.st > bigfull.jsonl
  run $PY - <<'EOF'
import json
t = [json.loads(l) for l in open("t.jsonl")]
assert t[0]["kind"] == "tensors" and t[0]["steps"] == 700 and t[0]["provenance"][0]["tool"] == "mkstream"
assert t[1] == {"name": "enc.w", "dtype": "f32", "shape": [2, 3],
                "data": [1.5, -4.0, 0.0, 2.0, 0.25, -0.5], "numel": 6}, t[1]
assert t[2]["data"] == [1.5, -2.0, 0.0, 3.0]
assert t[4]["data"] == [7, -8] and all(isinstance(x, int) for x in t[4]["data"])
assert t[-1] == {"end": True, "count": 4}
m = [json.loads(l) for l in open("m.jsonl")]
assert m[0]["ratio"] == 0.005
assert m[1]["index"] == [0, 4, 5] and m[2]["all"] is True
e = [json.loads(l) for l in open("e.jsonl")]
assert e[1]["ids"] == [0, 5, 6, 2] and e[2]["choices"] == [[0, 1], [0, 1, 2]]
assert e[3]["label"] == 3.8 and e[3]["spans"] == [[1, 2], [3, 4]]
b = [json.loads(l) for l in open("big.jsonl")]
assert "data" not in b[1] and b[1]["numel"] == 5000
s = b[1]["stats"]
assert s["min"] == -2500 and s["max"] == 2499 and s["nnz"] == 4999 and s["mean"] == -0.5, s
assert b[1]["top"] == [[0, -2500.0], [1, -2499.0]], b[1]["top"]  # ties: lower position first
f = [json.loads(l) for l in open("bigfull.jsonl")]
assert f[1]["data"][:3] == [-2500.0, -2499.0, -2498.0] and len(f[1]["data"]) == 5000
print("ok")
EOF
  assert_success
  assert_output "ok"
}

@test "inspect --to FILE.npy: one tensor, loaded by numpy" {
  run inspect --name enc.w --to w.npy t.st
  assert_success
  inspect --name enc.b --to b.npy t.st
  inspect --name h --to h.npy t.st
  inspect --name enc.w --to mask.npy m.st
  inspect --name enc.b --to all.npy m.st
  run $PY - <<'EOF'
import numpy as np
w = np.load("w.npy"); assert w.dtype == np.float32 and w.shape == (2, 3)
assert (w == np.array([[1.5, -4.0, 0.0], [2.0, 0.25, -0.5]], "f4")).all()
b = np.load("b.npy"); assert b.dtype == np.float32 and list(b) == [1.5, -2.0, 0.0, 3.0]
h = np.load("h.npy"); assert h.dtype == np.float16 and list(h) == [0.5, -0.25]
k = np.load("mask.npy"); assert k.dtype == np.uint32 and list(k) == [0, 4, 5]
a = np.load("all.npy"); assert a.dtype == np.uint32 and list(a) == [0, 1, 2, 3]
print("ok")
EOF
  assert_output "ok"
}

@test "inspect --to DIR/: one .npy per array, nothing else left there" {
  run inspect --to out/ t.st
  assert_success
  run inspect --to dout/ d.st
  assert_success
  run $PY - <<'EOF'
import numpy as np, os
assert sorted(os.listdir("out")) == ["enc.b.npy", "enc.w.npy", "h.npy", "ids.npy"], os.listdir("out")
i = np.load("out/ids.npy"); assert i.dtype == np.int32 and i.shape == (1, 2) and i.tolist() == [[7, -8]]
assert sorted(os.listdir("dout")) == ["enc.w.index.npy", "enc.w.value.npy", "head.npy"]
assert np.load("dout/enc.w.index.npy").tolist() == [1, 2]
assert np.load("dout/enc.w.value.npy").tolist() == [0.5, -1.0]
print("ok")
EOF
  assert_output "ok"
}

@test "inspect --to FILE.npy: refuses several arrays and leaves no file" {
  run inspect --to all.npy t.st
  assert_failure 1
  assert_output --partial "more than one array to export"
  [ ! -e all.npy ]
  run inspect --to x.npy e.st
  assert_failure 1
  assert_output "inspect: e.st: --to: an examples stream has no arrays to export (tensors, mask and delta streams do)"
  run inspect --name nope --to x.npy t.st
  assert_failure 1
  assert_output --partial "no records to export"
  [ ! -e x.npy ]
  ls -A | grep -v '\.st$\|\.json$' && false || true
}

@test "inspect --to FILE.safetensors: loaded back with the tensors' dtypes" {
  grep -q 'safetensors_writer_save' "$ROOT/lib/safetensors.c" 2>/dev/null ||
    skip "safetensors writer not in this tree"
  run inspect --to t.safetensors t.st
  assert_success
  inspect --to d.safetensors d.st
  run $PY - <<'EOF'
import json, struct, numpy as np
def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); meta = h.pop("__metadata__", {})
    dt = {"F32": "<f4", "F16": "<f2", "I32": "<i4", "I64": "<i8", "BF16": "<u2"}
    return meta, {k: (v["dtype"], np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                                                  dt[v["dtype"]]).reshape(v["shape"])) for k, v in h.items()}
meta, t = load("t.safetensors")
assert meta.get("format") == "pt", meta
assert t["enc.w"][0] == "F32" and t["enc.w"][1].tolist() == [[1.5, -4.0, 0.0], [2.0, 0.25, -0.5]]
assert t["enc.b"][0] == "BF16" and (t["enc.b"][1].astype("<u4") << 16).view("<f4").tolist() == [1.5, -2.0, 0.0, 3.0]
assert t["ids"][0] == "I32" and t["ids"][1].tolist() == [[7, -8]]
_, d = load("d.safetensors")
assert d["enc.w.index"][0] == "I64" and d["enc.w.index"][1].tolist() == [1, 2]
assert d["enc.w.value"][1].tolist() == [0.5, -1.0]
print("ok")
EOF
  assert_output "ok"
}

@test "inspect: truncated, miscounted or trailing-garbage streams exit 1 naming the file" {
  run inspect cut.st
  assert_failure 1
  assert_line "inspect: cut.st: truncated stream: no end marker after 2 records"
  run inspect --to cut.npy --name a cut.st
  assert_failure 1
  [ ! -e cut.npy ]
  run inspect --to cutdir/ cut.st
  assert_failure 1
  [ -z "$(ls -A cutdir)" ]
  run inspect count.st
  assert_failure 1
  assert_line "inspect: count.st: wrong count: the end marker says 5 records, the stream has 1"
  run inspect garbage.st
  assert_failure 1
  assert_line "inspect: garbage.st: garbage after the end marker (3 records)"
}

@test "inspect: not a stream, unsupported version, missing file" {
  run inspect j.json
  assert_failure 1
  assert_output "inspect: j.json: not a sparsetune stream (the first object is an integer, not the header map)"
  run inspect v2.st
  assert_failure 1
  assert_output "inspect: v2.st: unsupported stream version 2 (this build reads version 1)"
  run inspect nonexistent.st
  assert_failure 1
  assert_output "inspect: nonexistent.st: No such file or directory"
  mkdir adir
  run inspect adir
  assert_failure 1
  assert_output "inspect: adir: read error: Is a directory"
  run bash -c "printf '' | inspect"
  assert_failure 1
  assert_output "inspect: <stdin>: empty input: not a sparsetune stream"
}

@test "README's Python snippet reads a mask stream as written" {
  /usr/bin/python3 -c 'import msgpack' 2>/dev/null || skip "python3-msgpack missing (make deps)"
  local d
  d=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" -o "$d/m"
  sam-select --method random --ratio 0.05 --model "$d/m" -o "$d/cb.mask"
  awk '/^```python$/ { on = 1; next } /^```$/ { on = 0 } on' "$ROOT/README.md" > "$d/snippet.py"
  [ -s "$d/snippet.py" ]
  run bash -c "cd '$d' && /usr/bin/python3 snippet.py"
  assert_success
  assert_line --index 0 --regexp '^mask random [0-9]+ records$'
  assert_output --partial "roberta.encoder.layer.0.attention.self.query.weight [32, 32]"
  rm -rf "$d"
}
