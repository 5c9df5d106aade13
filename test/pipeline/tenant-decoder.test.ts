import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InboundMessage } from '../../src/kafka/kafka-client.js';
import { selectRecords, type DestinationFilter } from '../../src/pipeline/read-message.js';
import { TenantDecoder, type DecoderSettings } from '../../src/pipeline/tenant-decoder.js';
import { validFixture } from '../terra/support/terra-fixtures.js';

function message(value: Buffer | string, offset = 0, partition = 0, timestampMs = 1_782_000_000_000): InboundMessage {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return { topic: 'terra.events', partition, offset: String(offset), timestampMs, key: null, value: bytes, headers: {}, sizeBytes: bytes.length };
}

function decoder(overrides: Partial<DecoderSettings> = {}): TenantDecoder {
  return new TenantDecoder({
    maxMessageBytes: 1024 * 1024,
    s3Payload: { allowedHosts: ['127.0.0.1:9'], allowHttp: true, maxBytes: 1024 * 1024, timeoutMs: 1000, maxExpiresInSeconds: 3600 },
    cacheBytes: 1024 * 1024,
    ...overrides,
  });
}

const everything: DestinationFilter = { unit: 'record', events: null, providers: null };

describe('TenantDecoder', () => {
  it('decodes a message once for every lane of the tenant and shares its records', () => {
    const tenant = decoder();
    const first = tenant.decode(message(validFixture('activity'), 5));
    const again = tenant.decode(message(validFixture('activity'), 5));
    assert.equal(again, first, 'the second lane gets the same decode');
    assert.equal(tenant.hits, 1);
    assert.equal(tenant.misses, 1);
    assert.equal(first.records('record'), again.records('record'), 'records are cut once per unit');
    assert.notEqual(first.records('event'), first.records('record'));
  });

  it('never returns another message\'s decode for the same position (a recreated topic)', () => {
    const tenant = decoder();
    tenant.decode(message(validFixture('activity'), 5));
    const other = tenant.decode(message(validFixture('sleep'), 5, 0, 1_782_000_000_999));
    assert.equal(other.type, 'sleep');
  });

  it('keeps its estimated bytes within cacheBytes, dropping the oldest first', () => {
    const size = validFixture('activity').length;
    const tenant = decoder({ cacheBytes: 3 * (size * 3) });
    for (let offset = 0; offset < 20; offset += 1) tenant.decode(message(validFixture('activity'), offset));
    assert.ok(tenant.cachedBytes <= 3 * size * 3, `${tenant.cachedBytes} bytes cached`);
    tenant.decode(message(validFixture('activity'), 19));
    assert.equal(tenant.hits, 1, 'the newest is still there');
    tenant.decode(message(validFixture('activity'), 0));
    assert.equal(tenant.misses, 21, 'the oldest was dropped');
  });

  it('drops an entry once every other lane has taken it, so it holds only the distance between the lanes', () => {
    const tenant = decoder();
    tenant.setReaders(3);
    const first = tenant.decode(message(validFixture('activity'), 5));
    assert.ok(tenant.cachedBytes > 0);
    assert.equal(tenant.decode(message(validFixture('activity'), 5)), first);
    assert.equal(tenant.decode(message(validFixture('activity'), 5)), first, 'the third lane still finds it');
    assert.equal(tenant.cachedBytes, 0, 'all three lanes have it: nothing is kept');
    assert.notEqual(tenant.decode(message(validFixture('activity'), 5)), first, 'a fourth read (a lane reading it again) decodes anew');
    assert.deepEqual([tenant.hits, tenant.misses], [2, 2]);
  });

  it('keeps what a lane has not taken while the others move on, and still drops the rest', () => {
    const tenant = decoder();
    const skipped = tenant.decode(message(validFixture('sleep'), 0));
    const held = tenant.cachedBytes;
    for (let offset = 1; offset <= 3000; offset += 1) {
      tenant.decode(message(validFixture('daily'), offset));
      tenant.decode(message(validFixture('daily'), offset));
    }
    assert.equal(tenant.cachedBytes, held, 'only the entry the second lane never took is held');
    assert.equal(tenant.decode(message(validFixture('sleep'), 0)), skipped);
    assert.equal(tenant.hits, 3001);
  });

  it('with cacheBytes 0, decodes every time', () => {
    const tenant = decoder({ cacheBytes: 0 });
    assert.notEqual(tenant.decode(message(validFixture('daily'))), tenant.decode(message(validFixture('daily'))));
  });
});

describe('selectRecords', () => {
  it('filters on the envelope type before any schema verdict', () => {
    const tenant = decoder();
    const broken = tenant.decode(message('{"type":"sleep","user":{"provider":"OURA"},"data":[{"not":"a sleep"}]}'));
    assert.equal(broken.error?.code, 'schema_violation');
    assert.deepEqual(selectRecords(broken, { ...everything, events: new Set(['activity']) }), { kind: 'filtered', reason: 'event_type' });
    const selected = selectRecords(broken, everything);
    assert.equal(selected.kind, 'rejected');
    assert.equal(selected.kind === 'rejected' ? selected.error.code : '', 'schema_violation', 'a destination that wants sleep parks it');
  });

  it('filters an unknown type out of a destination that lists its types, and parks it elsewhere', () => {
    const unknown = decoder().decode(message('{"type":"made_up","user":{}}'));
    assert.deepEqual(selectRecords(unknown, { ...everything, events: new Set(['activity']) }), { kind: 'filtered', reason: 'event_type' });
    assert.equal(selectRecords(unknown, everything).kind, 'rejected');
  });

  it('parks what has no readable type (malformed JSON, bad signature) whatever the filter', () => {
    const malformed = decoder().decode(message('{"type":"activity",'));
    assert.equal(malformed.type, null);
    assert.equal(selectRecords(malformed, { ...everything, events: new Set(['sleep']) }).kind, 'rejected');
  });

  it('says why nothing is delivered: empty data, or no record from a wanted provider', () => {
    const empty = decoder().decode(message('{"type":"activity","user":{"user_id":"u","provider":"GARMIN","reference_id":null,"scopes":null,"active":true,"last_webhook_update":null},"data":[],"version":"2022-03-16"}'));
    assert.deepEqual(selectRecords(empty, everything), { kind: 'filtered', reason: 'empty' });
    const activity = decoder().decode(message(validFixture('activity')));
    assert.deepEqual(selectRecords(activity, { ...everything, providers: new Set(['NOBODY']) }), { kind: 'filtered', reason: 'provider' });
  });

  it('asks for a fetch for a pointer, and follows it once through the decoder', async () => {
    const body = validFixture('daily');
    const fetches: string[] = [];
    const fakeFetch: typeof fetch = async (input) => {
      fetches.push(String(input));
      return new Response(body, { status: 200 });
    };
    const tenant = decoder({ fetch: fakeFetch });
    const pointer = message(JSON.stringify({ type: 's3_payload', status: 'success', url: 'http://127.0.0.1:9/payload', expires_in: 600 }), 7, 0, Date.now());
    const decoded = tenant.decode(pointer);
    assert.deepEqual(selectRecords(decoded, everything), { kind: 'fetch' });
    const [one, two] = await Promise.all([tenant.resolve(pointer, decoded), tenant.resolve(pointer, decoded)]);
    assert.equal(one, two, 'two lanes share one fetch');
    assert.equal(fetches.length, 1);
    assert.equal(one.type, 'daily');
    assert.equal(one.viaPointer, true);
    assert.equal(tenant.decode(pointer), one, 'the resolved event replaces the pointer in the cache');
  });
});
