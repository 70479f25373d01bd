#!/usr/bin/env node
// Reference encoder for the parity tests: reads JSON lines {"text": ...} (a file or stdin) and
// prints, per line, one JSON array of GPT-2 token ids from gpt-3-encoder (a JS port of GPT-2's
// encoder.py).  --field NAME reads another field.  --time encodes without printing and writes
// "bytes seconds tokens" to stderr, timing only the encode() calls in CPU time (user + system,
// so a busy machine does not skew it; the benchmark pins node to one core).
'use strict';
const fs = require('fs');
const { encode } = require('gpt-3-encoder');

let field = 'text', time = false, file = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--field') field = args[++i];
  else if (args[i] === '--time') time = true;
  else file = args[i];
}
const input = fs.readFileSync(file && file !== '-' ? file : 0, 'utf8');
const texts = [];
for (const line of input.split('\n')) {
  if (!line.length) continue;
  const rec = JSON.parse(line);
  if (typeof rec[field] !== 'string') throw new Error(`no string field "${field}" in: ${line.slice(0, 80)}`);
  texts.push(rec[field]);
}
if (time) {
  let bytes = 0, ntok = 0;
  for (const t of texts) bytes += Buffer.byteLength(t, 'utf8');
  const t0 = process.cpuUsage();
  for (const t of texts) ntok += encode(t).length;
  const d = process.cpuUsage(t0);
  const secs = (d.user + d.system) / 1e6;
  process.stderr.write(`${bytes} ${secs} ${ntok}\n`);
} else {
  const out = [];
  for (const t of texts) out.push(JSON.stringify(encode(t)));
  process.stdout.write(out.length ? out.join('\n') + '\n' : '');
}
