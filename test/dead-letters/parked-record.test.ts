import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadLetterSelectionSchema, filterFingerprint, filterOf, matchesFilter } from '../../src/dead-letters/dead-letter-filter.js';
import { originalMessage, readParkedRecord } from '../../src/dead-letters/parked-record.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import type { InboundMessage, OutboundMessage } from '../../src/kafka/kafka-client.js';
import { buildDeadLetter, deadLetterHeader } from '../../src/lane/dead-letter.js';

const value = Buffer.from(JSON.stringify({ type: 'activity', user: { user_id: 'u-7', provider: 'GARMIN' }, data: [{}], version: '2022-03-16' }));
const source: InboundMessage = {
  topic: 'terra.events',
  partition: 3,
  offset: '1234',
  timestampMs: Date.parse('2026-07-01T06:00:00Z'),
  key: Buffer.from('u-7'),
  value,
  headers: { 'x-terra-trace-id': [Buffer.from('trace-1')], 'x-terra-fanout-attempts': [Buffer.from('99')] },
  sizeBytes: value.length,
};

/** A dead letter as the dead-letter consumer reads it back. */
function asRead(message: OutboundMessage, offset = '5'): InboundMessage {
  const headers: Record<string, Buffer[]> = {};
  for (const [name, header] of Object.entries(message.headers)) headers[name] = (Array.isArray(header) ? header : [header]).map((item) => Buffer.from(item));
  return { topic: 'terra.events.dlq', partition: 1, offset, timestampMs: Date.now(), key: message.key, value: message.value, headers, sizeBytes: 0 };
}

const parkedAt = Date.parse('2026-07-02T10:00:00Z');
const deadLetter = asRead(
  buildDeadLetter({
    message: source,
    error: new FanoutError('destination_rejected', 'Webhook answered 400.'),
    attempts: 2,
    firstFailureMs: parkedAt - 5000,
    lastFailureMs: parkedAt,
    tenant: 'acme',
    destination: 'app',
    connector: 'webhook',
    record: { identity: 'id-1', type: 'activity', itemIndex: 0 },
  }),
);

describe('dead letters as records', () => {
  it('reads what a lane wrote: position, reason, attempts, source, identity, type and user', () => {
    const record = readParkedRecord(deadLetter);
    assert.deepEqual(record, {
      deadLetter: { topic: 'terra.events.dlq', partition: 1, offset: '5' },
      parkedAt: '2026-07-02T10:00:00.000Z',
      parkedAtMs: parkedAt,
      tenant: 'acme',
      destination: 'app',
      connector: 'webhook',
      code: 'destination_rejected',
      message: 'Webhook answered 400.',
      causeCode: null,
      attempts: 2,
      redriven: 0,
      firstFailureAt: '2026-07-02T09:59:55.000Z',
      source: { topic: 'terra.events', partition: 3, offset: '1234', timestampMs: source.timestampMs },
      identity: 'id-1',
      type: 'activity',
      itemIndex: 0,
      userId: 'u-7',
    });
  });

  it('rebuilds the original message: same bytes, key, timestamp and headers, without the dead-letter context', () => {
    const original = originalMessage(deadLetter, readParkedRecord(deadLetter));
    assert.ok(original !== null);
    assert.equal(original.value, deadLetter.value);
    assert.deepEqual([original.topic, original.partition, original.offset, original.timestampMs], ['terra.events', 3, '1234', source.timestampMs]);
    assert.deepEqual(Object.keys(original.headers), ['x-terra-trace-id']);
    assert.equal(originalMessage({ ...deadLetter, headers: {} }, readParkedRecord({ ...deadLetter, headers: {} })), null, 'no source position, no message');
  });

  it('a record parked again carries the sum of attempts, the first failure and a redriven count', () => {
    const again = readParkedRecord(
      asRead(
        buildDeadLetter({
          message: source,
          error: new FanoutError('destination_rejected', 'Still 400.'),
          attempts: 3,
          firstFailureMs: parkedAt + 60_000,
          lastFailureMs: parkedAt + 61_000,
          tenant: 'acme',
          destination: 'app',
          connector: 'webhook',
          record: { identity: 'id-1', type: 'activity', itemIndex: 0 },
          previous: { attempts: 2, redriven: 1, firstFailureMs: parkedAt - 5000 },
        }),
      ),
    );
    assert.equal(again.attempts, 5);
    assert.equal(again.redriven, 2);
    assert.equal(again.firstFailureAt, '2026-07-02T09:59:55.000Z');
    assert.equal(again.parkedAt, new Date(parkedAt + 61_000).toISOString());
  });

  it('reads foreign or damaged messages without throwing', () => {
    const foreign = readParkedRecord({ ...deadLetter, value: Buffer.from('not json'), headers: { [deadLetterHeader.attempts]: [Buffer.from('many')] } });
    assert.equal(foreign.code, 'unknown');
    assert.equal(foreign.attempts, 0);
    assert.equal(foreign.source, null);
    assert.equal(foreign.userId, null);
    assert.equal(foreign.type, null);
  });
});

