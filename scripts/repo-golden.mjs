#!/usr/bin/env node
// Writes test/model/repo-golden.ts from the committed repo model files: run it after
// retraining or requantizing (the tests then hold Node and Chromium to these values).
import { register } from 'tsx/esm/api';
import { readFileSync, writeFileSync } from 'node:fs';

register();
// Computed specifiers: the type-check must not follow them into TypeScript sources.
const modelModule = new URL('../src/model/index.ts', import.meta.url).href;
const goldenModule = new URL('../test/model/repo-model.ts', import.meta.url).href;
const { loadGgufModel, REPO_MODELS, REPO_MODEL_NAME } = await import(modelModule);
const { goldenRun } = await import(goldenModule);
/** @type {Record<string, any>} */
const golden = {};
for (const [type, rel] of Object.entries(/** @type {Record<string, string>} */ (REPO_MODELS[REPO_MODEL_NAME].files))) {
  golden[type] = await goldenRun(await loadGgufModel(readFileSync(new URL(`../${rel}`, import.meta.url))));
  console.log(type, golden[type].text);
}
writeFileSync(new URL('../test/model/repo-golden.ts', import.meta.url), `// Written by scripts/repo-golden.mjs from models/${REPO_MODEL_NAME}: do not edit by hand.
/** Per committed file: SHA-256 of the logits after test/model/repo-model.ts's prompt, and its greedy continuation. */
export const REPO_GOLDEN = ${JSON.stringify(golden, null, 2)} as const;
`);
