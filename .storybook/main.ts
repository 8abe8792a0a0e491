import type { StorybookConfig } from '@storybook/web-components-vite';
import { WORKER_MODULE_ID, workerSourceModule } from '../scripts/worker-source.mjs';

/**
 * The regeneration Worker (src/compute) imports its own bundled source as the
 * virtual module `virtual:kpc-regen-worker`; serve it the way rollup and wtr do.
 */
const regenWorker = () => ({
  name: 'kpc-regen-worker',
  enforce: 'pre' as const,
  resolveId: (id: string) => (id === WORKER_MODULE_ID ? '\0' + WORKER_MODULE_ID : null),
  load: (id: string) => (id === '\0' + WORKER_MODULE_ID ? workerSourceModule() : null),
});

const config: StorybookConfig = {
  stories: ['../stories/*.stories.ts'],
  // The repo model's GGUF files, where <kpc-infer model="kjv-llama-3m"> looks for them.
  staticDirs: [{ from: '../models', to: '/models' }],
  addons: ['@storybook/addon-docs'],
  framework: { name: '@storybook/web-components-vite', options: {} },
  core: { disableTelemetry: true, disableWhatsNewNotifications: true },
  // The elements use legacy decorators (tsconfig: experimentalDecorators), which
  // Vite's transpiler lowers by itself: no decorator plugin needed.
  async viteFinal(config) {
    config.plugins ??= [];
    config.plugins.push(regenWorker());
    return config;
  },
};
export default config;
