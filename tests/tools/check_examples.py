#!/usr/bin/env python3
"""Check a tokenized task split against its source data, independently of our C code.

Usage: check_examples.py TASK DATA.jsonl EXAMPLES.jsonl VOCAB_DIR
EXAMPLES.jsonl is `inspect --json` of the examples stream (header, records, end).
Checks: one record per data line in order; labels decode to the data's label names;
every sequence is framed <s> ... </s> (pairs with </s></s>); COPA has two choices whose
decoded text ends with the choice; WSC spans decode to the span texts.  Exit 1 on failure.
"""
import json
import re
import sys


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(map(chr, cs), bs))


def main():
    task, data_path, ex_path, vocab_dir = sys.argv[1:5]
    vocab = json.load(open(vocab_dir + "/vocab.json", encoding="utf-8"))
    inv = {v: k for k, v in vocab.items()}
    u2b = bytes_to_unicode()

    def decode(ids):
        return bytes(u2b[c] for i in ids for c in inv[i]).decode("utf-8", errors="replace")

    rows = [json.loads(l) for l in open(data_path, encoding="utf-8") if l.strip()]
    lines = [json.loads(l) for l in open(ex_path, encoding="utf-8")]
    header, records, end = lines[0], lines[1:-1], lines[-1]
    fail = []
    if len(records) != len(rows) or end.get("count") != len(rows):
        fail.append(f"{len(records)} records (end count {end.get('count')}) for {len(rows)} rows")
    labels = header["labels"]
    bos, eos = vocab["<s>"], vocab["</s>"]
    norm = lambda s: re.sub(r"[^a-z0-9]", "", s.lower())
    for i, (row, rec) in enumerate(zip(rows, records)):
        want = row["idx"] if isinstance(row.get("idx"), int) and row["idx"] >= 0 else i  # the row's own
        if rec["idx"] != want:
            fail.append(f"record {i}: idx {rec['idx']}, the row's is {want}")
        seqs = rec["choices"] if task == "copa" else [rec["ids"]]
        for s in seqs:
            if s[0] != bos or s[-1] != eos:
                fail.append(f"record {i}: not framed by <s> </s>")
        if task == "stsb":
            if abs(rec["label"] - float(row["label"])) > 1e-5:
                fail.append(f"record {i}: label {rec['label']} != {row['label']}")
        elif task == "copa":
            if len(seqs) != 2:
                fail.append(f"record {i}: {len(seqs)} choices")
            for c, s in enumerate(seqs):
                text = decode([t for t in s if t not in (bos, eos)])
                if not norm(text).endswith(norm(row[f"choice{c + 1}"])):
                    fail.append(f"record {i}: choice {c + 1} decodes to {text!r}")
                if not norm(text).startswith(norm(row["premise"])):
                    fail.append(f"record {i}: choice {c + 1} lacks the premise")
            if rec["label"] != row["label"]:
                fail.append(f"record {i}: label {rec['label']} != {row['label']}")
        else:
            gold = row["label"]
            gold = ("True" if gold else "False") if isinstance(gold, bool) else str(gold)
            if labels[rec["label"]] != gold:
                fail.append(f"record {i}: label {labels[rec['label']]} != {gold}")
        if task == "wsc":
            ids = rec["ids"]
            words = row["text"].split()
            for k in (1, 2):
                a, b = rec["spans"][k - 1]
                got = decode(ids[a:b + 1])
                # jiant's spans count whitespace-separated words; the data's span index is
                # authoritative even where it disagrees with span_text (a few WSC rows do)
                first = row["target"][f"span{k}_index"]
                n = len(row["target"][f"span{k}_text"].split())
                want = " ".join(words[first:first + n])
                if norm(got) != norm(want):
                    fail.append(f"record {i}: span {k} decodes to {got!r}, want {want!r}")
        elif task not in ("copa",):
            text = decode([t for t in seqs[0] if t not in (bos, eos)])
            fields = {"cola": ["text"], "stsb": ["text_a", "text_b"], "mrpc": ["text_a", "text_b"],
                      "rte": ["premise", "hypothesis"], "cb": ["premise", "hypothesis"]}[task]
            if len(seqs[0]) < header["max_len"] and norm(text) != norm("".join(row[f] for f in fields)):
                fail.append(f"record {i}: decodes to {text[:80]!r}")
    for f in fail[:20]:
        print(f, file=sys.stderr)
    if fail:
        print(f"{len(fail)} problems", file=sys.stderr)
        sys.exit(1)
    print(f"{task}: {len(records)} examples ok")


if __name__ == "__main__":
    main()
