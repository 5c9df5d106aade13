import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findConnector } from '../../connectors/registry.js';
import { formatProblem, loadTenantFile } from '../../src/config/load-config.js';
import type { TenantConfig } from '../../src/config/tenant-schema.js';
import type { InboundMessage } from '../../src/kafka/kafka-client.js';
import { createMessageReader } from '../../src/pipeline/read-message.js';
import type { TerraRecord } from '../../src/records/record.js';
import { idKey, recordIdentity } from '../../src/terra/identity.js';
import { isPlainObject } from '../../src/json/json-value.js';
import { validFixture } from './support/terra-fixtures.js';

const examplesDir = fileURLToPath(new URL('../../../config/examples/', import.meta.url));

function message(value: Buffer, offset: string, timestampMs: number, headers: Record<string, string> = {}): InboundMessage {
  return {
    topic: 'terra.events',
    partition: 1,
    offset,
    timestampMs,
    key: null,
    value,
    headers: Object.fromEntries(Object.entries(headers).map(([name, text]) => [name, [Buffer.from(text)]])),
    sizeBytes: value.length,
  };
}

async function recordsOf(input: InboundMessage, events: ReadonlySet<string> | null = null): Promise<TerraRecord[]> {
  const read = createMessageReader({
    maxMessageBytes: 1024 * 1024,
    s3Payload: { allowedHosts: [], allowHttp: false, maxBytes: 1024, timeoutMs: 1000, maxExpiresInSeconds: 3600 },
    unit: 'record',
    events,
    providers: null,
  });
  const outcome = await read(input);
  assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
  return outcome.records;
}

function only(records: readonly TerraRecord[]): TerraRecord {
  assert.equal(records.length, 1);
  const [record] = records;
  assert.ok(record !== undefined);
  return record;
}

interface ExampleDestination {
  where: string;
  locate: (record: TerraRecord) => string;
  /** The destination's config sets its own key layout (keyTemplate, documentIdTemplate). */
  templated: boolean;
}

/** Every destination of every example tenant file, with how its connector locates a record. */
async function exampleDestinations(): Promise<ExampleDestination[]> {
  const found: ExampleDestination[] = [];
  for (const file of readdirSync(examplesDir).filter((name) => name.endsWith('.yaml')).sort()) {
    const loaded = await loadTenantFile(join(examplesDir, file), {});
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.map(formatProblem).join('\n'));
    const tenant: TenantConfig = loaded.value;
    for (const destination of tenant.destinations) {
      const connector = findConnector(destination.type);
      assert.ok(connector !== undefined);
      const config: unknown = destination.config;
      const templated = isPlainObject(config) && (config['keyTemplate'] !== undefined || config['documentIdTemplate'] !== undefined);
      found.push({ where: `${file} ${destination.name}`, locate: (record) => connector.locate(destination.config, record, tenant.tenant), templated });
    }
  }
  return found;
}

/** Batch layouts (ndjson files) are named by the Kafka position, not by the record. */
function keyedByRecord(destination: ExampleDestination, record: TerraRecord): boolean {
  const moved = { ...record, source: { ...record.source, offset: String(Number(record.source.offset) + 1) } };
  return destination.locate(moved) === destination.locate(record);
}

