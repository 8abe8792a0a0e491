// Registered with `node --import`: lets Node import modules that bundles resolve
// through plugins. `virtual:kpc-regen-worker` (the Worker's bundled source) is
// empty here — Node has no Worker of that kind, and RegenWorker computes in-thread.
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
  export async function resolve(specifier, context, next) {
    if (specifier === 'virtual:kpc-regen-worker') {
      return { url: 'data:text/javascript,export%20default%20%22%22', shortCircuit: true };
    }
    return next(specifier, context);
  }
`));
