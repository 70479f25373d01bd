#!/usr/bin/env node
// Deterministic generator of tokenizer parity strings: writes JSON lines {"text": ...}.
//   node gen-strings.js [--count N] [--seed S] [--max-long L]
// Same arguments, same output (a seeded PRNG, no Math.random).  The strings cover many scripts,
// digits, emoji sequences, combining marks, punctuation runs, contractions (and the uppercase
// forms the GPT-2 regex does not special-case), whitespace runs and mixes, very long words
// and numbers.
//
// Left out on purpose (JS and HuggingFace genuinely disagree, so the JS encoder cannot be the
// reference for them; tests/unit/test_bpe.c checks our HF behaviour instead):
//   U+0085 NEXT LINE       HF (Python `regex`, \s = White_Space): whitespace.  JS \s: not.
//   U+FEFF ZERO WIDTH NBSP HF: not whitespace (format char, Cf).  JS \s: whitespace.
// Kept on purpose because JS and HF agree and PCRE2 alone differs: U+180E (PCRE2 10.42's \s
// matches it), letters and digits newer than Unicode 14 (PCRE2 10.42's tables).
'use strict';

const EXCLUDED = [0x85, 0xfeff];

let count = 2400, seed = 20240601, maxLong = 6000;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--count') count = parseInt(argv[++i], 10);
  else if (argv[i] === '--seed') seed = parseInt(argv[++i], 10);
  else if (argv[i] === '--max-long') maxLong = parseInt(argv[++i], 10);
  else throw new Error(`unknown argument ${argv[i]}`);
}

// mulberry32: small, seeded, good enough for test data.
let state = seed >>> 0;
function rnd() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1)); // inclusive
const pick = arr => arr[Math.floor(rnd() * arr.length)];
const cp = c => String.fromCodePoint(c);
const fromRange = (a, b) => cp(ri(a, b));
const rep = (n, f) => { let s = ''; for (let i = 0; i < n; i++) s += f(); return s; };

// Letters and marks of many scripts (ranges of assigned letters, mostly).
const SCRIPTS = {
  ascii: () => pick('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'),
  latin1: () => fromRange(0xc0, 0xff).replace(/[\u00d7\u00f7]/, 'e'),
  latinExt: () => fromRange(0x100, 0x17f),
  greek: () => pick([fromRange(0x3b1, 0x3c9), fromRange(0x391, 0x3a9).replace('\u03a2', 'Σ'), pick('άέήίόύώϊϋΐΰ')]),
  cyrillic: () => fromRange(0x410, 0x44f),
  arabic: () => fromRange(0x627, 0x64a),
  hebrew: () => fromRange(0x5d0, 0x5ea),
  devanagari: () => rnd() < 0.7 ? fromRange(0x915, 0x939) : fromRange(0x93e, 0x94c), // consonants, vowel signs (Mc/Mn)
  thai: () => rnd() < 0.8 ? fromRange(0xe01, 0xe2e) : pick(['\u0e31', '\u0e34', '\u0e35', '\u0e48', '\u0e49', '\u0e32']),
  cjk: () => fromRange(0x4e00, 0x9fa5),
  hangul: () => fromRange(0xac00, 0xd7a3),
  kana: () => rnd() < 0.5 ? fromRange(0x3041, 0x3096) : fromRange(0x30a1, 0x30fa),
  armenian: () => fromRange(0x561, 0x586),
  georgian: () => fromRange(0x10d0, 0x10fa),
  ethiopic: () => fromRange(0x1200, 0x1248),
  mathAlnum: () => fromRange(0x1d400, 0x1d433), // astral letters (surrogate pairs in JS)
  // Unicode 15/16 letters unknown to PCRE2 10.42's tables (Kawi, CJK ext. H, Garay)
  recent: () => pick([fromRange(0x11f04, 0x11f10), fromRange(0x31350, 0x313a0), fromRange(0x10d4a, 0x10d65)]),
};
const DIGITS = {
  ascii: () => fromRange(0x30, 0x39),
  arabicIndic: () => fromRange(0x660, 0x669),
  persian: () => fromRange(0x6f0, 0x6f9),
  devanagari: () => fromRange(0x966, 0x96f),
  thai: () => fromRange(0xe50, 0xe59),
  fullwidth: () => fromRange(0xff10, 0xff19),
  other: () => pick(['²', '³', '¹', '½', '¼', '¾', 'Ⅻ', 'ⅷ', '①', '⑳', '〇', '𝟎', '𝟗']),
  recent: () => pick([fromRange(0x11f50, 0x11f59), fromRange(0x1e4f0, 0x1e4f9)]), // Kawi, Nag Mundari
};
const EMOJI = [
  () => fromRange(0x1f600, 0x1f64f),
  () => fromRange(0x1f300, 0x1f5ff),
  () => fromRange(0x1f680, 0x1f6c5),
  () => pick(['👍', '👋', '🧑', '👩', '🤚']) + fromRange(0x1f3fb, 0x1f3ff), // skin tones
  () => pick(['👨‍👩‍👧‍👦', '👩‍💻', '🏳️‍🌈', '👨🏽‍🚀', '🧑‍🤝‍🧑', '❤️‍🔥', '🐕‍🦺']), // ZWJ sequences
  () => fromRange(0x1f1e6, 0x1f1ff) + fromRange(0x1f1e6, 0x1f1ff), // flags (regional indicators)
  () => pick(['🇫🇷', '🇯🇵', '🇧🇷', '🇺🇸', '🏴󠁧󠁢󠁳󠁣󠁴󠁿']),
  () => pick(['1️⃣', '#️⃣', '❤️', '☺️', '✔️', '©️', '™']),
];
const COMBINING = () => fromRange(0x300, 0x36f);
const PUNCT = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»“”‘’—–…·•§¶†‡‰′″‹›€£¥₹©®°±×÷′';
const SPACES = [' ', ' ', ' ', '\t', '\n', '\r\n', '\r', '\u000b', '\u000c', '\u00a0', '\u1680',
  '\u2002', '\u2003', '\u2009', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000'];
// Not whitespace for HF nor JS (format and control characters): U+180E, U+200B, U+200D, U+2060,
// information separators U+001C-U+001F, other controls.
const NOT_SPACE_INVISIBLE = ['\u180e', '\u200b', '\u200c', '\u200d', '\u2060', '\u001c', '\u001d',
  '\u001e', '\u001f', '\u0000', '\u0007', '\u001b', '\u007f', '\u0080', '\u009f', '\u00ad'];
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M",
  "'LL", "'D", "n't", "N'T", "'", "''", "'x", "'ss", "'st", "'dd", "’s", "'s'", "'re'"];
