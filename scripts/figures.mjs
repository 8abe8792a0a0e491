#!/usr/bin/env node
// Prints bench/results.json as the Markdown table the README quotes.
import { readFileSync } from 'node:fs';

const results = JSON.parse(readFileSync(new URL('../bench/results.json', import.meta.url), 'utf8'));
console.log('| figure | measured | spec (§9) | our goal |');
console.log('| --- | ---: | ---: | ---: |');
/** Figures where more is better (rates, speed-ups); every other one is a cost. */
const higherIsBetter = (/** @type {string} */ name) => /_per_s|_speedup|tokens_per_s|_held|_pct/.test(name);
for (const [name, r] of Object.entries(results)) {
  const limit = (/** @type {number | undefined} */ v) => (v === undefined ? '' : `${higherIsBetter(name) ? '≥' : '<'} ${v} ${r.unit}`);
  const goal = r.goal === undefined ? '' : `${higherIsBetter(name) ? '≥' : '≤'} ${r.goal} ${r.unit}`;
  console.log(`| \`${name}\` | ${r.value} ${r.unit} | ${limit(r.spec)} | ${goal} |`);
}
