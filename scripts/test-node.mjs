#!/usr/bin/env node
// Runs every test/**/*.node.test.ts with Node's own test runner (TypeScript through tsx).
// Node 20's --test has no glob support, so the file list is built here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** @param {string} dir @param {string[]} [out] @returns {string[]} */
function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.node.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
const files = find('test').filter((f) => filter.length === 0 || filter.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error('no Node test files found');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/node-hooks.mjs', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
