/** PiNodes as the browser suites start them. */
import { generateIdentity } from '../../src/crypto/index.js';
import { PiNode } from '../../src/node.js';
import type { PiNodeOptions } from '../../src/node-options.js';
import { MemoryStorage } from '../../src/sync/index.js';
import { TEST_ADMISSION } from './admission.js';

/** A node with a fresh identity, replicated state in memory and admission at the test difficulty; `extra` overrides any of it. */
export function testNode(clusterId: string, signaling: string | string[], extra: Partial<PiNodeOptions> = {}): PiNode {
  return new PiNode({ admission: TEST_ADMISSION, clusterId, signaling, identity: generateIdentity(), syncStorage: () => new MemoryStorage(), ...extra });
}
