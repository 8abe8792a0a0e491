/**
 * Module Web Worker entry of the regeneration kernel (spec §2: the π-node's compute runs
 * in a dedicated Worker so a layer never blocks the page). Bundled into one string by
 * scripts/worker-source.mjs and started by {@link RegenWorker} from a blob URL.
 *
 * Protocol: `{id, op: 'layer', spec}` → `{id, ok: true, buffer}` (buffer transferred)
 * or `{id, ok: false, code, message}`; `{op: 'ready'}` once at start.
 */
import { handleRegenRequest } from './protocol.js';

// The project's TypeScript lib is DOM, not WebWorker: describe the little we use of
// DedicatedWorkerGlobalScope instead of pulling in conflicting global types.
const scope = self as unknown as {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
};

scope.onmessage = (ev) => {
  const { response, transfer } = handleRegenRequest(ev.data);
  scope.postMessage(response, transfer);
};
scope.postMessage({ op: 'ready' }, []);
