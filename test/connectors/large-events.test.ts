import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { connectorRegistry } from '../../connectors/registry.js';
import type { ConnectorContext } from '../../src/connector/contract.js';
import type { InboundMessage } from '../../src/kafka/kafka-client.js';
import { applyFormat } from '../../src/formats/apply-format.js';
import type { FormatOptions } from '../../src/formats/format.js';
import { formats } from '../../src/formats/formats.js';
import { TenantDecoder } from '../../src/pipeline/tenant-decoder.js';
import type { DeliveryUnit, SourcePosition, TerraRecord } from '../../src/records/record.js';
import { decodeEvent } from '../../src/terra/decode-event.js';
import { explodeEvent } from '../../src/terra/explode-event.js';

/**
 * A large event is decoded in parts (src/terra/decode-large-event.ts): its records hold the bytes
 * and the facts, and parse their own bytes when a connector reads the values. Every connector must
 * store exactly what it stores for the same event decoded whole, parsed stores (SQL rows, MongoDB
 * and Firestore documents, FHIR resources) included.
 */

const timestampMs = Date.parse('2026-07-02T09:00:00Z');
const source: SourcePosition = { topic: 'terra.events', partition: 0, offset: '42', timestampMs, headers: {} };

function largeActivity(): Buffer {
  const item = (n: number): Record<string, unknown> => ({
    metadata: { summary_id: `large-${n}`, start_time: '2026-07-01T07:00:00Z', end_time: '2026-07-01T08:00:00Z', type: 1, upload_type: 1, name: 'Long ride' },
    heart_rate_data: {
      summary: { avg_hr_bpm: 131, max_hr_bpm: 171 },
      detailed: { hr_samples: Array.from({ length: 12_000 }, (_, i) => ({ timestamp: new Date(Date.parse('2026-07-01T07:00:00Z') + i * 300).toISOString(), bpm: 90 + (i % 80) })) },
    },
    distance_data: { summary: { distance_meters: 41_234.5 } },
  });
  return Buffer.from(JSON.stringify({ type: 'activity', user: { user_id: 'large-user', provider: 'GARMIN', reference_id: 'ref', scopes: null, active: true, last_webhook_update: null }, data: [item(1), item(2)], version: '2022-03-16' }));
}

const value = largeActivity();

function inParts(unit: DeliveryUnit): TerraRecord[] {
  const decoder = new TenantDecoder({ maxMessageBytes: 64 * 1024 * 1024, s3Payload: { allowedHosts: [], allowHttp: false, maxBytes: 1024, timeoutMs: 1000, maxExpiresInSeconds: 3600 }, cacheBytes: 0 });
  const inbound: InboundMessage = { ...source, key: null, value, headers: {}, sizeBytes: value.length };
  const decoded = decoder.decode(inbound);
  assert.equal(decoded.partial, true, 'the event is decoded in parts');
  const records = decoded.records(unit);
  assert.ok(Array.isArray(records));
  return records;
}

function whole(unit: DeliveryUnit): TerraRecord[] {
  const decoded = decodeEvent(value, { maxMessageBytes: 64 * 1024 * 1024, headers: {}, nowMs: timestampMs });
  assert.ok(decoded.ok && decoded.kind !== 'pointer' && decoded.partial === undefined);
  return explodeEvent(decoded.event, decoded.kind, decoded.body, source, unit);
}

const formatOptions: FormatOptions = { fhir: { identifierSystemBase: 'urn:terra-fanout', maxSampleObservations: 1000, bundleType: 'transaction' } };

/** The records as the lane hands them to the connector: through the format step when it writes only FHIR. */
function formatted(type: string, records: TerraRecord[]): TerraRecord[] {
  if (type !== 'fhir') return records;
  const result = applyFormat(records, formats.fhir, formatOptions);
  assert.ok(result.ok && result.kept.length === records.length);
  return result.kept;
}

const context: ConnectorContext = { tenant: 'acme', destination: 'large', logger: pino({ level: 'silent' }) };
const workdirs: string[] = [];
after(async () => {
  for (const dir of workdirs) await rm(dir, { recursive: true, force: true });
});

describe('large events decoded in parts, through every connector', () => {
  it('the event is over the 1 MiB split threshold', () => assert.ok(value.length > 1024 * 1024, `${value.length} bytes`));

  for (const definition of connectorRegistry) {
    it(`${definition.type} stores what it stores for the event decoded whole`, async () => {
      const stores: Array<ReadonlyMap<string, Buffer>> = [];
      for (const decode of [inParts, whole]) {
        const workdir = await mkdtemp(join(tmpdir(), `terra-fanout-large-${definition.type}-`));
        workdirs.push(workdir);
        const config = definition.contract.exampleConfig(workdir);
        const memory = definition.contract.memoryPort(config);
        const destination = definition.createDestination(config, memory.client, context);
        const outcomes = await destination.send(formatted(definition.type, decode(definition.unit(config))), new AbortController().signal);
        assert.ok(outcomes.every((outcome) => outcome.ok), JSON.stringify(outcomes));
        await destination.close();
        stores.push(memory.stored());
      }
      const [parts, full] = stores as [ReadonlyMap<string, Buffer>, ReadonlyMap<string, Buffer>];
      assert.ok(full.size > 0, 'something was stored');
      assert.deepEqual([...parts.keys()].sort(), [...full.keys()].sort());
      for (const [key, stored] of full) assert.ok(parts.get(key)?.equals(stored), `${definition.type}: ${key} stored the same`);
      const all = [...parts.values()].map((stored) => stored.toString('utf8')).join('\n');
      if (definition.type !== 'fhir') assert.ok(all.includes('2026-07-01T07:59:59.700Z'), `${definition.type}: the last sample was stored`);
    });
  }

  for (const format of [formats.fhir, formats.fit]) {
    it(`the ${format.name} format encodes a record decoded in parts as one decoded whole`, () => {
      const parts = applyFormat(inParts('record'), format, formatOptions);
      const full = applyFormat(whole('record'), format, formatOptions);
      assert.ok(parts.ok && full.ok && full.kept.length === 2);
      assert.equal(parts.kept.length, full.kept.length);
      parts.kept.forEach((record, index) => assert.ok(record.body.equals(full.kept[index]?.body ?? Buffer.alloc(0)), `${format.name} body ${index}`));
    });
  }
});
