import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byteSizeSchema, parseByteSize } from '../../src/config/byte-size.js';

describe('byte sizes', () => {
  it('parses units as powers of 1000 (KB, MB, GB) and 1024 (KiB, MiB, GiB)', () => {
    assert.equal(parseByteSize('512'), 512);
    assert.equal(parseByteSize('512B'), 512);
    assert.equal(parseByteSize('500KB'), 500_000);
    assert.equal(parseByteSize('64MiB'), 64 * 1024 * 1024);
    assert.equal(parseByteSize('1GiB'), 1024 ** 3);
    assert.equal(parseByteSize('2GB'), 2_000_000_000);
    assert.equal(parseByteSize('1.5 KiB'), 1536);
    assert.equal(parseByteSize('4mib'), 4 * 1024 * 1024);
  });

  it('rejects what is not a whole number of bytes', () => {
    for (const text of ['', 'MiB', '64 MiBs', '-1KB', '1.5B', '0x10', '1e3', 'ten']) assert.equal(parseByteSize(text), null, text);
  });

  it('accepts numbers and strings in config, and gives bytes', () => {
    const schema = byteSizeSchema('Test size.', '1MiB');
    assert.equal(schema.parse(1024), 1024);
    assert.equal(schema.parse('1MiB'), 1_048_576);
    for (const bad of [0, -5, 1.5, '0KB', 'lots', true, null]) assert.equal(schema.safeParse(bad).success, false, String(bad));
  });
});
