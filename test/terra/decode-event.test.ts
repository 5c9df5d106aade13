import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { computeTerraSignature } from '../../src/terra/signature.js';
import { decodeEvent, type DecodeResult } from '../../src/terra/decode-event.js';
import { eventTypeKinds, eventTypes, isKnownEventType } from '../../src/terra/event-types.js';
import { readTerraEvent } from '../../src/terra/read-event.js';
import {
  NOW_MS,
  decodeOptions,
  invalidFixture,
  invalidManifest,
  samplesFile,
  validFixture,
  validFixtureNames,
} from './support/terra-fixtures.js';

function expectError(result: DecodeResult | Awaited<ReturnType<typeof readTerraEvent>>, code: string): string {
  assert.equal(result.ok, false, `expected ${code}, got ok`);
  if (result.ok) return '';
  assert.equal(result.error.code, code, result.error.message);
  assert.equal(result.error.name, 'FanoutError');
  return result.error.message;
}

describe('decodeEvent: valid fixtures', () => {
  it('has a fixture for every event type', () => {
    const names = new Set(validFixtureNames());
    for (const type of eventTypes) assert.ok(names.has(type), `missing test/fixtures/terra/valid/${type}.json`);
  });

  for (const name of validFixtureNames()) {
    it(`decodes ${name}`, () => {
      const raw = validFixture(name);
      const result = decodeEvent(raw, decodeOptions());
      assert.ok(result.ok, result.ok ? '' : result.error.message);
      const type: unknown = JSON.parse(raw.toString('utf8')).type;
      assert.ok(typeof type === 'string' && isKnownEventType(type));
      assert.equal(result.kind, eventTypeKinds[type]);
      assert.equal(result.body, raw, 'body is the original buffer');
      const decoded = result.kind === 'pointer' ? result.pointer : result.event;
      assert.deepEqual(decoded, JSON.parse(raw.toString('utf8')));
    });
  }

  it('keeps the JSON.parse output: key order, unknown fields and mixed-case keys untouched', () => {
    const raw = validFixture('activity');
    const result = decodeEvent(raw, decodeOptions());
    assert.ok(result.ok && result.kind === 'data');
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    assert.equal(JSON.stringify(result.event), JSON.stringify(parsed), 'same keys in the same order');
    const item = result.event.type === 'activity' ? result.event.data[0] : undefined;
    assert.ok(item !== undefined);
    assert.deepEqual(Object.keys(item), Object.keys((JSON.parse(raw.toString('utf8')) as { data: Record<string, unknown>[] }).data[0] ?? {}));
    assert.ok('MET_data' in item && 'TSS_data' in item, 'mixed-case keys kept');
    assert.ok(!('met_data' in item) && !('metData' in item), 'no renamed keys');
    assert.deepEqual(item['vendor_extension_field'], { note: 'unknown fields must pass untouched' });
  });

  it('keeps unknown envelope fields and unknown enum values', () => {
    const event = JSON.parse(validFixture('sleep').toString('utf8')) as Record<string, unknown> & { data: { metadata: Record<string, unknown> }[] };
    event['delivered_by'] = 'terra-v7';
    const first = event.data[0];
    assert.ok(first !== undefined);
    first.metadata['upload_type'] = 99;
    const result = decodeEvent(Buffer.from(JSON.stringify(event)), decodeOptions());
    assert.ok(result.ok && result.kind === 'data');
    assert.equal(result.event['delivered_by'], 'terra-v7');
  });

  it('every sample event in config/samples/events.ndjson decodes', () => {
    const lines = readFileSync(samplesFile, 'utf8').split('\n').filter((line) => line.trim() !== '');
    assert.ok(lines.length >= 15, `only ${lines.length} samples`);
    for (const line of lines) {
      const result = decodeEvent(Buffer.from(line), decodeOptions());
      assert.ok(result.ok, result.ok ? '' : `${result.error.message} in ${line.slice(0, 60)}`);
    }
  });
});

