/**
 * Off-main-thread compute: the regeneration Worker and its client.
 * @packageDocumentation
 */

export {
  /** Generates layers in a dedicated module Worker (in-thread where `Worker` is missing). */
  RegenWorker,
} from './regen-client.js';

export {
  /** Request message of the regeneration Worker. */
  type RegenRequest,
  /** Response message of the regeneration Worker. */
  type RegenResponse,
  /** The Worker's start-up message. */
  type RegenReady,
  /** The Worker's pure request handler (exported for tests and custom Worker hosts). */
  handleRegenRequest,
} from './protocol.js';