describe('lab reports', () => {
  const completed = validFixture('lab_report.completed');
  const failed = validFixture('lab_report.failed');

  it('are one non-data record each, keyed by event_id and timed by occurred_at', async () => {
    const record = only(await recordsOf(message(completed, '10', Date.parse('2026-07-02T08:00:00Z'))));
    assert.equal(record.type, 'lab_report.completed');
    assert.equal(record.kind, 'user');
    assert.equal(record.userId, null);
    assert.equal(record.provider, null);
    assert.equal(record.referenceId, 'your-user-123');
    assert.equal(record.naturalKey, 'event_id=evt_4a2b8c1d-3f9e-4c0a-8b21-9d6e5f2a1c7b');
    assert.equal(record.identity, recordIdentity('lab_report.completed', null, idKey('event_id', 'evt_4a2b8c1d-3f9e-4c0a-8b21-9d6e5f2a1c7b')));
    assert.equal(record.eventTime, '2026-07-01T09:12:33.000Z', 'occurred_at, not the Kafka timestamp');
    assert.equal(record.version, null);
    assert.equal(record.body, completed, 'the bytes as received');
    const failure = only(await recordsOf(message(failed, '11', Date.parse('2026-07-02T08:00:00Z'))));
    assert.equal(failure.type, 'lab_report.failed');
    assert.equal(failure.eventTime, '2026-07-01T09:14:02.518Z');
  });

  it('a redelivery (same event_id, another Kafka message) lands in the same place in every destination', async () => {
    const first = only(await recordsOf(message(completed, '10', Date.parse('2026-07-01T09:12:34Z'))));
    const again = only(await recordsOf(message(completed, '991', Date.parse('2026-07-01T10:30:00Z'), { 'x-terra-trace-id': 'resend-1', 'x-terra-ordering-timestamp': '1782900000000' })));
    assert.equal(again.identity, first.identity);
    const keyed = (await exampleDestinations()).filter((destination) => keyedByRecord(destination, first));
    assert.ok(keyed.length >= 10, `only ${keyed.length} destinations key by record`);
    for (const { where, locate } of keyed) assert.equal(locate(again), locate(first), where);
  });

  it('two reports of one upload (same occurred_at, another event_id) never share a place', async () => {
    const sibling = Buffer.from(completed.toString('utf8').replace('evt_4a2b8c1d-3f9e-4c0a-8b21-9d6e5f2a1c7b', 'evt_00000000-3f9e-4c0a-8b21-9d6e5f2a1c7b'));
    const a = only(await recordsOf(message(completed, '10', 1)));
    const b = only(await recordsOf(message(sibling, '11', 1)));
    assert.notEqual(a.identity, b.identity);
    // A template the user wrote decides its own uniqueness (the READMEs say to include {identity}).
    const keyed = (await exampleDestinations()).filter((destination) => !destination.templated && keyedByRecord(destination, a));
    assert.ok(keyed.length >= 10, `only ${keyed.length} destinations use the default layout`);
    for (const { where, locate } of keyed) assert.notEqual(locate(a), locate(b), where);
  });

  it('are laid out like the other non-data events', async () => {
    const record = only(await recordsOf(message(completed, '10', 1)));
    const locations = new Map<string, string>();
    for (const { where, locate } of await exampleDestinations()) locations.set(where, locate(record));
    const id = record.identity;
    assert.equal(locations.get('file.yaml everything'), `2022-03-16/lab_report.completed/${id}-2026-07-01T09:12:33Z.json`);
    assert.equal(locations.get('firestore.yaml app-db'), `terra/2022-03-16/user_events/${id}-2026-07-01T09:12:33Z.json`);
    assert.equal(locations.get('mongodb.yaml app-db'), `terra.user_events/${JSON.stringify({ user_id: id, event_time: '2026-07-01T09:12:33.000Z' })}`);
    assert.match(locations.get('sql-postgres.yaml warehouse') ?? '', new RegExp(`terra_other_payloads#${id}$`));
    assert.match(locations.get('kafka.yaml services') ?? '', /^terra\.lab_report\.completed\//);
  });

  it('events: lab_report selects both; the exact type selects one', async () => {
    assert.equal((await recordsOf(message(completed, '10', 1), new Set(['lab_report.completed', 'lab_report.failed']))).length, 1);
    assert.equal((await recordsOf(message(failed, '11', 1), new Set(['lab_report.completed']))).length, 0);
    assert.equal((await recordsOf(message(completed, '12', 1), new Set(['activity']))).length, 0);
  });
});
