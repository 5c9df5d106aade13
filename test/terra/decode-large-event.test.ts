import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEvent, type DecodeOptions, type DecodeResult } from '../../src/terra/decode-event.js';
import { explodeEvent } from '../../src/terra/explode-event.js';
import type { SourcePosition } from '../../src/records/record.js';
import { TenantDecoder } from '../../src/pipeline/tenant-decoder.js';
import { NOW_MS } from './support/terra-fixtures.js';

/**
 * Large data events are decoded in parts (decode-large-event.ts): these tests hold that the outcome
 * is the whole decode's outcome, accepted or refused with the same code and message, on events and
 * on thousands of damaged copies of them, with thresholds small enough to split small events.
 */

const source: SourcePosition = { topic: 't', partition: 0, offset: '7', timestampMs: NOW_MS, headers: {} };
const whole: DecodeOptions = { maxMessageBytes: 64 * 1024 * 1024, headers: {}, nowMs: NOW_MS };
/** Splits every array of 40 bytes or more, parsing 64 bytes of elements at a time. */
const split: DecodeOptions = { ...whole, split: { fromBytes: 0, minArrayBytes: 40, chunkBytes: 64 } };

function samples(count: number, offset = 0): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({ timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i + offset)).toISOString(), bpm: 60 + (i % 50), n: [i, i + 0.5] }));
}

function activityEvent(sampleCount: number, extra: Record<string, unknown> = {}): Buffer {
  const item = (n: number): Record<string, unknown> => ({
    metadata: { summary_id: `s-${n}`, start_time: '2026-01-01T00:00:00.000Z', end_time: '2026-01-01T01:00:00.000Z', type: 1, upload_type: 1 },
    heart_rate_data: { summary: { avg_hr_bpm: 140 }, detailed: { hr_samples: samples(sampleCount, n), hrv_samples_rmssd: [] } },
    distance_data: { detailed: { step_samples: samples(sampleCount) } },
    ...extra,
  });
  // Keep Terra's own spelling where JSON.stringify would not produce it: big integers, trailing zeros, spaces.
  const text = JSON.stringify({ type: 'activity', user: { user_id: 'u-1', provider: 'GARMIN', reference_id: null }, data: [item(1), item(2)], version: '2022-03-16' });
  return Buffer.from(text.replace('"bpm":61,', '"bpm": 61.0 ,').replace('"bpm":62', '"bpm":12345678901234567890'));
}

function outcome(result: DecodeResult): string {
  return result.ok ? `ok ${result.kind}` : `${result.error.code}: ${result.error.message}`;
}

