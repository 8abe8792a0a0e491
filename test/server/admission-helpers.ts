// Shared helpers for the proof-of-π admission tests: proofs solved in-process at a low
// difficulty, admit frames signed like the client does, and an admitted TestClient.
import { expect } from 'chai';
import { generateIdentity, sign, toBase64, fromBase64, type Identity } from '../../src/crypto/index.js';
import { signalingAdmitMessage } from '../../src/mesh/signaling.js';
import * as pow from '../../src/pow/index.js';
import { powVerifier } from '../../server/admission.mjs';
import { TestClient, type Frame } from './helpers.js';

/** Low, so tests solve in microseconds; the server asks for the same. */
export const DIFFICULTY = 4;
export const EPOCH_MS = 3_600_000;
export const verify = powVerifier(pow);

export interface ProofParams {
  difficulty?: number;
  epochMs?: number;
  /** Default: the current epoch. */
  epoch?: number;
}

/** A proof for (identity's key, cluster) as the base64 text ANNOUNCE carries. */
export async function proofFor(identity: Identity, clusterId: string, p: ProofParams = {}): Promise<string> {
  const epochMs = p.epochMs ?? EPOCH_MS;
  const proof = await pow.solveProof({
    publicKey: identity.publicKey,
    clusterId,
    epoch: p.epoch ?? pow.epochOf(Date.now(), epochMs),
    difficulty: p.difficulty ?? DIFFICULTY,
  });
  return toBase64(pow.encodePowProof(proof));
}

/** A `kpc-admit` as WebSocketSignaling sends it: `signer` signs the challenge, `key` defaults to the signer's. */
export function admitFrame(signer: Identity, proof: string, nonceB64: string, url: string, key: Uint8Array = signer.publicKey): Frame {
  const sig = sign(signer, signalingAdmitMessage(fromBase64(nonceB64), url));
  return { type: 'kpc-admit', key: toBase64(key), proof, sig: toBase64(sig), url };
}

/** Reads the challenge every connection to an admission server starts with. */
export async function readChallenge(c: TestClient): Promise<{ nonce: string; difficulty: number }> {
  const f = await c.next();
  expect(f.type, JSON.stringify(f)).to.equal('kpc-challenge');
  expect(f.nonce).to.be.a('string');
  expect(fromBase64(f.nonce as string)).to.have.length(32);
  return { nonce: f.nonce as string, difficulty: f.difficulty as number };
}

export interface Admitted {
  client: TestClient;
  identity: Identity;
  nonce: string;
  /** The `kpc-admitted` frame. */
  admitted: Frame;
}

/** Connects, answers the challenge with a valid admit for `clusterId`, expects `kpc-admitted`. */
export async function connectAdmitted(url: string, clusterId: string, identity: Identity = generateIdentity(), p: ProofParams = {}): Promise<Admitted> {
  const client = await TestClient.connect(url);
  const { nonce } = await readChallenge(client);
  client.send(admitFrame(identity, await proofFor(identity, clusterId, p), nonce, url));
  const admitted = await client.next();
  expect(admitted, JSON.stringify(admitted)).to.include({ type: 'kpc-admitted', cluster: clusterId });
  return { client, identity, nonce, admitted };
}

/** Cluster and direct topics, named as src/mesh/discovery.ts names them. */
export const clusterTopic = (clusterId: string) => `kpc/v1/${clusterId}`;
export const directTopic = (clusterId: string, identity: Identity) => `kpc/v1/${clusterId}/${identity.nodeId}`;