const WORDS = ('the of and to in is was he for it with as his on be at by I this had not are but ' +
  'from or have an they which one you were her all she there would their we him been has when ' +
  'who will more no if out so said what up its about into than them can only other new some ' +
  'could time these two may then do first any my now such like our over man me even most made ' +
  'after also did many before must through back years where much your way well down should ' +
  'because each just those people Mr how too little state good very make world still own see ' +
  'men work long get here between both life being under never day same another know while last ' +
  'Tokenization BPE GPT-2 RoBERTa HuggingFace naïve café résumé coöperate Zürich São Paulo').split(' ');

function word(script, min = 1, max = 10) {
  const f = SCRIPTS[script];
  let w = rep(ri(min, max), f);
  if (rnd() < 0.1) w += COMBINING();
  return w;
}
const anyScript = () => pick(Object.keys(SCRIPTS));
const number = () => pick([
  () => String(ri(0, 99999)),
  () => `${ri(0, 999)}.${ri(0, 99)}`,
  () => `${ri(1, 999)},${String(ri(0, 999)).padStart(3, '0')},${String(ri(0, 999)).padStart(3, '0')}`,
  () => `-${ri(1, 1e6)}`,
  () => `${ri(1, 9)}e${ri(-20, 20)}`,
  () => `${ri(1990, 2030)}-${String(ri(1, 12)).padStart(2, '0')}-${String(ri(1, 28)).padStart(2, '0')}`,
  () => `+1 (${ri(200, 999)}) ${ri(200, 999)}-${ri(1000, 9999)}`,
  () => `${ri(0, 23)}:${String(ri(0, 59)).padStart(2, '0')}`,
  () => `$${ri(1, 999)}.${String(ri(0, 99)).padStart(2, '0')}`,
  () => `${ri(1, 100)}%`,
  () => `0x${ri(0, 0xffffff).toString(16)}`,
  () => rep(ri(1, 8), DIGITS[pick(Object.keys(DIGITS))]),
])();
const punctRun = () => rep(ri(1, 6), () => pick(PUNCT));
const spaceRun = () => rep(ri(1, 6), () => pick(SPACES));
const englishSentence = () => {
  const n = ri(3, 18);
  const ws = [];
  for (let i = 0; i < n; i++) {
    let w = pick(WORDS);
    if (rnd() < 0.1) w = w[0].toUpperCase() + w.slice(1);
    if (rnd() < 0.08) w += pick(CONTRACTIONS);
    if (rnd() < 0.05) w = number();
    if (rnd() < 0.1) w += pick([',', ';', ':', ' -', '"', ')']);
    ws.push(w);
  }
  return ws.join(' ') + pick(['.', '!', '?', '...', '', '."', '?!']);
};

