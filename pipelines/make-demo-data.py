#!/usr/bin/env python3
"""Generate the embedded demo task: a small synthetic sentiment data set (no download).

Sentences are built from templates with positive, negative and neutral words; the label is
the polarity of the evaluative word, flipped by a negation ("not") so that the task needs
more than a bag of words.  Writes OUTDIR/{train,val,test}.jsonl with fields text, label
("positive"/"negative"), like the paper's classification tasks.

Usage: make-demo-data.py OUTDIR [N_TRAIN] [SEED] [NEGATION_RATE]
NEGATION_RATE (default 0.3) is the share of negated sentences; 0 gives the plain task the demo
pre-trains its tiny model on, so that fine-tuning has to learn negation.
"""
import json
import os
import random
import sys

SUBJECTS = ["the movie", "this film", "the story", "the actor", "the ending", "the music",
            "the book", "our trip", "the meal", "the game", "the show", "the plot"]
POSITIVE = ["good", "great", "wonderful", "excellent", "lovely", "brilliant", "fun", "nice"]
NEGATIVE = ["bad", "awful", "boring", "terrible", "dull", "poor", "weak", "sad"]
ADVERBS = ["really", "very", "quite", "truly", "so", "rather", ""]
TAILS = ["", " overall", " in the end", " to me", " for everyone", " this time"]


def sentence(rng, negation_rate):
    subj = rng.choice(SUBJECTS)
    polarity = rng.random() < 0.5
    word = rng.choice(POSITIVE if polarity else NEGATIVE)
    negated = rng.random() < negation_rate
    adv = rng.choice(ADVERBS)
    verb = "was not" if negated else "was"
    text = f"{subj} {verb} {adv + ' ' if adv else ''}{word}{rng.choice(TAILS)}."
    text = text[0].upper() + text[1:]
    label = "positive" if polarity != negated else "negative"
    return {"text": text, "label": label}


def main():
    out = sys.argv[1]
    n_train = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    negation_rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.3
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    for split, n in (("train", n_train), ("val", max(n_train // 8, 20)), ("test", max(n_train // 4, 40))):
        with open(os.path.join(out, f"{split}.jsonl"), "w", encoding="utf-8") as f:
            for _ in range(n):
                f.write(json.dumps(sentence(rng, negation_rate)) + "\n")


if __name__ == "__main__":
    main()
