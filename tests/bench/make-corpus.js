#!/usr/bin/env node
// Builds the tokenizer benchmark corpus: raw text, one text per line, about --mb megabytes.
//   node make-corpus.js OUT.txt OUT.jsonl [--mb 12] [--tasks DIR]
// First every string field of the task files under DIR (../shared/data/tasks, when present),
// then seeded English-like filler text (sentences of words drawn with Zipf-like frequencies)
// up to the size.  The same text goes to OUT.jsonl as {"text": ...} lines for the tools.
'use strict';
const fs = require('fs');
const path = require('path');
const [outTxt, outJson, ...rest] = process.argv.slice(2);
let mb = 12, tasks = null;
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--mb') mb = parseFloat(rest[++i]);
  else if (rest[i] === '--tasks') tasks = rest[++i];
}
const texts = [];
let bytes = 0;
const add = t => {
  t = t.replace(/[\r\n]+/g, ' ');
  if (!t.trim()) return;
  texts.push(t);
  bytes += Buffer.byteLength(t) + 1;
};
const words = new Map();
if (tasks && fs.existsSync(tasks)) {
  for (const task of fs.readdirSync(tasks).sort()) {
    const dir = path.join(tasks, task);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).sort()) {
      if (!f.endsWith('.jsonl')) continue;
      for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const rec = JSON.parse(line);
        for (const [k, v] of Object.entries(rec)) {
          if (typeof v !== 'string' || k === 'label' || k === 'idx') continue;
          add(v);
          for (const w of v.split(/\s+/)) if (w) words.set(w, (words.get(w) || 0) + 1);
        }
      }
    }
  }
}
// Filler vocabulary: the task words by frequency, or a small built-in list.
let vocab = [...words.entries()].sort((a, b) => b[1] - a[1]).map(e => e[0]);
if (vocab.length < 100) {
  vocab = ('the of and to a in is was that for it as with be on by he at his from this are ' +
    'have not or an they which one had but were all she there we been their has would when ' +
    'who will more no if out so said what up its about into than them can only other new some ' +
    'could time these two may then do first any my now such like our over man me even most ' +
    'made after also did many before must through back years where much your way well down ' +
    'should because each just those people how too little state good very make world still own ' +
    'government company percent market president report police children school water million ' +
    'Tuesday October London Washington research university development international')
    .split(' ');
}
let s = 12345;
const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
const zipf = () => vocab[Math.min(vocab.length - 1, Math.floor(Math.exp(rnd() * Math.log(vocab.length + 1))) - 1)];
const target = mb * 1024 * 1024;
while (bytes < target) {
  const n = 8 + Math.floor(rnd() * 30);
  const ws = [];
  for (let i = 0; i < n; i++) ws.push(zipf());
  let t = ws.join(' ');
  t = t[0].toUpperCase() + t.slice(1) + (rnd() < 0.8 ? '.' : '?');
  if (rnd() < 0.3) t += ' ' + String(Math.floor(rnd() * 10000));
  add(t);
}
fs.writeFileSync(outTxt, texts.join('\n') + '\n');
fs.writeFileSync(outJson, texts.map(t => JSON.stringify({ text: t })).join('\n') + '\n');
