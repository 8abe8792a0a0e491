import { expect } from 'chai';
import { isKpcError } from '../../src/errors.js';
import { BlobSource, GgufType, HttpSource, ggufValue, readGguf, writeGguf } from '../../src/gguf/index.js';
import { rejection } from '../helpers/rejection.js';

// Mocha globals, provided by web-test-runner.
declare const describe: (name: string, fn: () => void) => void;
declare const it: (name: string, fn: () => void | Promise<void>) => void;

const data = new Uint8Array(64 * 1024).map((_, i) => (i * 13) & 0xff);
const bytes = writeGguf({
  metadata: [
    ['general.architecture', ggufValue.string('llama')],
    ['tokenizer.ggml.scores', ggufValue.array(GgufType.FLOAT32, new Float32Array([0.5, -1]))],
  ],
  tensors: [
    { name: 'a.weight', dims: [64, 256], type: 'F32', data },
    { name: 'b.weight', dims: [32, 2], type: 'Q8_0', data: data.subarray(0, 68) },
  ],
});

describe('GGUF in Chromium', () => {
  it('reads a File picked by the user, slice by slice', async () => {
    const file = new File([bytes], 'model.gguf');
    let read = 0;
    const gguf = await readGguf(new BlobSource(file, { onProgress: (n) => (read = n) }));
    expect(gguf.getString('general.architecture')).to.equal('llama');
    expect(Array.from(gguf.getNumberArray('tokenizer.ggml.scores'))).to.deep.equal([0.5, -1]);
    const b = gguf.findTensor('b.weight')!;
    expect(await gguf.readTensor(b)).to.deep.equal(data.subarray(0, 68));
    expect(read).to.equal(Math.min(65536, bytes.byteLength) + 68);
  });

  it('a host that cannot be reached gets the CORS / reachability explanation', async () => {
    // Nothing listens on port 9, and Chromium blocks it as unsafe anyway: fetch rejects with a TypeError.
    const err = await rejection(readGguf(new HttpSource('http://127.0.0.1:9/model.gguf')));
    expect(isKpcError(err, 'GGUF_SOURCE_FAILED')).to.equal(true);
    expect((err as Error).message).to.include('Access-Control-Allow-Origin');
  });
});
