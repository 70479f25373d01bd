#!/usr/bin/env bats
# One meaning per option letter across the tools, as sparsetune(7) OPTIONS ACROSS THE TOOLS
# documents it: the page's table against every tool's --help.
load helper

TOOLS="tokenize init-model gradacc sam-select masktrain evaluate stats inspect"

@test "sparsetune(7)'s option table is what every tool's --help says" {
  local d t
  d=$(mktemp -d)
  for t in $TOOLS; do "$t" --help > "$d/$t.help"; done
  run /usr/bin/python3 - "$ROOT/man/man7/sparsetune.7" "$d" $TOOLS <<'PY'
import re, sys
page, d, tools = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(page).read().split(".SH OPTIONS ACROSS THE TOOLS", 1)[1].split("\n.SH ", 1)[0]
unesc = lambda s: s.replace("\\-", "-")
doc_short, doc_long = {}, {}
lines = text.splitlines()
for i, line in enumerate(lines):
    m = re.match(r'^\.BR \\-(\w) ", " \\-\\-([\w\\-]+)$', line)
    n = re.match(r'^\.B \\-\\-([\w\\-]+)$', line)
    tail = re.search(r"\(([^()]*)\)$", lines[i + 1]) if i + 1 < len(lines) else None
    if not tail:  # the -h/-V sentence
        continue
    users = set(unesc(tail.group(1)).split(", "))
    if m:
        doc_short[m.group(1)] = (unesc(m.group(2)), users)
    elif n:
        doc_long[unesc(n.group(1))] = users
bad = []
seen = {}  # letter -> {long: [tools]}
for t in tools:
    h = open(f"{d}/{t}.help").read()
    for s, l in re.findall(r"^\s+-(\w), --([\w-]+)", h, re.M):
        if s in "hV":
            continue
        seen.setdefault(s, {}).setdefault(l, []).append(t)
    for s, (l, users) in doc_short.items():
        has = re.search(rf"^\s+-{s}, --{l}\b", h, re.M) is not None
        if has != (t in users):
            bad.append(f"{t}: -{s}, --{l} {'undocumented' if has else 'documented but missing'}")
    for l, users in doc_long.items():
        has = re.search(rf"--{l}\b", h) is not None
        if t in users and not has:
            bad.append(f"{t}: --{l} documented but missing")
for s, m in seen.items():
    if len(m) > 1:
        bad.append(f"-{s} means {sorted(m)} in {m}")
    if s not in doc_short:
        bad.append(f"-{s} (--{next(iter(m))}) is not in sparsetune(7)")
print("\n".join(bad) if bad else f"ok: {len(doc_short)} letters, {len(doc_long)} shared long options")
sys.exit(1 if bad else 0)
PY
  echo "$output"
  assert_success
  for t in $TOOLS; do
    run "$t" -V
    assert_success
    assert_output --partial "(sparsetune)"
  done
  rm -rf "$d"
}