describe('decodeEvent and readTerraEvent: invalid fixtures', () => {
  const { fixtures } = invalidManifest();
  for (const [file, { code, why }] of Object.entries(fixtures)) {
    it(`${file} (${why}) -> ${code}`, async () => {
      const result = await readTerraEvent(invalidFixture(file), {
        ...decodeOptions(),
        sentAtMs: NOW_MS - 3_600_000,
        s3Payload: {
          allowedHosts: ['*.s3.eu-west-2.amazonaws.com'],
          allowHttp: false,
          maxBytes: 1024 * 1024,
          timeoutMs: 1000,
          maxExpiresInSeconds: 3600,
          fetch: () => Promise.reject(new Error('no fixture may reach the network')),
        },
      });
      const message = expectError(result, code);
      assert.ok(!message.includes('X-Amz-Signature'), 'no query string in messages');
    });
  }
});

describe('decodeEvent: checks and their order', () => {
  it('null and empty buffers are empty_message', () => {
    expectError(decodeEvent(null, decodeOptions()), 'empty_message');
    expectError(decodeEvent(Buffer.alloc(0), decodeOptions()), 'empty_message');
  });

  it('a message over maxMessageBytes is payload_too_large before parsing', () => {
    const raw = Buffer.from('{not json at all, but too big anyway}');
    const message = expectError(decodeEvent(raw, decodeOptions({ maxMessageBytes: 10 })), 'payload_too_large');
    assert.match(message, /maxMessageBytes/);
    assert.equal(decodeEvent(validFixture('deauth'), decodeOptions({ maxMessageBytes: validFixture('deauth').length })).ok, true);
  });

  it('a 100k-deep array is json_too_deep, not a stack overflow', () => {
    const depth = 100_000;
    const raw = Buffer.from(`{"type":"activity","data":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    expectError(decodeEvent(raw, decodeOptions({ maxMessageBytes: 10 * 1024 * 1024 })), 'json_too_deep');
  });

  it('maxDepth is configurable; 64 is the default', () => {
    const nest = (levels: number): string => `{"type":"deauth","status":"success","message":"m","user":{"user_id":"u","provider":"OURA"},"x":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}`;
    // root object is depth 1, "x" adds `levels` more
    assert.equal(decodeEvent(Buffer.from(nest(63)), decodeOptions()).ok, true);
    expectError(decodeEvent(Buffer.from(nest(64)), decodeOptions()), 'json_too_deep');
    expectError(decodeEvent(Buffer.from(nest(10)), decodeOptions({ maxDepth: 5 })), 'json_too_deep');
  });

  it('a forbidden key deep inside an item is found', () => {
    const event = JSON.parse(validFixture('daily').toString('utf8')) as { data: { heart_rate_data: { detailed: Record<string, unknown> } }[] };
    const text = JSON.stringify(event).replace('"hr_samples":[]', '"hr_samples":[{"constructor":{}}]');
    assert.notEqual(text, JSON.stringify(event));
    const message = expectError(decodeEvent(Buffer.from(text), decodeOptions()), 'forbidden_key');
    assert.match(message, /constructor/);
  });

  it('the words __proto__ and constructor as values are fine', () => {
    const event = JSON.parse(validFixture('deauth').toString('utf8')) as Record<string, unknown>;
    event['message'] = '__proto__ constructor prototype';
    assert.equal(decodeEvent(Buffer.from(JSON.stringify(event)), decodeOptions()).ok, true);
  });

  it('schema_violation names the first failing path and never a value', () => {
    const event = JSON.parse(validFixture('activity').toString('utf8')) as { data: { metadata: Record<string, unknown> }[] };
    const second = event.data[1];
    assert.ok(second !== undefined);
    second.metadata['summary_id'] = 12345678901;
    second.metadata['start_time'] = 'secret-health-value';
    const message = expectError(decodeEvent(Buffer.from(JSON.stringify(event)), decodeOptions()), 'schema_violation');
    assert.match(message, /data\[1\]\.metadata\.(summary_id|start_time)/);
    assert.ok(!message.includes('12345678901') && !message.includes('secret-health-value'), message);
  });

  it('a Teams event with a non-array data is a schema_violation', () => {
    const event = JSON.parse(validFixture('athlete.registered').toString('utf8')) as Record<string, unknown>;
    event['data'] = { athlete_id: 'x' };
    expectError(decodeEvent(Buffer.from(JSON.stringify(event)), decodeOptions()), 'schema_violation');
  });

  it('an s3_payload with allowPointer false is s3_payload_nested', () => {
    expectError(decodeEvent(validFixture('s3_payload'), decodeOptions({ allowPointer: false })), 's3_payload_nested');
  });

  it('decodes the legacy auth error shape and the success shape', () => {
    const legacy = decodeEvent(validFixture('auth-legacy-error'), decodeOptions());
    assert.ok(legacy.ok && legacy.kind === 'user');
    const broken = JSON.parse(validFixture('auth-legacy-error').toString('utf8')) as Record<string, unknown>;
    broken['reason'] = 42;
    expectError(decodeEvent(Buffer.from(JSON.stringify(broken)), decodeOptions()), 'schema_violation');
  });
});

describe('decodeEvent: signatures', () => {
  const secret = 'whsec_test_7d1f';
  const raw = validFixture('activity');
  const nowSeconds = NOW_MS / 1000;
  const required = { secret, required: true, toleranceSeconds: 300 };

  it('accepts a valid signature in terra-signature or x-terra-signature', () => {
    const header = computeTerraSignature(raw, secret, nowSeconds - 10);
    assert.equal(decodeEvent(raw, decodeOptions({ signature: required, headers: { 'terra-signature': header } })).ok, true);
    assert.equal(decodeEvent(raw, decodeOptions({ signature: required, headers: { 'x-terra-signature': header } })).ok, true);
  });

  it('missing and required -> signature_missing; missing and optional -> accepted', () => {
    expectError(decodeEvent(raw, decodeOptions({ signature: required })), 'signature_missing');
    assert.equal(decodeEvent(raw, decodeOptions({ signature: { ...required, required: false } })).ok, true);
  });

  it('present but wrong -> signature_invalid, even when not required', () => {
    const header = computeTerraSignature(raw, 'another-secret', nowSeconds);
    expectError(decodeEvent(raw, decodeOptions({ signature: required, headers: { 'terra-signature': header } })), 'signature_invalid');
    expectError(decodeEvent(raw, decodeOptions({ signature: { ...required, required: false }, headers: { 'terra-signature': header } })), 'signature_invalid');
  });

  it('a signature over other bytes is signature_invalid', () => {
    const header = computeTerraSignature(Buffer.concat([raw, Buffer.from(' ')]), secret, nowSeconds);
    expectError(decodeEvent(raw, decodeOptions({ signature: required, headers: { 'terra-signature': header } })), 'signature_invalid');
  });

  it('a signature older than the tolerance is signature_invalid', () => {
    const header = computeTerraSignature(raw, secret, nowSeconds - 301);
    const message = expectError(decodeEvent(raw, decodeOptions({ signature: required, headers: { 'terra-signature': header } })), 'signature_invalid');
    assert.match(message, /too old/);
  });

  it('is checked before parsing: a forged malformed body is signature_invalid', () => {
    const forged = Buffer.from('{"type": ');
    const header = computeTerraSignature(raw, secret, nowSeconds);
    expectError(decodeEvent(forged, decodeOptions({ signature: required, headers: { 'terra-signature': header } })), 'signature_invalid');
  });
});

describe('decodeEvent: speed sanity (reports, never asserts timing)', () => {
  it('decodes a ~1 KB event many times', () => {
    const raw = validFixture('deauth');
    const runs = 20_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < runs; i += 1) decodeEvent(raw, decodeOptions());
    const micros = Number(process.hrtime.bigint() - started) / 1000 / runs;
    console.log(`# decodeEvent ${raw.length} B: ${micros.toFixed(2)} us per event`);
  });

  it('decodes a multi-MB activity with samples', () => {
    const event = JSON.parse(validFixture('activity').toString('utf8')) as { data: { heart_rate_data: { detailed: { hr_samples: unknown[] } } }[] };
    const first = event.data[0];
    assert.ok(first !== undefined);
    first.heart_rate_data.detailed.hr_samples = Array.from({ length: 200_000 }, (_, i) => ({ timestamp: `2026-07-01T06:${String(i % 60).padStart(2, '0')}:00.000000+01:00`, bpm: 120 + (i % 40), context: 1 }));
    const raw = Buffer.from(JSON.stringify(event));
    const started = process.hrtime.bigint();
    const result = decodeEvent(raw, decodeOptions({ maxMessageBytes: 64 * 1024 * 1024 }));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(result.ok, true);
    console.log(`# decodeEvent ${(raw.length / 1e6).toFixed(1)} MB: ${ms.toFixed(1)} ms`);
  });
});
