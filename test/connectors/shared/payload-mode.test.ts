import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodePayload, payloadSettingsSchema, pointerBody, type PayloadOptions } from '../../../connectors/shared/payload-mode.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { createMemoryClaimCheck } from '../kafka/memory-claim-check.js';
import { makeRecord } from '../../support/records.js';

const signal = new AbortController().signal;
const record = makeRecord({ userId: 'user-9', referenceId: 'ref-9' });
const size = record.body.length;

function options(mode: PayloadOptions['mode'], maxInlineBytes: number, withClaims = false): PayloadOptions {
  return { mode, maxInlineBytes, claimCheck: withClaims ? createMemoryClaimCheck(300) : undefined };
}

describe('payload modes', () => {
  it('inline and auto send the record itself when it fits, byte for byte', async () => {
    for (const mode of ['inline', 'auto'] as const) {
      const encoded = await encodePayload(record, options(mode, size), signal);
      assert.deepEqual(encoded, { ok: true, form: 'inline', body: record.body });
    }
  });

  it('inline never truncates: a record over the limit is destination_record_too_large, even with a claim check', async () => {
    const encoded = await encodePayload(record, options('inline', size - 1, true), signal);
    assert.equal(encoded.ok, false);
    assert.equal(encoded.ok ? '' : encoded.error.code, 'destination_record_too_large');
  });

  it('auto over the limit without a claim check is destination_record_too_large, naming both sizes', async () => {
    const encoded = await encodePayload(record, options('auto', 100), signal);
    assert.ok(!encoded.ok);
    assert.equal(encoded.error.code, 'destination_record_too_large');
    assert.equal(encoded.error.retryable, false);
    assert.deepEqual(encoded.error.detail, { bytes: size, limit: 100 });
    assert.match(encoded.error.message, /claimCheck/);
  });

  it('auto over the limit with a claim check, and pointer always, send Terra\'s s3_payload form', async () => {
    const claims = createMemoryClaimCheck(300);
    for (const [mode, limit] of [['auto', 100], ['pointer', 10 * size]] as const) {
      const encoded = await encodePayload(record, { mode, maxInlineBytes: limit, claimCheck: claims }, signal);
      assert.ok(encoded.ok && encoded.form === 'pointer');
      const pointer = JSON.parse(encoded.body.toString()) as Record<string, unknown>;
      assert.deepEqual(pointer, {
        status: 'success',
        type: 's3_payload',
        url: `http://127.0.0.1:9/claims/${record.identity}.json?signature=test`,
        expires_in: 300,
        payload_type: 'activity',
        user_id: 'user-9',
        reference_id: 'ref-9',
        identity: record.identity,
      });
      assert.deepEqual(claims.objects.get(String(pointer['url'])), record.body, 'the claim check holds the record body');
    }
    assert.equal(claims.objects.size, 1, 'the same record is stored once, under its identity');
  });

  it('a failing claim check gives its own catalogued error; anything else is internal_error', async () => {
    const claims = createMemoryClaimCheck();
    claims.failWith(new FanoutError('destination_unavailable', 'bucket down'));
    const down = await encodePayload(record, { mode: 'pointer', maxInlineBytes: size, claimCheck: claims }, signal);
    assert.ok(!down.ok);
    assert.equal(down.error.code, 'destination_unavailable');
    claims.failWith(new Error('boom'));
    const bug = await encodePayload(record, { mode: 'pointer', maxInlineBytes: size, claimCheck: claims }, signal);
    assert.ok(!bug.ok);
    assert.equal(bug.error.code, 'internal_error');
  });

  it('pointerBody carries the record type, user, reference and identity', () => {
    const body = JSON.parse(pointerBody(makeRecord({ userId: null, referenceId: null }), 'https://bucket.example/x', 60).toString()) as Record<string, unknown>;
    assert.equal(body['type'], 's3_payload');
    assert.equal(body['user_id'], null);
    assert.equal(body['expires_in'], 60);
  });
});

describe('payloadSettingsSchema', () => {
  const schema = payloadSettingsSchema({ defaultMaxInlineBytes: 1000, maxInlineBytesCeiling: 4096, limitName: 'the test limit' });

  it('defaults to auto with the destination\'s limit, and reads sizes with units', () => {
    assert.deepEqual(schema.parse(undefined), { mode: 'auto', maxInlineBytes: 1000 });
    assert.deepEqual(schema.parse({ mode: 'pointer', maxInlineBytes: '4KiB' }), { mode: 'pointer', maxInlineBytes: 4096 });
  });

  it('refuses a limit above the ceiling, an unknown mode and unknown keys', () => {
    assert.equal(schema.safeParse({ maxInlineBytes: '5KiB' }).success, false);
    assert.equal(schema.safeParse({ mode: 'sometimes' }).success, false);
    assert.equal(schema.safeParse({ claimCheck: {} }).success, false);
  });
});
