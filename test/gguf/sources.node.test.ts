/**
 * Byte-range sources: an HTTP host on 127.0.0.1 (Range honoured, ignored, capped, 404,
 * unreachable, CORS-like failures), Blobs and buffers. The reader must fetch the header
 * in a few requests and each tensor in exactly its own range.
 */
import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KpcError } from '../../src/errors.js';
import { BlobSource, BufferSource, GgufType, HttpSource, ggufValue, readGguf, writeGguf } from '../../src/gguf/index.js';

/** A model-like file: a small header, then 256 KiB + 4 KiB of tensor data. */
function modelFile(tokens = 16): Uint8Array<ArrayBuffer> {
  const big = new Uint8Array(256 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  return writeGguf({
    metadata: [
      ['general.architecture', ggufValue.string('llama')],
      ['tokenizer.ggml.tokens', ggufValue.array(GgufType.STRING, Array.from({ length: tokens }, (_, i) => `tok-${i}-${'x'.repeat(i % 7)}`))],
    ],
    tensors: [
      { name: 'token_embd.weight', dims: [256, 256], type: 'F32', data: big },
      { name: 'output_norm.weight', dims: [1024], type: 'F32', data: big.subarray(0, 4096) },
    ],
  });
}

const SMALL = modelFile();
const BIG_HEADER = modelFile(40_000);

interface Logged {
  path: string;
  range: string | undefined;
}

/** Serves SMALL and BIG_HEADER under several behaviours, chosen by the path's first segment. */
function startServer(log: Logged[]): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const [, mode, name] = (req.url ?? '').split('/');
    log.push({ path: req.url ?? '', range: req.headers.range });
    const body = name === 'big.gguf' ? BIG_HEADER : name === 'empty.gguf' ? new Uint8Array(0) : SMALL;
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (mode === 'missing') return void res.writeHead(404, 'Not Found').end('no such file');
    if (mode === 'ignore' || !m) return void res.writeHead(200, { 'content-length': body.length }).end(body);
    const start = Number(m[1]);
    if (start >= body.length) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    let end = Math.min(Number(m[2]), body.length - 1);
    if (mode === 'capped') end = Math.min(end, start + 999);
    const headers: Record<string, string | number> = { 'content-length': end - start + 1 };
    if (mode !== 'no-content-range') headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
    if (mode === 'etag') headers.etag = `"v${log.length}"`;
    res.writeHead(206, headers).end(body.subarray(start, end + 1));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function failure(p: Promise<unknown>): Promise<KpcError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KpcError) return err;
    throw new Error(`expected a KpcError, got ${String(err)}`);
  }
  throw new Error('expected a rejection');
}

describe('HttpSource against a local server', () => {
  const log: Logged[] = [];
  let server: Server;
  let base: string;

  before(async () => {
    server = await startServer(log);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads the header in one request and each tensor in exactly its own range', async () => {
    log.length = 0;
    const progress: number[] = [];
    const source = new HttpSource(`${base}/range/small.gguf`, { onProgress: (n) => progress.push(n) });
    const file = await readGguf(source);
    expect(source.size).to.equal(SMALL.byteLength);
    expect(log.map((l) => l.range)).to.deep.equal(['bytes=0-65535']);
    expect(file.getString('general.architecture')).to.equal('llama');

    log.length = 0;
    const t = file.findTensor('output_norm.weight')!;
    const bytes = await file.readTensor(t);
    expect(log.map((l) => l.range)).to.deep.equal([`bytes=${t.offset}-${t.offset + t.byteLength - 1}`]);
    expect(bytes).to.deep.equal(SMALL.subarray(t.offset, t.offset + t.byteLength));
    expect(source.requests).to.equal(2);
    expect(progress).to.deep.equal([65536, 65536 + t.byteLength]);
    expect(source.bytesRead).to.equal(65536 + t.byteLength);
  });

  it('grows its reads for a long header: a few requests, none starting in the tensor data', async () => {
    log.length = 0;
    const source = new HttpSource(`${base}/range/big.gguf`);
    const file = await readGguf(source);
    expect(file.getStringArray('tokenizer.ggml.tokens')).to.have.length(40_000);
    expect(file.headerByteLength).to.be.greaterThan(500_000);
    expect(log.length).to.be.within(2, 4);
    for (const l of log) expect(Number(/bytes=(\d+)/.exec(l.range!)![1])).to.be.lessThan(file.dataOffset);
  });

  it('a host capping each response still yields every byte, in more requests', async () => {
    const source = new HttpSource(`${base}/capped/small.gguf`);
    const file = await readGguf(source, { firstReadBytes: 4096 });
    const t = file.tensors[1];
    const before = source.requests;
    expect(await file.readTensor(t)).to.deep.equal(SMALL.subarray(t.offset, t.offset + t.byteLength));
    expect(source.requests - before).to.equal(Math.ceil(t.byteLength / 1000));
  });

  it('refuses a host that ignores Range, saying so', async () => {
    const err = await failure(readGguf(new HttpSource(`${base}/ignore/small.gguf`)));
    expect(err.code).to.equal('GGUF_SOURCE_FAILED');
    expect(err.message).to.include('ignores Range');
    expect(err.detail).to.include({ status: 200 });
  });

  it('names a 404', async () => {
    const err = await failure(readGguf(new HttpSource(`${base}/missing/small.gguf`)));
    expect(err.code).to.equal('GGUF_SOURCE_FAILED');
    expect(err.message).to.include('HTTP 404 Not Found');
  });

  it('a 206 without Content-Range points at Access-Control-Expose-Headers', async () => {
    const err = await failure(readGguf(new HttpSource(`${base}/no-content-range/small.gguf`)));
    expect(err.code).to.equal('GGUF_SOURCE_FAILED');
    expect(err.message).to.include('Access-Control-Expose-Headers: Content-Range');
  });

  it('refuses a file that changes between reads (ETag)', async () => {
    const file = await readGguf(new HttpSource(`${base}/etag/small.gguf`));
    const err = await failure(file.readTensor(file.tensors[0]));
    expect(err.code).to.equal('GGUF_SOURCE_FAILED');
    expect(err.message).to.include('changed');
  });

  it('an empty file is a truncated GGUF (the host answers 416)', async () => {
    expect((await failure(readGguf(new HttpSource(`${base}/range/empty.gguf`)))).code).to.equal('GGUF_TRUNCATED');
  });

  it('an unreachable host: the message names CORS and reachability', async () => {
    const closed = await startServer([]);
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(readGguf(new HttpSource(`http://127.0.0.1:${port}/x.gguf`)));
    expect(err.code).to.equal('GGUF_SOURCE_FAILED');
    expect(err.message).to.include('unreachable').and.include('Access-Control-Allow-Origin').and.include('Range');
  });
});