// Each generator makes one kind of string.
const GEN = [
  englishSentence,
  () => englishSentence() + ' ' + englishSentence(),
  () => rep(ri(1, 6), () => pick(WORDS) + pick(CONTRACTIONS)) + pick(['', ' ', '.']),
  () => pick(CONTRACTIONS) + pick(['', ' ', 'x', "'s", '  ']) + pick(CONTRACTIONS),
  () => `I${pick(CONTRACTIONS)} ${pick(['HE', 'she', 'IT', 'We'])}${pick(CONTRACTIONS)} ${pick(WORDS)}`,
  () => { const s = anyScript(); return rep(ri(1, 8), () => word(s)).split('').join('') + ' ' + word(s); },
  () => rep(ri(1, 8), () => word(anyScript())).replace(/(.)/gu, m => (rnd() < 0.15 ? ' ' : '') + m),
  () => rep(ri(2, 10), () => pick([word(anyScript(), 1, 6), number(), punctRun()]) + pick(['', ' ', ' ', spaceRun()])),
  () => rep(ri(1, 6), () => pick(EMOJI)() + pick(['', ' ', ' ', word('ascii', 1, 4)])),
  () => word(anyScript(), 1, 5) + rep(ri(1, 4), COMBINING) + ' ' + rep(ri(1, 3), COMBINING),
  () => ' ' + COMBINING() + word('latin1') + COMBINING() + COMBINING(),
  () => rep(ri(1, 5), () => punctRun() + pick(['', ' ', '  '])),
  () => rep(ri(1, 4), () => pick(WORDS) + spaceRun()) + pick(['', spaceRun()]),
  () => spaceRun() + englishSentence() + spaceRun(),
  () => spaceRun(),
  () => rep(ri(1, 4), () => pick(WORDS) + pick(NOT_SPACE_INVISIBLE) + pick(['', ' ', spaceRun()])),
  () => rep(ri(1, 6), number).split('').join('') + ' ' + number(),
  () => rep(ri(1, 5), () => rep(ri(1, 6), DIGITS[pick(Object.keys(DIGITS))]) + pick(['', ' ', '.', ','])),
  () => pick(['<s>', '</s>', '<pad>', '<mask>', '<|endoftext|>', '<unk>']) + ' ' + englishSentence(),
  () => `${pick(['http://', 'https://'])}${word('ascii', 3, 10).toLowerCase()}.${pick(['com', 'org', 'io'])}/${word('ascii', 2, 8)}?q=${number()}&x=${word('ascii')}`,
  () => `{"${word('ascii', 1, 6)}": ${number()}, "${word('ascii', 1, 6)}": ["${word(anyScript(), 1, 4)}", ${number()}]}`,
  () => `def ${word('ascii', 3, 8)}(x):\n    return x ${pick(['+', '*', '**', '//'])} ${number()}\n`,
  () => rep(ri(1, 3), () => '\n' + rep(ri(0, 3), () => pick([' ', '\t'])) + englishSentence()) + pick(['\n', '\n\n', ' \n', '\t']),
];
// Rare, expensive kinds: very long words (the JS encoder is quadratic in word length).
const LONG = [
  () => rep(ri(1000, maxLong), () => 'a'),
  () => rep(ri(1000, maxLong), SCRIPTS.ascii),
  () => rep(ri(500, 2000), () => pick(['ab', 'abc', 'th', 'e'])),
  () => rep(ri(1000, 3000), SCRIPTS[pick(['cyrillic', 'greek', 'cjk', 'hangul', 'devanagari'])]),
  () => rep(ri(1000, 4000), () => String(ri(0, 9))),
  () => ' ' + rep(ri(1000, 3000), () => pick('!?.,-=*')),
  () => rep(ri(1000, 5000), () => ' ') + 'x' + rep(ri(500, 2000), () => pick([' ', '\n', '\t'])),
  () => rep(ri(200, 600), () => pick(EMOJI)()),
];

function clean(s) {
  // Drop the characters on which JS and HF disagree (see the header).
  return Array.from(s).filter(ch => !EXCLUDED.includes(ch.codePointAt(0))).join('');
}

const out = [];
// Fixed cases first: the edges every tokenizer gets wrong at some point.
const FIXED = ['', ' ', '  ', '\n', '\t', '\r\n', "'", "'s", "'S", "'ll've", 'a', 'This is an example',
  'Hello world', ' Hello world ', "It's", "IT'S", "we'RE", "don't", "DON'T", "y'all'd've",
  'a  b', 'a   b', 'a \n b', 'a\n\nb', 'end  ', 'end\n', ' \u00a0 x', 'x\u3000y', 'x\u180ey',
  'x\u200by', '\u200b', '\u180e', '\u001c\u001d\u001e\u001f', '\u00a0', '\u2028\u2029',
  '\u0301', ' \u0301', 'e\u0301', '👨‍👩‍👧‍👦', '🇫🇷🇯🇵', '👍🏽', '123456789012', '١٢٣٤٥', '１２３',
  'नमस्ते दुनिया', 'สวัสดีครับ', '你好，世界！', '안녕하세요 세계', 'Привет, мир!', 'Γειά σου Κόσμε',
  'مرحبا بالعالم', 'שלום עולם', 'ẞtraße café naïve', '\u0000', 'a\u0000b', '<|endoftext|>'];
for (const s of FIXED) out.push(s);
let i = 0;
while (out.length < count) {
  const s = (i % 97 === 50 ? pick(LONG) : pick(GEN))();
  out.push(clean(s));
  i++;
}
process.stdout.write(out.map(t => JSON.stringify({ text: t })).join('\n') + '\n');
