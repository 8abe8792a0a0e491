/**
 * Admission expires with its proof (spec §8.1 Sybil): a member admitted in one epoch
 * may open links while its proof is valid; once it is past (its epoch and the next),
 * its signals are refused until it announces a fresh proof.
 */
import { expect } from 'chai';
import { describe, it } from 'node:test';
import { AdmissionTicket } from '../../src/admission.js';
import { generateIdentity, toBase64, type Identity } from '../../src/crypto/index.js';
import type { KpcError } from '../../src/errors.js';
import { encodePowProof, epochOf, solveProof } from '../../src/pow/index.js';
import { MessageType } from '../../src/protocol/index.js';
import { HAND_CLUSTER, HAND_START, handMesh } from '../helpers/hand-mesh.js';
import { VirtualRuntime } from '../helpers/virtual-runtime.js';

const SETTINGS = { difficulty: 4, epochMs: 60_000, maxClockSkewMs: 0 };

describe('admission expires with the proof', () => {
  it('refuses the signals of a member whose proof has expired, and takes them again after a fresh announce', async () => {
    const rt = new VirtualRuntime(HAND_START, () => 0.5);
    const self = generateIdentity();
    const { mesh, links, identity, channel } = handMesh(['ws://s'], { runtime: rt, admission: new AdmissionTicket(self, HAND_CLUSTER, SETTINGS, rt) });
    const codes: string[] = [];
    mesh.addEventListener('reject', (ev) => codes.push((ev as CustomEvent<{ error: KpcError }>).detail.error.code));
    const ch = channel('ws://s');
    const member = generateIdentity();
    const proof = async (who: Identity) =>
      toBase64(encodePowProof(await solveProof({ publicKey: who.publicKey, clusterId: HAND_CLUSTER, epoch: epochOf(rt.now(), SETTINGS.epochMs), difficulty: SETTINGS.difficulty })));
    const offer = (session: string) =>
      ch.deliver(member, { type: MessageType.SIGNAL, body: { to: identity.nodeId, signal: { session, data: { type: 'offer', sdp: 'v=0' } } } }, `kpc/v1/${HAND_CLUSTER}/${identity.nodeId}`, rt.now());

    ch.announce(member, rt.now(), await proof(member));
    expect(codes).to.deep.equal([]);
    mesh.cutLink(member.nodeId); // our own attempt to it, so its offer is not glare
    offer('aaaaaaaaaaaaaaaa');
    expect(codes).to.deep.equal([]);

    // Two epochs later the proof is past its window; the member says nothing new.
    rt.advanceSync(2 * SETTINGS.epochMs + 1);
    const attempts = links.tried.length;
    offer('bbbbbbbbbbbbbbbb');
    expect(codes).to.include('MESH_NOT_ADMITTED');
    expect(links.tried.length).to.equal(attempts);

    // A fresh proof admits it again.
    ch.announce(member, rt.now(), await proof(member));
    const before = codes.length;
    offer('cccccccccccccccc');
    expect(codes.slice(before)).to.deep.equal([]);
    mesh.crash();
  });
});
