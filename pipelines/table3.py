#!/usr/bin/env python3
"""table3.py — Table 3: measured training time per method and task, from the runs' own
records: the last elapsed_s of each run's masktrain --log (run.mk writes
logs/TASK-METHOD-rRATIO-sSEED.log; the task is the name up to its first "-").  A resumed run's
log restarts its clock, so its time counts only the last part.

    table3.py LOG... > table3.txt

Mean hours over the seeds per method (rows) and task (columns) and their AVG, then the same
as TSV lines prefixed "tsv" for plots."""
import json
import os
import re
import sys


def elapsed(path):
    last = None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
            except ValueError:
                sys.exit("table3.py: %s: line %d: not JSON (not a masktrain --log?)" % (path, n))
            if "elapsed_s" in r:
                last = r["elapsed_s"]
    if last is None:
        sys.exit("table3.py: %s: no elapsed_s (a run of no step?)" % path)
    return last


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: table3.py LOG...")
    cells = {}
    for path in sys.argv[1:]:
        m = re.match(r"([^-]+)-(.+)-r[^-]+-s\d+(-.*)?\.log$", os.path.basename(path))
        if not m:
            sys.exit("table3.py: %s: not a run.mk log name (TASK-METHOD-rRATIO-sSEED.log)" % path)
        cells.setdefault(m.group(2), {}).setdefault(m.group(1), []).append(elapsed(path) / 3600.0)
    tasks = sorted({t for row in cells.values() for t in row})
    w = max(len(m) for m in cells) + 2
    print("training time in hours (masktrain --log elapsed_s, mean over seeds)")
    print("method".ljust(w) + "".join(t.rjust(10) for t in tasks) + "AVG".rjust(10))
    rows = []
    for m in sorted(cells):
        means = [sum(cells[m][t]) / len(cells[m][t]) if t in cells[m] else None for t in tasks]
        have = [x for x in means if x is not None]
        avg = sum(have) / len(have)
        print(m.ljust(w) + "".join(("%10.3g" % x) if x is not None else "         -" for x in means) + "%10.3g" % avg)
        rows.append((m, means, avg))
    print("tsv\tmethod\t" + "\t".join(tasks) + "\tAVG")
    for m, means, avg in rows:
        print("tsv\t" + m + "\t" + "\t".join("%.6f" % x if x is not None else "" for x in means) + "\t%.6f" % avg)


main()
