import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topLevelArraySpans, withOneElement } from '../../src/json/array-spans.js';

/** A deterministic pseudo-random source, so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const nastyStrings = ['', 'plain', 'quote " inside', 'back\\slash', 'ends with backslash \\', '\\"', 'é and 😀', '\u0000 nul', '\ud800 lone', '] } [ { , :', 'data'];

/** JSON text for a random value, with random whitespace and some escapes written by hand. */
function randomJson(next: () => number, depth: number): string {
  const space = (): string => [' ', '', '\n', '\t', '\r\n  '][Math.floor(next() * 5)] ?? '';
  const pick = Math.floor(next() * (depth > 3 ? 4 : 7));
  switch (pick) {
    case 0:
      return ['12345678901234567890', '1000.0', '-0.0', '1e-7', '0', '-12.50E+3'][Math.floor(next() * 6)] ?? '0';
    case 1:
      return JSON.stringify(nastyStrings[Math.floor(next() * nastyStrings.length)]);
    case 2:
      return '"\\u00e9\\/\\"\\\\"';
    case 3:
      return ['true', 'false', 'null'][Math.floor(next() * 3)] ?? 'null';
    case 4:
    case 5: {
      const count = Math.floor(next() * 4);
      const members = Array.from({ length: count }, (_, index) => `${space()}${JSON.stringify(`k${index}${nastyStrings[index] ?? ''}`)}${space()}:${space()}${randomJson(next, depth + 1)}${space()}`);
      return `{${members.join(',')}}`;
    }
    default: {
      const count = Math.floor(next() * 4);
      return `[${Array.from({ length: count }, () => `${space()}${randomJson(next, depth + 1)}${space()}`).join(',')}]`;
    }
  }
}

describe('topLevelArraySpans', () => {
  it('finds every element of the top-level data array, whatever surrounds it', () => {
    for (let seed = 1; seed <= 400; seed += 1) {
      const next = random(seed);
      const items = Array.from({ length: 1 + Math.floor(next() * 5) }, () => randomJson(next, 0));
      const before = `{ "type" : "activity",\n "user": ${randomJson(next, 1)}, "d\\u0061ta_not": [1,2],`;
      const after = `, "version":"2022-03-16" , "tail": ${randomJson(next, 1)} }\n`;
      const text = `${before} "data" :\t[ ${items.join(' ,\n')} ] ${after}`;
      const bytes = Buffer.from(text);
      const spans = topLevelArraySpans(bytes, 'data');
      assert.ok(spans, `seed ${seed}: data found`);
      assert.deepEqual(
        spans.items.map(([start, end]) => bytes.toString('utf8', start, end)),
        items,
        `seed ${seed}: element bytes`,
      );
      for (let index = 0; index < items.length; index += 1) {
        const narrowed = withOneElement(bytes, spans, index);
        const parsed = JSON.parse(narrowed.toString('utf8')) as Record<string, unknown>;
        const original = JSON.parse(text) as Record<string, unknown>;
        assert.deepEqual(parsed, { ...original, data: [JSON.parse(items[index] ?? 'null')] }, `seed ${seed}: element ${index}`);
        assert.equal(narrowed.toString('utf8'), `${before} "data" :\t[${items[index]}] ${after}`, `seed ${seed}: every other byte kept`);
      }
    }
  });

  it('keeps digits, escapes and spacing of an element exactly', () => {
    const text = '{"type":"activity","data":[{"n":12345678901234567890,"f":1000.0,"z":-0.0,"s":"\\u00e9"},  {"n" : 1}],"user":{"user_id":"u"}}';
    const bytes = Buffer.from(text);
    const spans = topLevelArraySpans(bytes, 'data');
    assert.ok(spans);
    assert.equal(withOneElement(bytes, spans, 0).toString(), '{"type":"activity","data":[{"n":12345678901234567890,"f":1000.0,"z":-0.0,"s":"\\u00e9"}],"user":{"user_id":"u"}}');
    assert.equal(withOneElement(bytes, spans, 1).toString(), '{"type":"activity","data":[{"n" : 1}],"user":{"user_id":"u"}}');
  });

  it('takes the last of duplicate keys, as JSON.parse does, and matches escaped key spellings', () => {
    const bytes = Buffer.from('{"data":[1],"x":{"data":[9,9,9]},"d\\u0061ta":[2,3]}');
    const spans = topLevelArraySpans(bytes, 'data');
    assert.deepEqual(spans?.items.map(([start, end]) => bytes.toString('utf8', start, end)), ['2', '3']);
  });

  it('reads past a byte order mark, and answers null for no array', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"data":[true]}')]);
    assert.equal(topLevelArraySpans(bom, 'data')?.items.length, 1);
    assert.equal(topLevelArraySpans(Buffer.from('{"data":{"a":1}}'), 'data'), null);
    assert.equal(topLevelArraySpans(Buffer.from('{"other":[1]}'), 'data'), null);
    assert.equal(topLevelArraySpans(Buffer.from('[1,2]'), 'data'), null);
    assert.deepEqual(topLevelArraySpans(Buffer.from('{"data":[ ]}'), 'data')?.items, []);
  });
});
