#!/usr/bin/env node
// kpc's llama.cpp reference: node-llama-cpp (llama.cpp's Node binding) with its prebuilt
// CPU binary, installed into .cache/llama-ref/ (git-ignored), never into the project's
// node_modules: a user's `npm install` of kpc does not pull it. Tests and benches that
// compare kpc with llama.cpp call ensureLlamaRef(); `node scripts/llama-ref/install.mjs`
// does the same from a shell. docs/llama-ref.md says what it is and how it computes.
//
// How: `npm install` of the pinned manifest and lockfile beside this file (package.json,
// package-lock.json: every transitive version pinned) with optional dependencies omitted (node-llama-cpp lists ~700 MB of
// CUDA/Vulkan/other-platform binaries as optional) and install scripts ignored (its
// postinstall would try to download or build llama.cpp). The one binary package kept,
// @node-llama-cpp/linux-x64, is a direct dependency of the manifest. The install goes to a
// temporary folder renamed into place when complete, so concurrent callers (parallel test
// files) cannot see half an install; a complete folder is reused (keyed by the manifest
// and lockfile's hash), so a second call costs a few stat()s.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

/** @type {{dependencies: Record<string, string>}} */
const manifest = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));

/** The pinned node-llama-cpp version (its binary package has the same version). */
export const NODE_LLAMA_CPP_VERSION = manifest.dependencies['node-llama-cpp'];
/** The prebuilt binary package installed with it: CPU only, x86-64 Linux (glibc). */
export const BINARY_PACKAGE = '@node-llama-cpp/linux-x64';
/** Oldest glibc the prebuilt binary loads on (its newest versioned symbol is GLIBC_2.34). */
const MIN_GLIBC = [2, 34];

/** node-llama-cpp's binary package for other platforms, for the message that says what to install there. */
const OTHER_BINARIES = /** @type {Record<string, string>} */ ({
  'darwin-arm64': '@node-llama-cpp/mac-arm64-metal',
  'darwin-x64': '@node-llama-cpp/mac-x64',
  'linux-arm64': '@node-llama-cpp/linux-arm64',
  'linux-arm': '@node-llama-cpp/linux-armv7l',
  'win32-x64': '@node-llama-cpp/win-x64',
  'win32-arm64': '@node-llama-cpp/win-arm64',
});

/** Thrown when the reference cannot be had on this machine or the install failed; the message says what to do. */
export class LlamaRefError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'LlamaRefError';
  }
}

/** The cache root: $KPC_LLAMA_REF_CACHE, else <repo>/.cache/llama-ref. */
export function llamaRefCacheRoot() {
  return resolve(process.env.KPC_LLAMA_REF_CACHE || join(repoRoot, '.cache', 'llama-ref'));
}

/** The folder the pinned install lives in (its node_modules/ holds node-llama-cpp). */
export function llamaRefInstallDir() {
  const hash = createHash('sha256')
    .update(readFileSync(join(here, 'package.json')))
    .update(readFileSync(join(here, 'package-lock.json')))
    .digest('hex')
    .slice(0, 12);
  return join(llamaRefCacheRoot(), `node-llama-cpp-${NODE_LLAMA_CPP_VERSION}-${hash}`);
}

/** @param {string} dir node_modules' parent @returns {string} node-llama-cpp's ESM entry */
const entryOf = (dir) => join(dir, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');

/** @param {string} file @returns {string | undefined} */
function versionOf(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8')).version;
  } catch {
    return undefined;
  }
}

/**
 * Whether `dir` holds a complete install of the pinned versions; `binary` false skips the
 * check of the linux-x64 binary package (a hand-made install for another platform).
 * @param {string} dir @param {boolean} [binary]
 */
function isComplete(dir, binary = true) {
  if (versionOf(join(dir, 'node_modules', 'node-llama-cpp', 'package.json')) !== NODE_LLAMA_CPP_VERSION) return false;
  if (!existsSync(entryOf(dir))) return false;
  if (!binary) return true;
  return versionOf(join(dir, 'node_modules', ...BINARY_PACKAGE.split('/'), 'package.json')) === NODE_LLAMA_CPP_VERSION
    && existsSync(join(dir, 'node_modules', ...BINARY_PACKAGE.split('/'), 'bins', 'linux-x64', 'llama-addon.node'))
    && existsSync(join(dir, '.complete'));
}

