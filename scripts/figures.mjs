#!/usr/bin/env node
// Prints bench/results.json as the Markdown table the README quotes.
import { readFileSync } from 'node:fs';

const results = JSON.parse(readFileSync(new URL('../bench/results.json', import.meta.url), 'utf8'));
console.log('| figure | measured | spec (§9) | our goal |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, r] of Object.entries(results)) {
  const limit = (/** @type {number | undefined} */ v) => (v === undefined ? '' : `< ${v} ${r.unit}`);
  console.log(`| \`${name}\` | ${r.value} ${r.unit} | ${limit(r.spec)} | ${r.goal === undefined ? '' : `≤ ${r.goal} ${r.unit}`} |`);
}