describe('decodeEvent of large events in parts', () => {
  it('splits the sample arrays out and keeps the envelope and metadata', () => {
    const raw = activityEvent(30);
    const result = decodeEvent(raw, split);
    assert.ok(result.ok && result.kind === 'data', outcome(result));
    assert.equal(result.partial, true);
    assert.equal(result.body, raw);
    const event = result.event as unknown as { data: Array<{ metadata: { summary_id: string }; heart_rate_data: { detailed: { hr_samples: unknown[] } } }> };
    assert.deepEqual(event.data.map((item) => item.metadata.summary_id), ['s-1', 's-2']);
    assert.deepEqual(event.data[0]?.heart_rate_data.detailed.hr_samples, [], 'the skeleton holds no samples');
    assert.equal(decodeEvent(raw, whole).ok, true);
  });

  it('gives records whose item, event and bytes are exactly the whole decode', () => {
    const raw = activityEvent(30);
    const parts = decodeEvent(raw, split);
    const full = decodeEvent(raw, whole);
    assert.ok(parts.ok && parts.kind === 'data' && full.ok && full.kind === 'data');
    for (const unit of ['record', 'event'] as const) {
      const fromParts = explodeEvent(parts.event, parts.kind, parts.body, source, unit, true);
      const fromWhole = explodeEvent(full.event, full.kind, full.body, source, unit);
      assert.equal(fromParts.length, fromWhole.length);
      fromParts.forEach((record, index) => {
        const expected = fromWhole[index];
        assert.ok(expected);
        assert.equal(record.identity, expected.identity);
        assert.equal(record.naturalKey, expected.naturalKey);
        assert.ok(record.body.equals(expected.body), 'the same bytes');
        assert.deepEqual(record.item, expected.item);
        assert.deepEqual(record.event, expected.event);
        // A spread copy (as the format step makes) carries the item too.
        assert.deepEqual({ ...record }.item, expected.item);
      });
    }
  });

  it('refuses exactly as the whole decode does, and cuts the same records, on thousands of damaged copies of every data type', () => {
    const originals = ['activity', 'daily', 'sleep', 'body', 'nutrition', 'hormone', 'health_observation', 'menstruation', 'planned_workout'].map((type) => anyDataEvent(type));
    const damages: Array<(bytes: Buffer) => Buffer> = [
      (b) => Buffer.concat([b.subarray(0, position(b)), b.subarray(position(b) + 1)]),
      (b) => Buffer.concat([b.subarray(0, position(b)), Buffer.from(pick([',', ']', '[', '{', '}', '"', ':', '\\', ' ', 'x', '\u00e9', '\n', ',,', '__proto__'])), b.subarray(position(b))]),
      (b) => {
        const copy = Buffer.from(b);
        copy[position(copy)] = pick([0x2c, 0x5d, 0x5b, 0x22, 0xff, 0x00, 0x7d, 0x30]);
        return copy;
      },
    ];
    let seed = 7;
    function random(): number {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    }
    function position(bytes: Buffer): number {
      return Math.floor(random() * bytes.length);
    }
    function pick<T>(values: readonly T[]): T {
      return values[Math.floor(random() * values.length)] as T;
    }
    let accepted = 0;
    let inParts = 0;
    for (let round = 0; round < 3000; round += 1) {
      const damaged = (damages[round % damages.length] as (bytes: Buffer) => Buffer)(originals[round % originals.length] as Buffer);
      const parts = decodeEvent(damaged, split);
      const full = decodeEvent(damaged, whole);
      assert.equal(outcome(parts), outcome(full), `round ${round}: ${damaged.toString('latin1')}`);
      if (!parts.ok) continue;
      accepted += 1;
      if (parts.kind === 'pointer' || parts.partial !== true || !full.ok || full.kind === 'pointer') continue;
      inParts += 1;
      for (const unit of ['record', 'event'] as const) {
        const fromParts = explodeEvent(parts.event, parts.kind, parts.body, source, unit, true);
        const fromWhole = explodeEvent(full.event, full.kind, full.body, source, unit);
        assert.equal(fromParts.length, fromWhole.length);
        fromParts.forEach((record, index) => {
          assert.equal(record.identity, fromWhole[index]?.identity, `round ${round}`);
          assert.deepEqual(record.item, fromWhole[index]?.item, `round ${round}`);
        });
      }
    }
    assert.ok(accepted > 50 && inParts > 50, `some damaged copies stay valid and are split (${accepted} valid, ${inParts} split)`);
  });

  it('refuses what only the split-out arrays get wrong, with the whole decode\'s code', () => {
    const cases: Array<[string, Buffer, string]> = [
      ['a trailing comma in a sample array', Buffer.from(activityEvent(6).toString().replace('}],"hrv_samples_rmssd"', '},],"hrv_samples_rmssd"')), 'malformed_json'],
      ['an empty element', Buffer.from(activityEvent(6).toString().replace('},{"timestamp"', '},,{"timestamp"')), 'malformed_json'],
      ['a forbidden key inside a sample', Buffer.from(activityEvent(6).toString().replace('"bpm":63', '"__proto__":1,"bpm":63')), 'forbidden_key'],
      ['nesting too deep inside a sample', Buffer.from(activityEvent(6).toString().replace('"bpm":63', `"deep":${'['.repeat(70)}${']'.repeat(70)},"bpm":63`)), 'json_too_deep'],
      ['invalid UTF-8 inside a sample', Buffer.concat([Buffer.from(activityEvent(6).toString().split('"bpm":63')[0] ?? ''), Buffer.from([0x22, 0x78, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x2c]), Buffer.from(`"bpm":63${activityEvent(6).toString().split('"bpm":63').slice(1).join('"bpm":63')}`)]), 'malformed_json'],
      ['a drink sample that is not an object', activityEventOf('nutrition', { drink_samples: [...samples(4), 5] }), 'schema_violation'],
    ];
    for (const [name, raw, code] of cases) {
      assert.equal(decodeEvent(Buffer.from(raw), split).ok, false, `${name}: the damage is in place`);
      const full = decodeEvent(raw, whole);
      assert.equal(full.ok, false, name);
      assert.equal(outcome(decodeEvent(raw, split)), outcome(full), name);
      assert.ok(!full.ok && full.error.code === code, `${name}: ${outcome(full)}`);
    }
  });

  it('keeps what the schema reads in the skeleton, splits object-array blocks, and parses types keyed by the whole item whole', () => {
    // Arrays under metadata (checked field by field) stay in the skeleton; an object-array block is
    // split, its elements checked to be objects chunk by chunk.
    const drinks = samples(6).map((sample) => ({ ...sample, parts: samples(3) }));
    const nutrition = activityEventOf('nutrition', { drink_samples: drinks, metadata: { start_time: '2026-01-01T00:00:00Z', end_time: '2026-01-02T00:00:00Z', notes: samples(6) } });
    const result = decodeEvent(nutrition, split);
    assert.ok(result.ok && result.kind !== 'pointer', outcome(result));
    const item = (result.event as unknown as { data: Array<Record<string, Record<string, unknown>>> }).data[0];
    assert.equal((item?.['metadata']?.['notes'] as unknown[]).length, 6);
    assert.equal((item?.['drink_samples'] as unknown as unknown[]).length, 0, 'the object-array block is split out');
    assert.equal(result.partial, true);
    const planned = activityEventOf('planned_workout', { steps: samples(6), details: { big: samples(6) } });
    const plannedResult = decodeEvent(planned, split);
    assert.ok(plannedResult.ok && plannedResult.kind !== 'pointer', outcome(plannedResult));
    assert.equal(plannedResult.partial, undefined, 'planned_workout may be keyed by its whole item');
  });

  it('a tenant decoder splits messages from 1 MiB and its records still read the samples', () => {
    const raw = activityEvent(9000);
    assert.ok(raw.length > 1024 * 1024);
    const decoder = new TenantDecoder({ maxMessageBytes: 64 * 1024 * 1024, s3Payload: { allowedHosts: [], maxBytes: 1024, timeoutMs: 1000, maxRetryMs: 1000 } as never, cacheBytes: 0 });
    const decoded = decoder.decode({ topic: 't', partition: 0, offset: '1', timestampMs: NOW_MS, key: null, value: raw, headers: {}, sizeBytes: raw.length });
    assert.equal(decoded.error, null);
    assert.equal(decoded.partial, true);
    const records = decoded.records('record');
    assert.ok(Array.isArray(records) && records.length === 2);
    const hr = (records[1]?.item?.['heart_rate_data'] as { detailed: { hr_samples: unknown[] } }).detailed.hr_samples;
    assert.equal(hr.length, 9000);
    const small = activityEvent(10);
    assert.equal(decoder.decode({ topic: 't', partition: 0, offset: '2', timestampMs: NOW_MS, key: null, value: small, headers: {}, sizeBytes: small.length }).partial, false);
  });
});

