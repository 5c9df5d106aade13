import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import kafkajs from 'kafkajs';
import { installGzipCodec, outputChunkSize } from '../../src/kafka/gzip-codec.js';

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const { CompressionCodecs, CompressionTypes } = kafkajs;

function codec(): Codec {
  installGzipCodec();
  return (CompressionCodecs[CompressionTypes.GZIP] as () => Codec)();
}

describe('gzip codec for kafkajs', () => {
  it('sizes the output from the gzip trailer, within bounds', () => {
    const raw = Buffer.from('x'.repeat(3_000_000));
    const compressed = zlib.gzipSync(raw);
    assert.equal(outputChunkSize(compressed), raw.length + 1);
    assert.equal(outputChunkSize(zlib.gzipSync(Buffer.from('small'))), 64 * 1024, 'never below 64 KiB');
    assert.equal(outputChunkSize(zlib.deflateSync(raw)), 64 * 1024, 'no trailer to read in a zlib stream');
    const forged = Buffer.from(zlib.gzipSync(Buffer.from('tiny')));
    forged.writeUInt32LE(0xffffffff, forged.length - 4);
    assert.equal(outputChunkSize(forged), Math.max(64 * 1024, forged.length * 1032), 'a forged size is held to deflate\'s largest ratio');
  });

  it('decompresses what kafkajs hands it: gzip, several gzip members, a zlib stream', async () => {
    const { compress, decompress } = codec();
    const one = Buffer.from(JSON.stringify({ samples: Array.from({ length: 50_000 }, (_, i) => ({ i, bpm: 60 + (i % 90) })) }));
    const two = Buffer.from('and a second member');
    assert.ok((await decompress(await compress({ buffer: one }))).equals(one));
    assert.ok((await decompress(Buffer.concat([zlib.gzipSync(one), zlib.gzipSync(two)]))).equals(Buffer.concat([one, two])), 'the trailer is only a hint');
    assert.ok((await decompress(zlib.deflateSync(one))).equals(one));
    await assert.rejects(decompress(Buffer.from('not compressed at all, not at all')));
  });
});