/** Why the prebuilt linux-x64 binary cannot run here, or undefined when it can. */
function platformProblem() {
  const key = `${process.platform}-${process.arch}`;
  if (key !== 'linux-x64') {
    const pkg = OTHER_BINARIES[key];
    return `kpc installs its llama.cpp reference automatically only on x86-64 Linux (glibc >= ${MIN_GLIBC.join('.')}), `
      + `with the prebuilt CPU binary ${BINARY_PACKAGE}; this machine is ${key}. `
      + (pkg
        ? `To run the llama.cpp comparisons here, install node-llama-cpp with this platform's binary into a folder of your own:\n`
          + `  npm install --prefix ~/kpc-llama-ref --ignore-scripts --omit=optional node-llama-cpp@${NODE_LLAMA_CPP_VERSION} ${pkg}@${NODE_LLAMA_CPP_VERSION}\n`
          + `and point kpc at it: KPC_LLAMA_REF_DIR=~/kpc-llama-ref (logits computed on another CPU family can differ in the last bits from x86-64's).`
        : `node-llama-cpp has no prebuilt binary for ${key}; run these tests on x86-64 Linux.`);
  }
  /** @type {any} */
  const report = process.report?.getReport?.();
  const glibc = report?.header?.glibcVersionRuntime;
  if (!glibc) {
    return `kpc's llama.cpp reference uses the prebuilt ${BINARY_PACKAGE}, built against glibc; this Linux has no glibc (musl?). Run these tests on a glibc distribution (Debian 12, Ubuntu 22.04 or later).`;
  }
  const [maj, min] = String(glibc).split('.').map(Number);
  if (maj < MIN_GLIBC[0] || (maj === MIN_GLIBC[0] && min < MIN_GLIBC[1])) {
    return `kpc's llama.cpp reference uses the prebuilt ${BINARY_PACKAGE}, which needs glibc >= ${MIN_GLIBC.join('.')}; this machine has ${glibc}. Run these tests on Debian 12, Ubuntu 22.04 or later.`;
  }
  return undefined;
}

/** Env for the child npm: the parent npm's (when run under `npm test`) prefix and omit/include settings would steer it elsewhere. */
function npmEnv() {
  /** @type {Record<string, string | undefined>} */
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^npm_config_(prefix|local_prefix|global|location|omit|include|production|only|dev|optional|workspaces?|include_workspace_root|dry_run|package_lock|package_lock_only|save.*)$/i.test(k)) delete env[k];
  }
  return env;
}