/** A data event of `type` with arrays everywhere the split looks: a block's samples, an object-array block's elements, an unknown key, nested arrays. */
function anyDataEvent(type: string): Buffer {
  const nested = (count: number): Array<Record<string, unknown>> => samples(count).map((sample, i) => ({ ...sample, note: i % 3 === 0 ? 'a"b\\c \u00e9' : null }));
  const item = (n: number): Record<string, unknown> => ({
    metadata: { summary_id: `s-${n}`, start_time: '2026-01-01T00:00:00.000Z', end_time: '2026-01-01T01:00:00.000Z', type: 1, upload_type: 1 },
    timestamp: '2026-01-01T00:00:00Z',
    heart_rate_data: { detailed: { hr_samples: nested(4) } },
    drink_samples: nested(3).map((sample) => ({ ...sample, parts: samples(2) })),
    unknown_block: nested(3),
    sleep_durations_data: { stages: [samples(2), samples(2)] },
  });
  return Buffer.from(JSON.stringify({ type, user: { user_id: 'u-1', provider: 'GARMIN', reference_id: null }, data: [item(1), item(2)], version: '2022-03-16' }, null, type.length % 2));
}

function activityEventOf(type: string, item: Record<string, unknown>): Buffer {
  const metadata = { summary_id: 's-1', start_time: '2026-01-01T00:00:00.000Z', end_time: '2026-01-01T01:00:00.000Z', type: 1, upload_type: 1 };
  return Buffer.from(JSON.stringify({ type, user: { user_id: 'u-1', provider: 'GARMIN', reference_id: null }, data: [{ metadata, ...item }], version: '2022-03-16' }));
}
