// @ts-check
/**
 * Starts one of kpc's model CLIs: the built copy in dist/node/cli when there is one (an
 * installed package), else the TypeScript source through tsx (a fresh clone after
 * `npm install`, no build needed).
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Runs `main(argv)` of the CLI called `name` and exits with its code.
 * @param {string} name - file name without extension, e.g. 'generate'
 */
export async function launch(name) {
  const built = fileURLToPath(new URL(`../dist/node/cli/${name}.js`, import.meta.url));
  let mod;
  if (existsSync(built)) {
    mod = await import(pathToFileURL(built).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    mod = await import(new URL(`./${name}.ts`, import.meta.url).href);
  }
  process.exitCode = await mod.main(process.argv.slice(2));
}
