/**
 * The binary INFER frames (docs/distributed-inference.md has the byte tables). Integers
 * are big-endian like the envelope's; activations are float32 **little-endian**, the
 * byte order `activationChecksum` hashes, so the payload is the checksummed bytes as is.
 *
 * Decoding checks structure only (lengths, versions, flags, counts); what depends on the
 * model (n·dim floats, ranges within its blocks, positions within its context) is
 * checked by whoever knows the model. Every failure is KpcError `INFER_BAD_FRAME`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex, utf8Decode, utf8Encode } from '../../crypto/bytes.js';
import { KpcError, type KpcErrorCode } from '../../errors.js';

/** Version byte of every frame. */
export const FRAME_VERSION = 1;
/** Frame kinds (byte 1). */
export const FrameKind = Object.freeze({ REQUEST: 1, RESULT: 2, ERROR: 3, RELEASE: 4, PART: 5 } as const);
/**
 * REQUEST flags (byte 2): the spec is attached; reply with the last row only (replays);
 * the payload is token ids (u32 little-endian) for the node to embed, not activations;
 * SAMPLE: the node (holding the final norm and output head) samples the next token from
 * the last row's logits with the attached sampling block and appends it (u32) to the
 * result. RESULT frames echo LAST_ROW and SAMPLE.
 */
export const RequestFlag = Object.freeze({ SPEC: 1, LAST_ROW: 2, TOKENS: 4, SAMPLE: 8 } as const);
const REQUEST_FLAGS = RequestFlag.SPEC | RequestFlag.LAST_ROW | RequestFlag.TOKENS | RequestFlag.SAMPLE;
const RESULT_FLAGS = RequestFlag.LAST_ROW | RequestFlag.SAMPLE;
/** Most history and banned ids one sampling block carries. */
export const MAX_SAMPLE_IDS = 1024;

/**
 * How the last segment's holder picks the next token: `sampleNext`'s options, the
 * requester's uniform draw `u` for this token (so its seeded generator stays the only
 * source of randomness), the recent tokens for the repetition penalty and the ids never
 * to pick.
 */
export interface SampleParams {
  temperature: number;
  topK: number;
  topP: number;
  repeatPenalty: number;
  repeatLastN: number;
  /** The uniform draw in [0, 1) (0 at temperature 0, where none is drawn). */
  u: number;
  history: number[];
  banned: number[];
}
/** Largest attached spec, bytes (the presets' canonical JSON is ~0.2 KB). */
export const MAX_SPEC_BYTES = 4096;
/** Largest error message, bytes. */
export const MAX_MESSAGE_BYTES = 512;
/** Largest message reassembled from parts, bytes. */
export const MAX_REASSEMBLED_BYTES = 64 * 1024 * 1024;
/** Rows of one request at most (a prompt is sent in chunks of 32). */
export const MAX_ROWS = 65536;

const REQUEST_HEADER = 68;
const RESULT_HEADER = 68;
const ERROR_HEADER = 30;
const RELEASE_BYTES = 20;
/** Bytes of a PART header. */
export const PART_HEADER = 16;

/** Error codes a node may answer with, by their byte on the wire. */
const ERROR_CODES: readonly KpcErrorCode[] = [
  'INFER_BAD_FRAME', 'INFER_UNKNOWN_MODEL', 'INFER_KV_MISSING', 'INFER_BAD_SPEC',
  'INFER_BAD_INPUT', 'INFER_CONTEXT_OVERFLOW', 'INFER_UNAVAILABLE',
];

