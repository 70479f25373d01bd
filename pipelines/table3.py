#!/usr/bin/env python3
"""table3.py — Table 3: measured training time per method and task, from the runs' own
records (the delta header's training.train_seconds that masktrain writes; plus the burn-in's
gradacc time where the run's grads stream is given by the file layout of run.mk).

    table3.py BIN DELTA... > table3.txt      (run.mk names: TASK-METHOD-rRATIO-sSEED.delta)

Mean hours over the seeds per method (rows) and task (columns) and their AVG, then the same
as TSV lines prefixed "tsv\t" for plots."""
import json
import os
import re
import subprocess
import sys


def header(binary, path):
    out = subprocess.run([os.path.join(binary, "inspect"), "--json", path], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.split("\n", 1)[0])


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: table3.py BIN DELTA...")
    cells = {}
    for path in sys.argv[2:]:
        h = header(sys.argv[1], path)
        task = h.get("task") or "?"
        m = re.match(re.escape(task) + r"-(.+)-r[^-]+-s\d+", os.path.basename(path))
        method = m.group(1) if m else h.get("method", "?")
        secs = (h.get("training") or {}).get("train_seconds")
        if secs is None:
            sys.exit("table3.py: %s: no training.train_seconds (a delta of an older masktrain?)" % path)
        cells.setdefault(method, {}).setdefault(task, []).append(secs / 3600.0)
    tasks = sorted({t for row in cells.values() for t in row})
    w = max(len(m) for m in cells) + 2
    print("training time in hours (masktrain, mean over seeds; measured on %s)" % os.uname().nodename)
    print("method".ljust(w) + "".join(t.rjust(10) for t in tasks) + "AVG".rjust(10))
    rows = []
    for m in sorted(cells):
        means = [sum(cells[m][t]) / len(cells[m][t]) if t in cells[m] else None for t in tasks]
        have = [x for x in means if x is not None]
        avg = sum(have) / len(have)
        print(m.ljust(w) + "".join(("%10.3g" % x) if x is not None else "         -" for x in means) + "%10.3g" % avg)
        rows.append((m, means, avg))
    for m, means, avg in rows:
        print("tsv\t" + m + "\t" + "\t".join("%.6f" % x if x is not None else "" for x in means) + "\t%.6f" % avg)


main()
