#!/usr/bin/env python3
"""HuggingFace-semantics reference encoder (optional, for investigating JS/HF differences).

The algorithm of GPT-2's encoder.py, which HF's slow GPT2Tokenizer / RobertaTokenizer repeat:
the GPT-2 pattern run by Python's `regex` module, bytes_to_unicode, rank-ordered merges.
Reads JSON lines {"text": ...} on stdin, prints one JSON array of ids per line.
  python3 tests/parity/hf-encode.py DIR < strings.jsonl     (needs: pip install regex)
DIR holds vocab.json + merges.txt or encoder.json + vocab.bpe."""
import json, sys, regex as re
from functools import lru_cache
D = sys.argv[1]
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~")+1))+list(range(ord("¡"), ord("¬")+1))+list(range(ord("®"), ord("ÿ")+1))
    cs = bs[:]; n = 0
    for b in range(2**8):
        if b not in bs: bs.append(b); cs.append(2**8+n); n += 1
    return dict(zip(bs, [chr(n) for n in cs]))
import os
if os.path.exists(D+'/vocab.json'): enc=json.load(open(D+'/vocab.json')); mf=D+'/merges.txt'
else: enc=json.load(open(D+'/encoder.json')); mf=D+'/vocab.bpe'
lines=open(mf,encoding='utf-8').read().split('\n')[1:-1]
ranks={tuple(l.split()):i for i,l in enumerate(lines)}
be=bytes_to_unicode()
pat=re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
def get_pairs(w): return set(zip(w,w[1:]))
cache={}
def bpe(token):
    if token in cache: return cache[token]
    word=tuple(token); pairs=get_pairs(word)
    if not pairs: return token
    while True:
        bigram=min(pairs,key=lambda p: ranks.get(p,float('inf')))
        if bigram not in ranks: break
        first,second=bigram; nw=[]; i=0
        while i<len(word):
            try: j=word.index(first,i)
            except ValueError: nw.extend(word[i:]); break
            nw.extend(word[i:j]); i=j
            if word[i]==first and i<len(word)-1 and word[i+1]==second: nw.append(first+second); i+=2
            else: nw.append(word[i]); i+=1
        word=tuple(nw)
        if len(word)==1: break
        pairs=get_pairs(word)
    r=' '.join(word); cache[token]=r; return r
for line in sys.stdin:
    t=json.loads(line)['text']; ids=[]
    for tok in pat.findall(t):
        tok=''.join(be[b] for b in tok.encode('utf-8'))
        ids.extend(enc[x] for x in bpe(tok).split(' '))
    print(json.dumps(ids,separators=(',',':')))