describe('dead-letter selection', () => {
  const record = readParkedRecord(deadLetter);
  const select = (input: Record<string, unknown>): boolean => matchesFilter(record, filterOf(deadLetterSelectionSchema.parse({ tenant: 'acme', ...input })));

  it('each filter narrows: destination, codes, since (inclusive), until (exclusive), identity, user', () => {
    assert.equal(select({}), true);
    assert.equal(select({ destination: 'app' }), true);
    assert.equal(select({ destination: 'lake' }), false);
    assert.equal(select({ code: ['retries_exhausted', 'destination_rejected'] }), true);
    assert.equal(select({ code: 'retries_exhausted,destination_not_found' }), false);
    assert.equal(select({ since: '2026-07-02T10:00:00Z' }), true);
    assert.equal(select({ since: '2026-07-02T10:00:01Z' }), false);
    assert.equal(select({ until: '2026-07-02T10:00:00Z' }), false);
    assert.equal(select({ until: '2026-07-02T10:00:01Z', since: '2026-07-01T00:00:00Z' }), true);
    assert.equal(select({ identity: 'id-1' }), true);
    assert.equal(select({ identity: 'id-2' }), false);
    assert.equal(select({ user_id: 'u-7' }), true);
    assert.equal(select({ user_id: 'u-8' }), false);
  });

  it('refuses unknown codes, unreadable times and bad names, naming the field', () => {
    for (const [input, field] of [[{ code: 'destination_rejectd' }, 'code'], [{ since: 'yesterday' }, 'since'], [{ until: '07/02/2026' }, 'until'], [{ destination: 'App!' }, 'destination'], [{ limit: 0 }, 'limit']] as const) {
      const parsed = deadLetterSelectionSchema.safeParse({ tenant: 'acme', ...input });
      assert.equal(parsed.success, false, JSON.stringify(input));
      assert.equal(parsed.error?.issues[0]?.path[0], field);
    }
  });

  it('the redrive group fingerprint ignores the destination and the order of codes, and is absent without narrowing', () => {
    const fingerprint = (input: Record<string, unknown>): string | null => filterFingerprint(filterOf(deadLetterSelectionSchema.parse({ tenant: 'acme', ...input })));
    assert.equal(fingerprint({ destination: 'app' }), null);
    assert.equal(fingerprint({ code: ['retries_exhausted', 'destination_rejected'] }), fingerprint({ code: ['destination_rejected', 'retries_exhausted'], destination: 'x' }));
    assert.notEqual(fingerprint({ code: 'destination_rejected' }), fingerprint({ code: 'retries_exhausted' }));
    assert.match(fingerprint({ since: '2026-07-01T00:00:00Z' }) ?? '', /^[0-9a-f]{10}$/);
  });
});
