// Browser suite: real Chromium, real signaling servers, real WebRTC and IndexedDB.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { bundleDeps } from './test/wtr/bundle-deps.mjs';
import { signalPlugin } from './test/wtr/signal-plugin.mjs';
import { ggufRangeMiddleware, rangeLogPlugin } from './test/wtr/range-middleware.mjs';
import { chromiumArgs, chromiumPath } from './scripts/chromium.mjs';

export default {
  files: ['test/**/*.browser.test.ts'],
  nodeResolve: { browser: true, exportConditions: ['browser', 'development'] },
  concurrency: 2,
  middleware: [ggufRangeMiddleware('.')],
  plugins: [
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: 'tsconfig.json' }),
    signalPlugin(),
    rangeLogPlugin(),
    bundleDeps(['simple-peer']),
  ],
  browsers: [chromeLauncher({ launchOptions: { executablePath: chromiumPath(), headless: true, args: chromiumArgs() } })],
  testFramework: { config: { timeout: 30000 } },
  testsFinishTimeout: 300000,
};