describe('HttpSource with an injected fetch', () => {
  const respond = (body: Uint8Array<ArrayBuffer>, headers: Record<string, string>, status = 206) => async () => new Response(body, { status, headers });

  it('a TypeError from fetch (what a CORS refusal looks like in a browser) gets the CORS explanation', async () => {
    const err = await failure(new HttpSource('https://models.example/m.gguf', { fetch: async () => Promise.reject(new TypeError('Failed to fetch')) }).read(0, 10));
    expect(err.message).to.include('Failed to fetch').and.include('Access-Control-Expose-Headers: Content-Range');
  });

  it('a body shorter than its Content-Range is a short read', async () => {
    const err = await failure(new HttpSource('https://h/m.gguf', { fetch: respond(new Uint8Array(5), { 'content-range': 'bytes 0-9/100' }) }).read(0, 10));
    expect(err.code).to.equal('GGUF_SOURCE_FAILED');
    expect(err.message).to.include('short read');
  });

  it('a range other than the one asked for is refused', async () => {
    const err = await failure(new HttpSource('https://h/m.gguf', { fetch: respond(new Uint8Array(10), { 'content-range': 'bytes 5-14/100' }) }).read(0, 10));
    expect(err.message).to.include('bytes 5-14');
  });

  it('an unknown total size ("/*") on the first response is refused', async () => {
    const err = await failure(new HttpSource('https://h/m.gguf', { fetch: respond(new Uint8Array(10), { 'content-range': 'bytes 0-9/*' }) }).read(0, 10));
    expect(err.message).to.include('size');
  });

  it('passes the headers given, plus Range, and aborts with the signal', async () => {
    let seen: Headers | undefined;
    const source = new HttpSource('https://h/m.gguf', {
      headers: { Authorization: 'Bearer t' },
      fetch: async (_url, init) => {
        seen = new Headers(init?.headers);
        return new Response(new Uint8Array(4), { status: 206, headers: { 'content-range': 'bytes 0-3/4' } });
      },
    });
    expect(await source.read(0, 100)).to.have.length(4);
    expect(seen?.get('authorization')).to.equal('Bearer t');
    expect(seen?.get('range')).to.equal('bytes=0-99');
    const aborted = new AbortController();
    aborted.abort();
    const viaSignal = new HttpSource('https://h/m.gguf', { signal: aborted.signal, fetch: async (_u, init) => Promise.reject(init?.signal?.reason) });
    expect((await failure(viaSignal.read(0, 1))).code).to.equal('GGUF_SOURCE_FAILED');
  });
});

describe('Blob and buffer sources', () => {
  it('reads a Blob by slices: the header, then one slice per tensor', async () => {
    const blob = new Blob([SMALL]);
    const slices: [number, number][] = [];
    const spy = { size: blob.size, slice: (a: number, b: number) => (slices.push([a, b]), blob.slice(a, b)) } as unknown as Blob;
    const progress: number[] = [];
    const file = await readGguf(new BlobSource(spy, { onProgress: (n) => progress.push(n) }));
    const t = file.tensors[0];
    expect(await file.readTensor(t)).to.deep.equal(SMALL.subarray(t.offset, t.offset + t.byteLength));
    expect(slices).to.deep.equal([[0, 65536], [t.offset, t.offset + t.byteLength]]);
    expect(progress).to.deep.equal([65536, 65536 + t.byteLength]);
  });

  it('takes a Blob, an ArrayBuffer or a Uint8Array view directly', async () => {
    expect((await readGguf(new Blob([SMALL]))).tensors).to.have.length(2);
    expect((await readGguf(SMALL.slice().buffer)).tensors).to.have.length(2);
    const padded = new Uint8Array(SMALL.byteLength + 10);
    padded.set(SMALL, 7);
    const file = await readGguf(new BufferSource(padded.subarray(7, 7 + SMALL.byteLength)));
    expect(await file.readTensor('output_norm.weight')).to.deep.equal(await (await readGguf(SMALL)).readTensor('output_norm.weight'));
  });

  it('a read starting past the end, or a source that is not one, is refused', async () => {
    expect((await failure(new BufferSource(SMALL).read(SMALL.byteLength + 1, 1))).code).to.equal('GGUF_SOURCE_FAILED');
    expect((await failure(new BufferSource(SMALL).read(-1, 1))).code).to.equal('GGUF_SOURCE_FAILED');
    expect((await failure(readGguf({} as never))).code).to.equal('GGUF_SOURCE_FAILED');
  });
});