/** Ask a node to run blocks [from, to) over `rows` activations at positions [pos, pos + rows). */
export interface RequestFrame {
  kind: 'request';
  /** 16-byte job id, hex. */
  job: string;
  /** The requester's number for this request; the result echoes it. */
  requestId: number;
  /** SHA-256 of the spec (hex). */
  modelId: string;
  from: number;
  to: number;
  pos: number;
  rows: number;
  /** Reply with the last row only (a replay rebuilding a KV cache). */
  lastRow: boolean;
  /** The payload is `rows` token ids (u32, little-endian) to embed first (first segment of a model the requester does not hold). */
  tokens?: boolean;
  /** Sample the next token from the last row (last segment of a model the requester does not hold). */
  sample?: SampleParams;
  /** The spec's canonical JSON, when attached. */
  spec?: Uint8Array;
  /** rows·dim float32, little-endian (or rows u32 token ids with `tokens`). */
  payload: Uint8Array;
}

/** A node's output for a request. */
export interface ResultFrame {
  kind: 'result';
  job: string;
  requestId: number;
  from: number;
  to: number;
  pos: number;
  /** Rows in the payload (1 when `lastRow`). */
  rows: number;
  lastRow: boolean;
  /** The payload ends with the sampled token id (u32 little-endian). */
  sampled?: boolean;
  /** SHA-256 of the payload, hex: what r nodes vote on. */
  checksum: string;
  payload: Uint8Array;
}

/** A node's typed refusal of a request. */
export interface ErrorFrame {
  kind: 'error';
  job: string;
  requestId: number;
  code: KpcErrorCode;
  /** For `INFER_KV_MISSING`: positions the node holds for that job and segment. */
  have: number;
  message: string;
}

/** The job is over: drop its KV caches. */
export interface ReleaseFrame {
  kind: 'release';
  job: string;
}

/** One part of a message larger than a data-channel message. */
export interface PartFrame {
  kind: 'part';
  messageId: number;
  index: number;
  count: number;
  /** Length of the whole message. */
  total: number;
  data: Uint8Array;
}

/** Any decoded frame. */
export type InferFrame = RequestFrame | ResultFrame | ErrorFrame | ReleaseFrame | PartFrame;

function bad(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('INFER_BAD_FRAME', message, detail);
}

function u16(n: number, field: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw bad(`${field} must be a u16`, { field });
  return n;
}

function u32(n: number, field: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw bad(`${field} must be a u32`, { field });
  return n;
}

function hexBytes(hex: string, len: number, field: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length !== len * 2 || !/^[0-9a-f]+$/.test(hex)) throw bad(`${field} must be ${len} bytes of hex`, { field });
  return fromHex(hex);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian bytes of float32 values (a copy). */
export function floatsToBytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
  return out;
}

