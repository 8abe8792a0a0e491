// @ts-check
/**
 * Starts one of kpc's model CLIs: the TypeScript source through tsx in a checkout (a
 * fresh clone after `npm install` needs no build, and an edit is never shadowed by a
 * stale build), else the built copy in dist/node/cli (the published package ships no
 * .ts files).
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Runs `main(argv)` of the CLI called `name` and exits with its code.
 * @param {string} name - file name without extension, e.g. 'generate'
 */
export async function launch(name) {
  const source = new URL(`./${name}.ts`, import.meta.url);
  let mod;
  if (existsSync(fileURLToPath(source))) {
    const { register } = await import('tsx/esm/api');
    register();
    mod = await import(source.href);
  } else {
    mod = await import(pathToFileURL(fileURLToPath(new URL(`../dist/node/cli/${name}.js`, import.meta.url))).href);
  }
  process.exitCode = await mod.main(process.argv.slice(2));
}