/** @param {string} dir @returns {number} bytes under dir */
export function duBytes(dir) {
  let total = 0;
  /** @param {string} d */
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

/**
 * Makes sure the pinned node-llama-cpp and its linux-x64 CPU binary are installed, installing
 * them when they are not, and returns the absolute path of node-llama-cpp's ESM entry
 * (`…/node_modules/node-llama-cpp/dist/index.js`): `await import(pathToFileURL(path).href)`.
 *
 * With $KPC_LLAMA_REF_DIR set (a folder whose node_modules/ holds node-llama-cpp at the pinned
 * version, installed by hand for another platform), nothing is installed and that one is used.
 *
 * @param {{log?: (line: string) => void}} [options] log: progress lines (default: none)
 * @returns {Promise<string>}
 * @throws {LlamaRefError} with a message that says what to do
 */
export async function ensureLlamaRef(options = {}) {
  const log = options.log ?? (() => {});
  const own = process.env.KPC_LLAMA_REF_DIR;
  if (own) {
    const dir = resolve(own.replace(/^~(?=$|\/)/, process.env.HOME ?? '~'));
    if (!isComplete(dir, false)) {
      throw new LlamaRefError(`KPC_LLAMA_REF_DIR=${own}: no node-llama-cpp ${NODE_LLAMA_CPP_VERSION} in ${join(dir, 'node_modules')} `
        + `(install it there: npm install --prefix ${dir} --ignore-scripts --omit=optional node-llama-cpp@${NODE_LLAMA_CPP_VERSION} plus this platform's @node-llama-cpp/* binary package at the same version).`);
    }
    return entryOf(dir);
  }

  const problem = platformProblem();
  if (problem) throw new LlamaRefError(problem);

  const dir = llamaRefInstallDir();
  if (isComplete(dir)) return entryOf(dir);

  const root = llamaRefCacheRoot();
  mkdirSync(root, { recursive: true });
  const tmp = join(root, `.tmp-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(tmp);
  copyFileSync(join(here, 'package.json'), join(tmp, 'package.json'));
  copyFileSync(join(here, 'package-lock.json'), join(tmp, 'package-lock.json'));
  log(`llama-ref: installing node-llama-cpp@${NODE_LLAMA_CPP_VERSION} + ${BINARY_PACKAGE} into ${dir}`);
  const started = Date.now();
  // `npm install` with the lockfile rather than `npm ci`: node-llama-cpp 3.22.1 lists
  // @node-llama-cpp/linux-riscv64@3.22.1, which the registry does not have (its latest is
  // 3.21.1), so the lockfile lacks it and `npm ci` refuses the pair as out of sync.
  const args = ['install', '--prefix', tmp, '--no-save', '--prefer-offline', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error'];
  const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, {
    cwd: tmp, env: npmEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000,
  });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    const why = r.error ? String(r.error.message) : `exit code ${r.status}`;
    const lines = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n');
    const tail = (lines.length > 16 ? [...lines.slice(0, 10), '…', ...lines.slice(-5)] : lines).join('\n');
    throw new LlamaRefError(`llama-ref: \`npm ${args.join(' ')}\` failed (${why}); it needs the npm registry.\n${tail}`);
  }
  if (!isComplete(tmp, false) || !existsSync(join(tmp, 'node_modules', ...BINARY_PACKAGE.split('/'), 'bins', 'linux-x64', 'llama-addon.node'))) {
    rmSync(tmp, { recursive: true, force: true });
    throw new LlamaRefError(`llama-ref: npm install finished but node-llama-cpp ${NODE_LLAMA_CPP_VERSION} or ${BINARY_PACKAGE}'s bins/linux-x64/llama-addon.node is missing from the install.`);
  }
  writeFileSync(join(tmp, '.complete'), JSON.stringify({ installed: new Date().toISOString(), seconds: (Date.now() - started) / 1000 }) + '\n');
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another process finished first: keep its install.
    rmSync(tmp, { recursive: true, force: true });
    if (!isComplete(dir)) throw new LlamaRefError(`llama-ref: could not move the install into ${dir}: ${/** @type {Error} */ (e).message}`);
  }
  // Installs of other pins (an older manifest) are dead weight, and so are temporary
  // folders left by killed installs (an hour old): remove them.
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    try {
      const stale = name.startsWith('.tmp-') && Date.now() - statSync(p).mtimeMs > 3600_000;
      if (stale || (p !== dir && name.startsWith('node-llama-cpp-'))) rmSync(p, { recursive: true, force: true });
    } catch {
      // gone already (another process cleaning up): fine
    }
  }
  log(`llama-ref: installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return entryOf(dir);
}

// CLI: install (or find) the reference, print where, its size and how long it took.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  try {
    const entry = await ensureLlamaRef({ log: (l) => console.log(l) });
    const dir = resolve(dirname(entry), '..', '..', '..');
    const mb = (duBytes(join(dir, 'node_modules')) / 1e6).toFixed(1);
    console.log(`llama-ref: node-llama-cpp ${NODE_LLAMA_CPP_VERSION} ready (${((Date.now() - t0) / 1000).toFixed(1)} s, ${mb} MB on disk)`);
    console.log(`llama-ref: import from ${entry}`);
  } catch (e) {
    console.error(e instanceof LlamaRefError ? e.message : e);
    process.exit(1);
  }
}