/** Float32 values of little-endian bytes (a copy, aligned). */
export function bytesToFloats(bytes: Uint8Array): Float32Array<ArrayBuffer> {
  if (bytes.length % 4 !== 0) throw bad('activations are not whole float32 values');
  if (LITTLE_ENDIAN) return new Float32Array(bytes.slice().buffer);
  const out = new Float32Array(bytes.length / 4);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

/** Hex SHA-256 of bytes: the checksum of an activation payload. */
export function payloadChecksum(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

function header(kind: number, total: number, byte2 = 0): { out: Uint8Array; dv: DataView } {
  const out = new Uint8Array(total);
  out[0] = FRAME_VERSION;
  out[1] = kind;
  out[2] = byte2;
  return { out, dv: new DataView(out.buffer) };
}

/** Bytes of a frame. @throws KpcError `INFER_BAD_FRAME` for out-of-range fields */
export function encodeFrame(f: InferFrame): Uint8Array {
  switch (f.kind) {
    case 'request': {
      const specLen = f.spec ? f.spec.length : 0;
      if (specLen > MAX_SPEC_BYTES) throw bad('spec too large');
      const sample = f.sample ? encodeSample(f.sample) : undefined;
      const off = REQUEST_HEADER + (f.spec ? 2 + specLen : 0) + (sample?.length ?? 0);
      const flags = (f.spec ? RequestFlag.SPEC : 0) | (f.lastRow ? RequestFlag.LAST_ROW : 0) | (f.tokens ? RequestFlag.TOKENS : 0) | (sample ? RequestFlag.SAMPLE : 0);
      const { out, dv } = header(FrameKind.REQUEST, off + f.payload.length, flags);
      if (sample) out.set(sample, off - sample.length);
      out.set(hexBytes(f.job, 16, 'job'), 4);
      dv.setUint32(20, u32(f.requestId, 'requestId'));
      out.set(hexBytes(f.modelId, 32, 'modelId'), 24);
      dv.setUint16(56, u16(f.from, 'from'));
      dv.setUint16(58, u16(f.to, 'to'));
      dv.setUint32(60, u32(f.pos, 'pos'));
      dv.setUint32(64, u32(f.rows, 'rows'));
      if (f.spec) {
        dv.setUint16(REQUEST_HEADER, specLen);
        out.set(f.spec, REQUEST_HEADER + 2);
      }
      out.set(f.payload, off);
      return out;
    }
    case 'result': {
      const { out, dv } = header(FrameKind.RESULT, RESULT_HEADER + f.payload.length, (f.lastRow ? RequestFlag.LAST_ROW : 0) | (f.sampled ? RequestFlag.SAMPLE : 0));
      out.set(hexBytes(f.job, 16, 'job'), 4);
      dv.setUint32(20, u32(f.requestId, 'requestId'));
      dv.setUint16(24, u16(f.from, 'from'));
      dv.setUint16(26, u16(f.to, 'to'));
      dv.setUint32(28, u32(f.pos, 'pos'));
      dv.setUint32(32, u32(f.rows, 'rows'));
      out.set(hexBytes(f.checksum, 32, 'checksum'), 36);
      out.set(f.payload, RESULT_HEADER);
      return out;
    }
    case 'error': {
      const code = ERROR_CODES.indexOf(f.code);
      if (code < 0) throw bad(`${f.code} cannot be sent`);
      const text = safeCut(utf8Encode(f.message).subarray(0, MAX_MESSAGE_BYTES));
      const { out, dv } = header(FrameKind.ERROR, ERROR_HEADER + text.length, code + 1);
      out.set(hexBytes(f.job, 16, 'job'), 4);
      dv.setUint32(20, u32(f.requestId, 'requestId'));
      dv.setUint32(24, u32(f.have, 'have'));
      dv.setUint16(28, text.length);
      out.set(text, ERROR_HEADER);
      return out;
    }
    case 'release': {
      const { out } = header(FrameKind.RELEASE, RELEASE_BYTES);
      out.set(hexBytes(f.job, 16, 'job'), 4);
      return out;
    }
    case 'part': {
      const { out, dv } = header(FrameKind.PART, PART_HEADER + f.data.length);
      dv.setUint32(4, u32(f.messageId, 'messageId'));
      dv.setUint16(8, u16(f.index, 'index'));
      dv.setUint16(10, u16(f.count, 'count'));
      dv.setUint32(12, u32(f.total, 'total'));
      out.set(f.data, PART_HEADER);
      return out;
    }
  }
}

/** Drops a UTF-8 sequence cut off at the end of a truncated message. */
function safeCut(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const b = bytes[end - back];
    if ((b & 0xc0) === 0x80) continue; // continuation byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (need > back) end -= back;
    break;
  }
  return bytes.subarray(0, end);
}

/**
 * A frame from bytes, checked structurally.
 * @throws KpcError `INFER_BAD_FRAME`
 */
export function decodeFrame(bytes: Uint8Array): InferFrame {
  if (!(bytes instanceof Uint8Array) || bytes.length < 4) throw bad('frame shorter than its header');
  if (bytes[0] !== FRAME_VERSION) throw bad(`unknown frame version ${bytes[0]}`, { version: bytes[0] });
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const job = () => toHex(bytes.subarray(4, 20));
  const need = (n: number) => {
    if (bytes.length < n) throw bad(`frame of ${bytes.length} bytes is shorter than its ${n}-byte header`);
  };
  switch (bytes[1]) {
    case FrameKind.REQUEST: {
      need(REQUEST_HEADER);
      const flags = bytes[2];
      if ((flags & ~REQUEST_FLAGS) !== 0 || bytes[3] !== 0) throw bad('unknown request flags', { flags });
      const from = dv.getUint16(56);
      const to = dv.getUint16(58);
      const rows = dv.getUint32(64);
      if (from >= to) throw bad(`empty block range [${from}, ${to})`, { from, to });
      if (rows < 1 || rows > MAX_ROWS) throw bad(`rows must be in [1, ${MAX_ROWS}]`, { rows });
      let off = REQUEST_HEADER;
      let spec: Uint8Array | undefined;
      if (flags & RequestFlag.SPEC) {
        need(off + 2);
        const len = dv.getUint16(off);
        if (len === 0 || len > MAX_SPEC_BYTES) throw bad('bad spec length', { len });
        need(off + 2 + len);
        spec = bytes.slice(off + 2, off + 2 + len);
        off += 2 + len;
      }
      let sample: SampleParams | undefined;
      if (flags & RequestFlag.SAMPLE) {
        const decoded = decodeSample(bytes, off);
        sample = decoded.sample;
        off = decoded.end;
      }
      const payload = bytes.subarray(off);
      const tokens = (flags & RequestFlag.TOKENS) !== 0;
      if (tokens ? payload.length !== 4 * rows : payload.length === 0 || payload.length % (4 * rows) !== 0) {
        throw bad(`payload of ${payload.length} bytes is not ${rows} rows of ${tokens ? 'token ids' : 'float32'}`, { rows });
      }
      return {
        kind: 'request', job: job(), requestId: dv.getUint32(20), modelId: toHex(bytes.subarray(24, 56)),
        from, to, pos: dv.getUint32(60), rows, lastRow: (flags & RequestFlag.LAST_ROW) !== 0,
        ...(tokens ? { tokens } : {}), ...(sample ? { sample } : {}), ...(spec ? { spec } : {}), payload,
      };
    }
    case FrameKind.RESULT: {
      need(RESULT_HEADER);
      if ((bytes[2] & ~RESULT_FLAGS) !== 0 || bytes[3] !== 0) throw bad('unknown result flags');
      const from = dv.getUint16(24);
      const to = dv.getUint16(26);
      const rows = dv.getUint32(32);
      if (from >= to) throw bad(`empty block range [${from}, ${to})`, { from, to });
      if (rows < 1 || rows > MAX_ROWS) throw bad(`rows must be in [1, ${MAX_ROWS}]`, { rows });
      const payload = bytes.subarray(RESULT_HEADER);
      // With a sampled token the payload is rows·dim floats + one u32: only the requester knows dim.
      const unit = bytes[2] & RequestFlag.SAMPLE ? 4 : 4 * rows;
      if (payload.length === 0 || payload.length % unit !== 0) throw bad(`payload of ${payload.length} bytes is not ${rows} rows of float32`, { rows });
      return {
        kind: 'result', job: job(), requestId: dv.getUint32(20), from, to, pos: dv.getUint32(28), rows,
        lastRow: (bytes[2] & RequestFlag.LAST_ROW) !== 0, ...(bytes[2] & RequestFlag.SAMPLE ? { sampled: true } : {}), checksum: toHex(bytes.subarray(36, 68)), payload,
      };
    }
    case FrameKind.ERROR: {
      need(ERROR_HEADER);
      const code = ERROR_CODES[bytes[2] - 1];
      if (!code || bytes[3] !== 0) throw bad(`unknown error code ${bytes[2]}`);
      const len = dv.getUint16(28);
      if (len > MAX_MESSAGE_BYTES || bytes.length !== ERROR_HEADER + len) throw bad('bad error message length', { len });
      let message: string;
      try {
        message = utf8Decode(bytes.subarray(ERROR_HEADER));
      } catch {
        throw bad('error message is not UTF-8');
      }
      return { kind: 'error', job: job(), requestId: dv.getUint32(20), code, have: dv.getUint32(24), message };
    }
    case FrameKind.RELEASE:
      if (bytes.length !== RELEASE_BYTES || bytes[2] !== 0 || bytes[3] !== 0) throw bad('bad release frame');
      return { kind: 'release', job: job() };
    case FrameKind.PART: {
      need(PART_HEADER);
      if (bytes[2] !== 0 || bytes[3] !== 0) throw bad('bad part flags');
      const index = dv.getUint16(8);
      const count = dv.getUint16(10);
      const total = dv.getUint32(12);
      if (count < 2 || index >= count) throw bad(`part ${index} of ${count}`, { index, count });
      if (total > MAX_REASSEMBLED_BYTES || total < count) throw bad(`message of ${total} bytes`, { total });
      const data = bytes.subarray(PART_HEADER);
      if (data.length === 0) throw bad('empty part');
      return { kind: 'part', messageId: dv.getUint32(4), index, count, total, data };
    }
    default:
      throw bad(`unknown frame kind ${bytes[1]}`, { kind: bytes[1] });
  }
}

/** Sampling block: temperature, topP, repeatPenalty, u (f64 ×4), topK, repeatLastN (u32 ×2), history and banned counts (u16 ×2), then the ids (u32). */
const SAMPLE_HEADER = 44;

function encodeSample(p: SampleParams): Uint8Array {
  if (p.history.length > MAX_SAMPLE_IDS || p.banned.length > MAX_SAMPLE_IDS) throw bad('too many ids in a sampling block');
  const out = new Uint8Array(SAMPLE_HEADER + 4 * (p.history.length + p.banned.length));
  const dv = new DataView(out.buffer);
  [p.temperature, p.topP, p.repeatPenalty, p.u].forEach((v, i) => dv.setFloat64(8 * i, v));
  dv.setUint32(32, u32(p.topK, 'topK'));
  dv.setUint32(36, u32(p.repeatLastN, 'repeatLastN'));
  dv.setUint16(40, p.history.length);
  dv.setUint16(42, p.banned.length);
  [...p.history, ...p.banned].forEach((id, i) => dv.setUint32(SAMPLE_HEADER + 4 * i, u32(id, 'token id')));
  return out;
}

function decodeSample(bytes: Uint8Array, off: number): { sample: SampleParams; end: number } {
  if (bytes.length < off + SAMPLE_HEADER) throw bad('sampling block cut short');
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, bytes.length - off);
  const [temperature, topP, repeatPenalty, u] = [0, 1, 2, 3].map((i) => dv.getFloat64(8 * i));
  const nh = dv.getUint16(40);
  const nb = dv.getUint16(42);
  if (nh > MAX_SAMPLE_IDS || nb > MAX_SAMPLE_IDS) throw bad('too many ids in a sampling block', { history: nh, banned: nb });
  const end = off + SAMPLE_HEADER + 4 * (nh + nb);
  if (bytes.length < end) throw bad('sampling block cut short');
  if (!(temperature >= 0 && temperature < Infinity) || !(topP > 0 && topP <= 1) || !(repeatPenalty > 0 && repeatPenalty < Infinity) || !(u >= 0 && u < 1)) {
    throw bad('sampling parameters out of range', { temperature, topP, repeatPenalty, u });
  }
  const ids = Array.from({ length: nh + nb }, (_, i) => dv.getUint32(SAMPLE_HEADER + 4 * i));
  return {
    sample: { temperature, topP, repeatPenalty, u, topK: dv.getUint32(32), repeatLastN: dv.getUint32(36), history: ids.slice(0, nh), banned: ids.slice(nh) },
    end,
  };
}
