import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { connectorRegistry } from '../../connectors/registry.js';
import type { ConnectorContext } from '../../src/connector/contract.js';
import type { InboundMessage } from '../../src/kafka/kafka-client.js';
import { TenantDecoder } from '../../src/pipeline/tenant-decoder.js';
import type { TerraRecord } from '../../src/records/record.js';

/**
 * Terra's bytes are Terra's: a multi-item event with numbers and strings that a JSON round trip
 * would change (big integers, trailing zeros, negative zero, escapes, odd spacing) goes through
 * the real decode and explode path and then through every connector that stores a body; what each
 * stores must carry those bytes exactly. Connectors that store parsed values instead say in their
 * README what their store cannot keep (see connectors/<type>/README.md).
 */

/** Connectors whose stored payload is the record body, byte for byte. */
const storesBody = new Set(['file', 'webhook', 's3', 'gcs', 'azure_blob', 'sqs', 'kafka']);
/** Connectors that store parsed documents or rows (their READMEs say what the store cannot keep). */
const storesParsed = new Set(['sql', 'supabase', 'mongodb', 'firestore', 'fhir']);

const user = '{"user_id":"bytes-user","provider":"GARMIN","reference_id":"ref","scopes":null,"active":true,"last_webhook_update":null}';
const items = [
  '{ "metadata" : {"summary_id":"bytes-1","start_time":"2026-07-01T07:00:00.000000+01:00","end_time":"2026-07-01T08:00:00.000000+01:00","type":1,"upload_type":1,"name":"caf\\u00e9 \\ud83d\\ude00 \\"quoted\\""},\n   "calories_data" : {"total_burned_calories": 1000.0, "net_activity_calories": -0.0}, "vendor_big": 12345678901234567890, "ratio": 1.50e+2 }',
  '{"metadata":{"summary_id":"bytes-2","start_time":"2026-07-02T07:00:00Z","end_time":"2026-07-02T08:00:00Z","type":1,"upload_type":1},"vendor_big":-98765432109876543210,"tiny":1E-7,"list":[ 1.0 ,2.00,\t3 ]}',
];
const message = `{\n  "type":  "activity",\r\n  "user": ${user},\n  "data": [\n    ${items.join(' ,\n    ')}\n  ] ,\t"version":"2022-03-16"\n}\n`;
/** What every stored body must hold for its item, exactly as Terra wrote it. */
const exactTexts = [
  ['"name":"caf\\u00e9 \\ud83d\\ude00 \\"quoted\\""', '"total_burned_calories": 1000.0', '"net_activity_calories": -0.0}', '"vendor_big": 12345678901234567890', '"ratio": 1.50e+2 }', '"calories_data" : {'],
  ['"vendor_big":-98765432109876543210', '"tiny":1E-7', '"list":[ 1.0 ,2.00,\t3 ]'],
];

function decodeRecords(unit: 'record' | 'event'): TerraRecord[] {
  const decoder = new TenantDecoder({ maxMessageBytes: 1024 * 1024, s3Payload: { allowedHosts: [], allowHttp: false, maxBytes: 1024, timeoutMs: 1000, maxExpiresInSeconds: 3600 }, cacheBytes: 0 });
  const value = Buffer.from(message);
  const inbound: InboundMessage = { topic: 'terra.events', partition: 0, offset: '42', timestampMs: Date.parse('2026-07-02T09:00:00Z'), key: null, value, headers: {}, sizeBytes: value.length };
  const records = decoder.decode(inbound).records(unit);
  assert.ok(Array.isArray(records), 'the event decodes');
  return records;
}

const context: ConnectorContext = { tenant: 'acme', destination: 'bytes', logger: pino({ level: 'silent' }) };
const workdirs: string[] = [];
after(async () => {
  for (const dir of workdirs) await rm(dir, { recursive: true, force: true });
});

describe("Terra's bytes through every connector", () => {
  it('every registered connector is either a body store (checked here) or a parsed store (documented)', () => {
    for (const { type } of connectorRegistry) assert.ok(storesBody.has(type) || storesParsed.has(type), `${type}: add it to storesBody (and this test checks it) or storesParsed`);
  });

  it('the records cut from a multi-item event keep every byte of their item and of the envelope', () => {
    const records = decodeRecords('record');
    assert.equal(records.length, 2);
    records.forEach((record, index) => {
      const body = record.body.toString('utf8');
      assert.equal(body, message.replace(/\[\n {4}[\s\S]*\n {2}\]/, `[${items[index]}]`), `record ${index}: envelope bytes around the item's own bytes`);
    });
  });

  for (const definition of connectorRegistry.filter(({ type }) => storesBody.has(type))) {
    it(`${definition.type} stores each record's Terra bytes exactly`, async () => {
      const workdir = await mkdtemp(join(tmpdir(), `terra-fanout-bytes-${definition.type}-`));
      workdirs.push(workdir);
      const config = definition.contract.exampleConfig(workdir);
      const memory = definition.contract.memoryPort(config);
      const destination = definition.createDestination(config, memory.client, context);
      const unit = definition.unit(config);
      const records = decodeRecords(unit);
      const outcomes = await destination.send(records, new AbortController().signal);
      assert.ok(outcomes.every((outcome) => outcome.ok), JSON.stringify(outcomes));
      for (const record of records) {
        const stored = memory.stored().get(definition.locate(config, record, 'acme'));
        assert.ok(stored !== undefined, `${definition.type}: record ${record.identity} stored`);
        assert.ok(stored.equals(record.body), `${definition.type}: the stored bytes are the record body`);
        const texts = unit === 'event' ? exactTexts.flat() : (exactTexts[record.itemIndex ?? 0] ?? []);
        for (const text of texts) assert.ok(stored.toString('utf8').includes(text), `${definition.type}: ${JSON.stringify(text)} kept exactly`);
      }
      await destination.close();
    });
  }
});
