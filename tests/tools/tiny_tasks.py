#!/usr/bin/python3
"""Write small synthetic data sets in the paper's field formats (PAPER.md, Data) for tests that
need every task type: OUTDIR/{rte,stsb,copa,wsc}/{train,val,test}.jsonl.

Usage: tiny_tasks.py OUTDIR [N] [SEED]     (N rows per split, default 24)
"""
import json
import os
import random
import sys

NOUNS = ["the cat", "a dog", "the teacher", "my friend", "the bird", "our neighbour", "the child"]
VERBS = ["saw", "helped", "followed", "called", "found", "thanked"]
ENDS = ["in the park", "at home", "after lunch", "before the storm", "by the river"]


def sentence(rng):
    return "%s %s %s %s." % (rng.choice(NOUNS).capitalize(), rng.choice(VERBS), rng.choice(NOUNS),
                             rng.choice(ENDS))


def rte(rng):
    p = sentence(rng)
    same = rng.random() < 0.5
    return {"premise": p, "hypothesis": p if same else sentence(rng),
            "label": "entailment" if same else "not_entailment"}


def stsb(rng):
    a, b = sentence(rng), sentence(rng)
    return {"text_a": a, "text_b": b, "label": round(rng.uniform(0, 5), 2)}


def copa(rng):
    return {"premise": sentence(rng), "choice1": sentence(rng), "choice2": sentence(rng),
            "question": rng.choice(["cause", "effect"]), "label": rng.randrange(2)}


def wsc(rng):
    words = sentence(rng).rstrip(".").split() + ["and", rng.choice(["he", "she", "it"]), "smiled."]
    i = rng.randrange(0, 3)
    j = len(words) - 2
    return {"text": " ".join(words),
            "target": {"span1_index": i, "span1_text": words[i], "span2_index": j,
                       "span2_text": words[j]},
            "label": rng.random() < 0.5}


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    for name, gen in [("rte", rte), ("stsb", stsb), ("copa", copa), ("wsc", wsc)]:
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for split in ["train", "val", "test"]:
            with open(os.path.join(out, name, split + ".jsonl"), "w") as f:
                for k in range(n):
                    row = gen(rng)
                    row["idx"] = k
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
