/**
 * The network side of consensus (spec §5.2): floods the engine's messages over
 * the mesh, feeds inbound ones back, hands recent certificates to a new peer so it
 * learns decisions it missed, and penalises peers whose messages fail validation.
 */
import type { ConsensusEngine } from '../consensus/index.js';
import { KpcError, isKpcError } from '../errors.js';
import type { Mesh } from '../mesh/mesh.js';
import { MessageType } from '../protocol/index.js';

/** Points by rejection code; during churn an honest relay can pass on a non-member's message. */
const PENALTY: Partial<Record<string, number>> = { CONSENSUS_NOT_MEMBER: 0.25, CONSENSUS_CLOSED: 0 };

/** Sends a consensus message to every open link (the engine relays what it receives itself). */
export function floodConsensus(mesh: Mesh, bytes: Uint8Array): void {
  for (const p of mesh.peers) mesh.sendMessage(p.nodeId, { type: MessageType.CONSENSUS, body: bytes });
}

/** Wires one engine to one mesh; returns the function that unwires it. */
export function connectConsensus(mesh: Mesh, engine: ConsensusEngine): () => void {
  const onProtocol = (ev: Event) => {
    const { from, type, body } = (ev as CustomEvent<{ from: string; type: number; body: Uint8Array }>).detail;
    if (type !== MessageType.CONSENSUS) return;
    try {
      engine.receive(body, from);
    } catch (err) {
      const error = isKpcError(err) ? err : new KpcError('CONSENSUS_BAD_MESSAGE', String(err));
      const points = PENALTY[error.code] ?? 1;
      if (points > 0) mesh.penalize(from, error, points);
    }
  };
  const onPeerOpen = (ev: Event) => {
    const { nodeId } = (ev as CustomEvent<{ nodeId: string }>).detail;
    for (const cert of engine.certificates(Math.max(0, engine.finalizedSlot - 16))) {
      mesh.sendMessage(nodeId, { type: MessageType.CONSENSUS, body: cert });
    }
  };
  mesh.addEventListener('protocol', onProtocol);
  mesh.addEventListener('peer-open', onPeerOpen);
  return () => {
    mesh.removeEventListener('protocol', onProtocol);
    mesh.removeEventListener('peer-open', onPeerOpen);
  };
}
