import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { FirestorePort } from '../../../connectors/firestore/client.js';
import { firestoreConfigSchema, type FirestoreConfig } from '../../../connectors/firestore/config.js';
import { createFirestoreDestination } from '../../../connectors/firestore/destination.js';
import { documentToEvent, type FirestoreDocument } from '../../../connectors/firestore/encode.js';
import { firestoreConnector } from '../../../connectors/firestore/index.js';
import type { ConnectorContext, Destination, RecordOutcome } from '../../../src/connector/contract.js';
import type { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { startFirestoreEmulator } from '../../support/firestore-emulator.js';
import { makeActivityBatch, makeDailyRecord, makeRecord, makeUserEventRecord } from '../../support/records.js';
import { useServer } from '../../support/server-process.js';

/**
 * The Firestore destination against Google's Firestore emulator (one per file; one project id
 * per test, so every test starts from an empty database).
 */

const emulator = useServer(() => startFirestoreEmulator());
const context: ConnectorContext = { tenant: 'acme', destination: 'app-db', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;
const opened: Destination[] = [];
after(async () => {
  for (const destination of opened) await destination.close();
});

interface Real {
  config: FirestoreConfig;
  destination: Destination;
  /** Sizes of the commits and transactions the real client was asked for. */
  commits: number[];
}

function real(projectId: string, overrides: Record<string, unknown> = {}): Real {
  const config = firestoreConfigSchema.parse({ projectId, emulatorHost: emulator.current.host, ...overrides });
  const client = firestoreConnector.createClient(config, context);
  const commits: number[] = [];
  const recording: FirestorePort = {
    commit: (writes) => (commits.push(writes.length), client.commit(writes)),
    commitNewest: (writes) => (commits.push(writes.length), client.commitNewest(writes)),
    close: () => client.close(),
  };
  const destination = createFirestoreDestination(config, recording, context);
  opened.push(destination);
  return { config, destination, commits };
}

async function readDocument(projectId: string, path: string, databaseId?: string): Promise<FirestoreDocument | undefined> {
  const snapshot = await emulator.current.reader(projectId, databaseId).doc(path).get();
  return snapshot.data();
}

async function countDocuments(projectId: string, collectionPath: string): Promise<number> {
  const result = await emulator.current.reader(projectId).collection(collectionPath).count().get();
  return result.data().count;
}

/** Every record document under terra/2022-03-16, by path (check documents left out). */
async function snapshotAll(projectId: string): Promise<Map<string, unknown>> {
  const version = emulator.current.reader(projectId).doc('terra/2022-03-16');
  const all = new Map<string, unknown>();
  for (const collection of await version.listCollections()) {
    if (collection.id === '_terra_fanout_checks') continue;
    for (const document of (await collection.get()).docs) all.set(document.ref.path, document.data());
  }
  return all;
}

function failure(outcome: RecordOutcome | undefined): FanoutError {
  assert.ok(outcome !== undefined && !outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

function activity(userId: string, minute: number, extra: Record<string, unknown> = {}, orderingTimestampMs?: number): TerraRecord {
  const start = new Date(Date.UTC(2026, 6, 1, 6, minute, 0)).toISOString();
  const item = { metadata: { summary_id: `${userId}-${minute}`, start_time: start, end_time: start, type: 1, upload_type: 1 }, ...extra };
  const record = makeRecord({ userId, summaryId: `${userId}-${minute}`, startTime: start, item });
  return orderingTimestampMs === undefined ? record : { ...record, orderingTimestampMs };
}

const mixedBatch = (): TerraRecord[] => [...makeActivityBatch(3, ['user-a', 'user-b']), makeDailyRecord({ userId: 'user-a' }), makeUserEventRecord({ userId: 'user-c' })];

for (const newestWins of [true, false]) {
  describe(`firestore destination on the emulator (newestWins: ${newestWins})`, () => {
    it('check() passes; every record lands at locate() as its item plus user, and reads back as its Terra event', async () => {
      const projectId = emulator.current.projectId();
      const { config, destination } = real(projectId, { newestWins });
      await destination.check();
      const batch = mixedBatch();
      assert.deepEqual(await destination.send(batch, signal), batch.map(() => ({ ok: true })));
      for (const record of batch) {
        const stored = await readDocument(projectId, firestoreConnector.locate(config, record, 'acme'));
        assert.ok(stored !== undefined, `${record.type} stored at its location`);
        assert.deepEqual(documentToEvent(stored), record.event, `${record.type} is the record's event`);
        assert.equal((stored['_terra'] as Record<string, unknown>)['identity'], record.identity);
      }
      assert.ok((await readDocument(projectId, 'terra/2022-03-16/_terra_fanout_checks/acme.app-db.json')) !== undefined, 'the check document');
      await destination.close();
      await destination.close();
    });

    it('a replay leaves document counts and contents unchanged', async () => {
      const projectId = emulator.current.projectId();
      const { destination } = real(projectId, { newestWins });
      const batch = [...makeActivityBatch(40, ['user-a', 'user-b', 'user-c']), makeDailyRecord({ userId: 'user-a' }), makeUserEventRecord({ userId: 'user-c' })];
      await destination.send(batch, signal);
      const before = await snapshotAll(projectId);
      assert.equal(await countDocuments(projectId, 'terra/2022-03-16/activity'), 40);
      const again = await destination.send(batch, signal);
      assert.ok(again.every((outcome) => outcome.ok));
      assert.equal(await countDocuments(projectId, 'terra/2022-03-16/activity'), 40);
      assert.equal(await countDocuments(projectId, 'terra/2022-03-16/daily'), 1);
      assert.equal(await countDocuments(projectId, 'terra/2022-03-16/user_events'), 1);
      assert.deepEqual(await snapshotAll(projectId), before);
    });

    it('a document Firestore refuses fails alone; the others land', async () => {
      const projectId = emulator.current.projectId();
      const { config, destination } = real(projectId, { newestWins });
      const batch = Array.from({ length: 30 }, (_, minute) => activity('user-a', minute));
      batch[4] = activity('user-a', 4, { data_enrichment: { strain_contributors: { __reserved__: 1 } } });
      batch[11] = activity('user-a', 11, { heart_rate_data: { detailed: { hr_samples: 'x'.repeat(1_100_000) } } });
      batch[20] = activity('user-a', 20, { polyline: [[51.5, -0.12], [51.6, -0.13]] });
      const outcomes = await destination.send(batch, signal);
      const refused = failure(outcomes[4]);
      assert.equal(refused.code, 'destination_rejected');
      assert.equal(refused.retryable, false);
      assert.match(refused.message, /__reserved__/, 'the server says what is wrong');
      assert.equal(failure(outcomes[11]).code, 'destination_record_too_large');
      assert.equal(outcomes.filter((outcome) => outcome.ok).length, 28);
      assert.equal(await countDocuments(projectId, 'terra/2022-03-16/activity'), 28);
      const polyline = await readDocument(projectId, firestoreConnector.locate(config, batch[20] ?? makeRecord(), 'acme'));
      assert.deepEqual(polyline?.['polyline'], ['[51.5,-0.12]', '[51.6,-0.13]'], 'arrays in arrays are kept as JSON text');
    });
  });
}

describe('firestore batching on the emulator', () => {
  it('a send over 500 records is split into commits of at most 500', async () => {
    const projectId = emulator.current.projectId();
    const { destination, commits } = real(projectId);
    const batch = makeActivityBatch(1201, ['user-a', 'user-b', 'user-c', 'user-d']);
    const outcomes = await destination.send(batch, signal);
    assert.equal(outcomes.filter((outcome) => outcome.ok).length, 1201);
    assert.deepEqual([...commits].sort((a, b) => b - a), [500, 500, 201]);
    assert.equal(await countDocuments(projectId, 'terra/2022-03-16/activity'), 1201);
  });
});

describe('firestore newest wins on the emulator', () => {
  it('an older resend does not overwrite a newer document, alone, in one batch, or racing from another replica', async () => {
    const projectId = emulator.current.projectId();
    const { config, destination } = real(projectId);
    const replica = real(projectId).destination;
    const version = (minute: number, meters: number, at: number): TerraRecord => activity('user-a', minute, { distance_data: { summary: { distance_meters: meters } } }, at);
    const metersAt = async (minute: number): Promise<unknown> => {
      const stored = await readDocument(projectId, firestoreConnector.locate(config, version(minute, 0, 0), 'acme'));
      return (stored?.['distance_data'] as { summary: { distance_meters: number } } | undefined)?.summary.distance_meters;
    };

    await destination.send([version(0, 9000, 2_000)], signal);
    assert.deepEqual(await destination.send([version(0, 1000, 1_000)], signal), [{ ok: true }], 'settled, not failed');
    assert.equal(await metersAt(0), 9000);
    await destination.send([version(0, 9500, 2_000)], signal);
    assert.equal(await metersAt(0), 9500, 'the same ordering timestamp rewrites (a replay)');

    await destination.send([version(1, 1000, 1_000), version(1, 9000, 2_000), version(1, 1500, 1_500)], signal);
    assert.equal(await metersAt(1), 9000, 'within one batch');

    const minutes = Array.from({ length: 30 }, (_, index) => index + 2);
    const [fromOld, fromNew] = await Promise.all([
      replica.send(minutes.map((minute) => version(minute, 1000, 1_000)), signal),
      destination.send(minutes.map((minute) => version(minute, 9000, 2_000)), signal),
    ]);
    assert.ok([...fromOld, ...fromNew].every((outcome) => outcome.ok), 'contention is retried inside the transaction');
    for (const minute of minutes) assert.equal(await metersAt(minute), 9000, `minute ${minute}`);
  });

  it('without newestWins the last write wins, as at Terra', async () => {
    const projectId = emulator.current.projectId();
    const { config, destination } = real(projectId, { newestWins: false });
    const newer = activity('user-a', 0, { distance_data: { summary: { distance_meters: 9000 } } }, 2_000);
    const older = activity('user-a', 0, { distance_data: { summary: { distance_meters: 1000 } } }, 1_000);
    await destination.send([newer], signal);
    await destination.send([older], signal);
    const stored = await readDocument(projectId, firestoreConnector.locate(config, older, 'acme'));
    assert.deepEqual(stored?.['distance_data'], { summary: { distance_meters: 1000 } });
  });
});

describe('firestore layout on the emulator', () => {
  it("documents land at Terra's places with the user object; root, version and database are configurable", async () => {
    const projectId = emulator.current.projectId();
    const { destination } = real(projectId);
    const record = makeRecord({ userId: 'user-a' });
    await destination.send([record, makeUserEventRecord({ userId: 'user-a' })], signal);
    const stored = await readDocument(projectId, 'terra/2022-03-16/activity/user-a-2026-07-01T06:04:11Z.json');
    assert.deepEqual(stored?.['user'], record.event['user']);
    assert.deepEqual(stored?.['metadata'], (record.item as Record<string, unknown>)['metadata']);
    const auth = await readDocument(projectId, 'terra/2022-03-16/user_events/user-a-2026-07-01T08:00:00Z.json');
    assert.equal(auth?.['type'], 'auth');
    assert.equal((auth?.['user'] as Record<string, unknown> | undefined)?.['user_id'], 'user-a');
    const collections = await emulator.current.reader(projectId).doc('terra/2022-03-16').listCollections();
    assert.deepEqual(collections.map((collection) => collection.id).sort(), ['activity', 'user_events']);

    const custom = real(projectId, { rootCollection: 'health', versionDocument: 'prod', databaseId: 'terra-db' }).destination;
    await custom.check();
    await custom.send([record], signal);
    assert.ok((await readDocument(projectId, 'health/prod/activity/user-a-2026-07-01T06:04:11Z.json', 'terra-db')) !== undefined);
    assert.equal(await readDocument(projectId, 'health/prod/activity/user-a-2026-07-01T06:04:11Z.json'), undefined, 'not in the default database');
  });

  it('what a document keeps of Terra\'s JSON, as the README says: integers to 2^53 as int64, beyond as doubles; 1000.0 as 1000; -0.0 as a double; escapes decoded', async () => {
    const projectId = emulator.current.projectId();
    const { destination } = real(projectId);
    const base = makeRecord({ userId: 'user-bytes' });
    const itemText = JSON.stringify(base.item ?? {}).replace(/^\{/, '{"big_id": 12345678901234567890, "safe_id": 9007199254740991, "distance": 1000.0, "zero": -0.0, "name": "caf\\u00e9", ');
    const body = `{"type": "activity", "user": ${JSON.stringify(base.event['user'])}, "data": [${itemText}], "version": "2022-03-16"}`;
    const event = JSON.parse(body) as { data: Array<Record<string, unknown>> };
    const record: TerraRecord = { ...base, body: Buffer.from(body), item: event.data[0] ?? {}, event };
    assert.deepEqual(await destination.send([record], signal), [{ ok: true }]);
    // The emulator's REST API shows each value's Firestore type.
    const path = 'terra/2022-03-16/activity/user-bytes-2026-07-01T06:04:11Z.json';
    const response = await fetch(`http://${emulator.current.host}/v1/projects/${projectId}/databases/(default)/documents/${path}`, { headers: { Authorization: 'Bearer owner' } });
    const stored = (await response.json()) as { fields: Record<string, Record<string, unknown>> };
    assert.deepEqual(stored.fields['big_id'], { doubleValue: 12345678901234567000 }, 'beyond 2^53: a double, digits lost');
    assert.deepEqual(stored.fields['safe_id'], { integerValue: '9007199254740991' }, 'up to 2^53: int64');
    assert.deepEqual(stored.fields['distance'], { integerValue: '1000' }, '1000.0 is stored as the integer 1000');
    assert.deepEqual(stored.fields['zero'], { doubleValue: -0 }, '-0.0 is stored as the double -0');
    assert.deepEqual(stored.fields['name'], { stringValue: 'café' }, 'escapes are decoded');
  });
});
