import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { firestoreSettings, type FirestorePort } from '../../../connectors/firestore/client.js';
import { firestoreConfigSchema, type FirestoreConfig } from '../../../connectors/firestore/config.js';
import { classifyFirestoreError, createFirestoreDestination } from '../../../connectors/firestore/destination.js';
import {
  documentPath,
  documentToEvent,
  encodeDocument,
  encodeDocumentWrite,
  firestoreDocumentSize,
  replacesStored,
  type FirestoreDocument,
} from '../../../connectors/firestore/encode.js';
import { firestoreConnector } from '../../../connectors/firestore/index.js';
import { createMemoryFirestorePort } from '../../../connectors/firestore/memory-client.js';
import type { ConnectorContext, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { makeActivityBatch, makeAthleteRecord, makeDailyRecord, makeRecord, makeTeamsRecord, makeUserEventRecord } from '../../support/records.js';

const context: ConnectorContext = { tenant: 'acme', destination: 'app-db', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;
const serviceAccount = JSON.stringify({ client_email: 'fanout@p.iam.gserviceaccount.com', private_key: 'unit-test-private-key' });

function config(overrides: Record<string, unknown> = {}): FirestoreConfig {
  return firestoreConfigSchema.parse({ projectId: 'unit-project', emulatorHost: '127.0.0.1:8085', ...overrides });
}

function failure(outcome: RecordOutcome | undefined): FanoutError {
  assert.ok(outcome !== undefined && !outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

/** An activity whose item carries `extra` fields (and the given user, start time, ordering timestamp). */
function activity(userId: string, minute: number, extra: Record<string, unknown> = {}, orderingTimestampMs?: number): TerraRecord {
  const start = new Date(Date.UTC(2026, 6, 1, 6, minute, 0)).toISOString();
  const item = { metadata: { summary_id: `${userId}-${minute}`, start_time: start, end_time: start, type: 1, upload_type: 1 }, ...extra };
  const record = makeRecord({ userId, summaryId: `${userId}-${minute}`, startTime: start, item });
  return orderingTimestampMs === undefined ? record : { ...record, orderingTimestampMs };
}

describe('firestore config', () => {
  it('applies Terra-parity defaults', () => {
    const parsed = firestoreConfigSchema.parse({ projectId: 'my-app' });
    assert.deepEqual(parsed, {
      projectId: 'my-app',
      databaseId: '(default)',
      rootCollection: 'terra',
      versionDocument: '2022-03-16',
      newestWins: true,
      maxBatchWrites: 500,
      concurrency: 4,
      timeoutMs: 30_000,
    });
  });

  it('rejects what Firestore or the credentials rules cannot take, without echoing a key', () => {
    const rejects = (input: Record<string, unknown>): string => {
      const result = firestoreConfigSchema.safeParse({ projectId: 'my-app', ...input });
      assert.equal(result.success, false, JSON.stringify(input));
      return result.error?.message ?? '';
    };
    rejects({ maxBatchWrites: 501 });
    rejects({ rootCollection: 'a/b' });
    rejects({ rootCollection: '__terra__' });
    rejects({ versionDocument: '..' });
    rejects({ databaseId: 'Bad_Name' });
    rejects({ projectId: 'My Project' });
    rejects({ emulatorHost: 'http://127.0.0.1:8085' });
    rejects({ unknownField: true });
    rejects({ serviceAccountFile: '/k.json', serviceAccountJson: serviceAccount });
    rejects({ emulatorHost: '127.0.0.1:8085', serviceAccountFile: '/k.json' });
    const message = rejects({ serviceAccountJson: '{"client_email":"x@y","private_key_oops":"super-secret-value"}' });
    assert.ok(!message.includes('super-secret-value'), 'the key never appears in the problem');
    assert.equal(firestoreConfigSchema.safeParse({ projectId: 'my-app', serviceAccountJson: serviceAccount }).success, true);
  });

  it('builds SDK settings explicitly: emulator, key file, key JSON, application default credentials', () => {
    const fixed = { projectId: 'my-app', databaseId: '(default)', ignoreUndefinedProperties: true, preferRest: false, universeDomain: 'googleapis.com' };
    assert.deepEqual(firestoreSettings(config({ projectId: 'my-app' })), { ...fixed, host: '127.0.0.1:8085', ssl: false });
    const keyFile = join(mkdtempSync(join(tmpdir(), 'terra-fanout-firestore-key-')), 'key.json');
    writeFileSync(keyFile, serviceAccount);
    assert.deepEqual(firestoreSettings(firestoreConfigSchema.parse({ projectId: 'my-app', serviceAccountFile: keyFile })), {
      ...fixed,
      credentials: { client_email: 'fanout@p.iam.gserviceaccount.com', private_key: 'unit-test-private-key' },
    }, 'the key file is read by the connector, not left to the SDK');
    assert.throws(() => firestoreSettings(firestoreConfigSchema.parse({ projectId: 'my-app', serviceAccountFile: join(keyFile, 'missing.json') })), /cannot be read \(ENOTDIR\)/);
    assert.deepEqual(firestoreSettings(firestoreConfigSchema.parse({ projectId: 'my-app', serviceAccountJson: serviceAccount })), {
      ...fixed,
      credentials: { client_email: 'fanout@p.iam.gserviceaccount.com', private_key: 'unit-test-private-key' },
    });
    assert.deepEqual(firestoreSettings(firestoreConfigSchema.parse({ projectId: 'my-app', databaseId: 'terra' })), { ...fixed, databaseId: 'terra' });
  });
});

describe('firestore layout (Terra parity, spec section 4.8)', () => {
  it('puts each kind of record where Terra does', () => {
    const defaults = config();
    assert.equal(documentPath(defaults, makeRecord()), 'terra/2022-03-16/activity/user-1-2026-07-01T06:04:11Z.json');
    assert.equal(documentPath(defaults, makeDailyRecord()), 'terra/2022-03-16/daily/user-1-2026-06-30T23:00:00Z.json');
    assert.equal(documentPath(defaults, makeUserEventRecord()), 'terra/2022-03-16/user_events/user-1-2026-07-01T08:00:00Z.json');
    assert.equal(documentPath(defaults, makeUserEventRecord({ type: 'deauth' })), 'terra/2022-03-16/user_events/user-1-2026-07-01T08:00:00Z.json');
    assert.equal(documentPath(defaults, makeAthleteRecord()), 'terra/2022-03-16/athlete/user-1.json');
    const teams = makeTeamsRecord();
    assert.equal(documentPath(defaults, teams), `terra/2022-03-16/test.retrieved/${teams.identity}.json`);
    const noUser = makeUserEventRecord({ type: 'auth_cancelled', userId: null });
    assert.equal(documentPath(defaults, noUser), `terra/2022-03-16/user_events/${noUser.identity}-2026-07-01T08:00:00Z.json`);
    assert.equal(documentPath(defaults, makeRecord({ startTime: '2026-07-01T07:04:11.000000' })), 'terra/2022-03-16/activity/user-1-2026-07-01T07:04:11.json', 'local time kept');
  });

  it('keeps every value inside its own path segment; root and version are configurable', () => {
    const path = documentPath(config(), makeRecord({ userId: '../evil/user' }));
    assert.equal(path.split('/').length, 4);
    assert.equal(path, 'terra/2022-03-16/activity/__evil_user-2026-07-01T06:04:11Z.json');
    assert.equal(documentPath(config({ rootCollection: 'health', versionDocument: 'prod' }), makeRecord()), 'health/prod/activity/user-1-2026-07-01T06:04:11Z.json');
    assert.equal(firestoreConnector.locate(config(), makeRecord(), 'acme'), 'terra/2022-03-16/activity/user-1-2026-07-01T06:04:11Z.json');
  });

  it('documentIdTemplate chooses finer ids, one path segment, values sanitized', () => {
    const bySummary = config({ documentIdTemplate: '{user_id}-{summary_id}.json' });
    assert.equal(documentPath(bySummary, makeRecord()), 'terra/2022-03-16/activity/user-1-summary-1.json');
    assert.equal(documentPath(bySummary, makeRecord({ summaryId: 'a/../b' })), 'terra/2022-03-16/activity/user-1-a___b.json');
    assert.equal(documentPath(bySummary, makeUserEventRecord()), 'terra/2022-03-16/user_events/user-1-none.json', 'a missing value renders as none');
    const record = makeRecord();
    assert.equal(firestoreConnector.locate(config({ documentIdTemplate: '{tenant}.{identity}' }), record, 'acme'), `terra/2022-03-16/activity/acme.${record.identity}`);
    for (const documentIdTemplate of ['{user_id}/{summary_id}', '{nope}.json', '__{type}__', '{identity']) {
      assert.equal(firestoreConfigSchema.safeParse({ projectId: 'p', documentIdTemplate }).success, false, documentIdTemplate);
    }
  });
});

describe('firestore documents', () => {
  it('a data document is the item plus user plus _terra; a user event is the event plus _terra', () => {
    const record = { ...makeRecord(), orderingTimestampMs: 1_782_900_000_123 };
    const document = encodeDocument(record);
    const { _terra: meta, ...rest } = document;
    assert.deepEqual(rest, { ...record.item, user: record.event['user'] });
    assert.deepEqual(meta, {
      identity: record.identity,
      type: 'activity',
      version: '2022-03-16',
      natural_key: 'summary_id=summary-1',
      ordering_timestamp_ms: 1_782_900_000_123,
      trace_id: record.traceId,
      shape: 'item',
    });
    assert.deepEqual(Object.keys(document), ['metadata', 'distance_data', 'user', '_terra'], 'item fields first, then user, then _terra');

    const auth = makeUserEventRecord();
    const { _terra: authMeta, ...authFields } = encodeDocument(auth);
    assert.deepEqual(authFields, auth.event);
    assert.equal((authMeta as Record<string, unknown>)['shape'], 'event');

    const teams = encodeDocument(makeTeamsRecord());
    assert.deepEqual(teams['coach'], { coach_id: 'coach-1', provider: 'VALD' });
  });

  it('round-trips every record shape back to its Terra event', () => {
    for (const record of [makeRecord(), makeDailyRecord(), makeUserEventRecord(), makeAthleteRecord(), makeTeamsRecord()]) {
      assert.deepEqual(documentToEvent(encodeDocument(record)), record.event, record.type);
      assert.equal(JSON.stringify(documentToEvent(encodeDocument(record))), record.body.toString(), `${record.type} in Terra's key order`);
    }
  });

  it('stores an array inside an array as its JSON text, and leaves other arrays alone', () => {
    const record = activity('user-1', 0, { polyline: [[51.5, -0.12], [51.6, -0.13]], position_data: { start_pos_lat_lng_deg: [51.5, -0.12] } });
    const document = encodeDocument(record);
    assert.deepEqual(document['polyline'], ['[51.5,-0.12]', '[51.6,-0.13]']);
    assert.deepEqual((document['position_data'] as FirestoreDocument)['start_pos_lat_lng_deg'], [51.5, -0.12]);
  });

  it("counts size as Firestore does (the docs' own example is 147 bytes)", () => {
    const example = { type: 'Personal', done: false, priority: 1, description: 'Learn Cloud Firestore' };
    assert.equal(firestoreDocumentSize('users/jeff/tasks/my_task_id', example), 147);
    assert.equal(firestoreDocumentSize('a/b', { list: [1, 'é', null, { k: true }] }), 16 + 32 + 2 + 2 + 5 + 8 + 3 + 1 + 2 + 1);
  });

  it('a document over 1 MiB is destination_record_too_large before anything is sent', () => {
    const big = activity('user-1', 0, { samples: 'x'.repeat(1_100_000) });
    assert.throws(
      () => encodeDocumentWrite(config(), big),
      (error: unknown) => error instanceof FanoutError && error.code === 'destination_record_too_large' && !error.retryable && /at most 1048576 bytes/.test(error.message),
    );
    assert.equal(encodeDocumentWrite(config(), activity('user-1', 0, { samples: 'x'.repeat(1_000_000) })).path, 'terra/2022-03-16/activity/user-1-2026-07-01T06:00:00Z.json');
  });

  it('newest wins: a write replaces the stored document unless the stored copy is strictly newer', () => {
    assert.equal(replacesStored(undefined, 5), true, 'nothing stored, or stored without _terra');
    assert.equal(replacesStored(4, 5), true);
    assert.equal(replacesStored(5, 5), true, 'a replay rewrites');
    assert.equal(replacesStored(6, 5), false, 'an older resend is skipped');
  });
});

describe('classifyFirestoreError', () => {
  const options = { target: 'Firestore database (default) of project p', serviceAccountFile: '/keys/k.json' };
  const grpc = (code: number, details: string): Error => Object.assign(new Error(`${code} X: ${details}`), { code, details });
  const cases: Array<[unknown, string, boolean]> = [
    [grpc(3, 'field name __x__ is reserved'), 'destination_rejected', false],
    [grpc(3, 'maximum entity size is 1048576 bytes'), 'destination_record_too_large', false],
    [grpc(4, 'Deadline exceeded'), 'destination_timeout', true],
    [grpc(5, 'The database (default) does not exist for project p'), 'destination_not_found', false],
    [grpc(7, 'Missing or insufficient permissions.'), 'destination_auth_failed', false],
    [grpc(8, 'Quota exceeded.'), 'destination_throttled', true],
    [grpc(9, 'The Cloud Firestore API is not available for Firestore in Datastore Mode database'), 'destination_misconfigured', false],
    [grpc(10, 'Too much contention on these documents.'), 'destination_unavailable', true],
    [grpc(13, 'internal'), 'destination_unavailable', true],
    [grpc(14, 'No connection established'), 'destination_unavailable', true],
    [grpc(16, 'Request had invalid authentication credentials.'), 'destination_auth_failed', false],
    [new Error('Value for argument "data" is not a valid Firestore document. Input object is deeper than 20 levels or contains a cycle.'), 'destination_rejected', false],
    [Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }), 'destination_misconfigured', false],
    [new Error('Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication'), 'destination_auth_failed', false],
    [new Error('invalid_grant: Invalid JWT Signature.'), 'destination_auth_failed', false],
    [Object.assign(new Error('Request failed'), { status: 403 }), 'destination_auth_failed', false],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }), 'destination_unavailable', true],
    [new TypeError('boom'), 'internal_error', false],
  ];
  it('maps gRPC statuses, client-side refusals and credential problems to the catalogue', () => {
    for (const [error, code, retryable] of cases) {
      const classified = classifyFirestoreError(error, options);
      assert.equal(classified.code, code, `${String(error)} -> ${classified.code}`);
      assert.equal(classified.retryable, retryable, code);
    }
    assert.match(classifyFirestoreError(grpc(7, 'Missing or insufficient permissions.'), options).message, /roles\/datastore\.user/);
    assert.match(classifyFirestoreError(grpc(5, 'no database'), options).message, /projectId and databaseId/);
    assert.match(classifyFirestoreError(Object.assign(new Error('x'), { code: 'ENOENT' }), options).message, /serviceAccountFile \/keys\/k\.json/);
  });
});

describe('firestore destination over the in-memory port', () => {
  it('splits a send into commits of at most maxBatchWrites documents', async () => {
    const memory = createMemoryFirestorePort();
    const destination = createFirestoreDestination(config(), memory.client, context);
    const batch = makeActivityBatch(1201, ['user-a', 'user-b', 'user-c']);
    const outcomes = await destination.send(batch, signal);
    assert.ok(outcomes.every((outcome) => outcome.ok));
    assert.deepEqual([...memory.commitSizes()].sort((a, b) => b - a), [500, 500, 201]);
    assert.equal(memory.stored().size, 1201);

    const small = createMemoryFirestorePort();
    await createFirestoreDestination(config({ maxBatchWrites: 100, newestWins: false }), small.client, context).send(batch.slice(0, 250), signal);
    assert.deepEqual([...small.commitSizes()].sort((a, b) => b - a), [100, 100, 50]);
  });

  it('a document Firestore refuses fails alone: the commit is split until it is found', async () => {
    const memory = createMemoryFirestorePort();
    const destination = createFirestoreDestination(config(), memory.client, context);
    const batch = Array.from({ length: 40 }, (_, minute) => activity('user-a', minute));
    batch[17] = activity('user-a', 17, { __reserved__: 1 });
    batch[30] = activity('user-a', 30, { samples: 'x'.repeat(1_100_000) });
    const outcomes = await destination.send(batch, signal);
    assert.equal(failure(outcomes[17]).code, 'destination_rejected');
    assert.match(failure(outcomes[17]).message, /field name __reserved__ is reserved/);
    assert.equal(failure(outcomes[30]).code, 'destination_record_too_large');
    assert.equal(outcomes.filter((outcome) => outcome.ok).length, 38);
    assert.equal(memory.stored().size, 38);
    assert.ok(memory.commitSizes().length <= 1 + 2 * Math.ceil(Math.log2(40)), `few extra commits (${memory.commitSizes().length})`);
    assert.ok(!memory.commitSizes().includes(40), 'the oversized record never reached a commit');
  });

  it('newestWins keeps the newer stored document; without it the last write wins', async () => {
    const memory = createMemoryFirestorePort();
    const newest = createFirestoreDestination(config(), memory.client, context);
    const path = documentPath(config(), activity('user-a', 0));
    const newer = activity('user-a', 0, { distance_data: { summary: { distance_meters: 9000 } } }, 2_000);
    const older = activity('user-a', 0, { distance_data: { summary: { distance_meters: 1000 } } }, 1_000);
    assert.deepEqual(await newest.send([newer], signal), [{ ok: true }]);
    assert.deepEqual(await newest.send([older], signal), [{ ok: true }], 'an older record is settled, not failed');
    assert.deepEqual(memory.documents().get(path)?.['distance_data'], { summary: { distance_meters: 9000 } });
    await newest.send([older, newer, older], signal);
    assert.deepEqual(memory.documents().get(path)?.['distance_data'], { summary: { distance_meters: 9000 } }, 'within one batch too');

    const lastWins = createFirestoreDestination(config({ newestWins: false }), memory.client, context);
    await lastWins.send([older], signal);
    assert.deepEqual(memory.documents().get(path)?.['distance_data'], { summary: { distance_meters: 1000 } });
    await lastWins.send([newer, older, newer], signal);
    assert.deepEqual(memory.documents().get(path)?.['distance_data'], { summary: { distance_meters: 9000 } }, 'the last in batch order');
  });

  it('after a retryable failure, later records for the same document wait for the retry', async () => {
    const memory = createMemoryFirestorePort();
    let failedOnce = false;
    const flaky: FirestorePort = {
      ...memory.client,
      async commitNewest(writes) {
        if (!failedOnce) {
          failedOnce = true;
          throw Object.assign(new Error('14 UNAVAILABLE: try again'), { code: 14, details: 'try again' });
        }
        return memory.client.commitNewest(writes);
      },
    };
    const destination = createFirestoreDestination(config(), flaky, context);
    const outcomes = await destination.send([activity('user-a', 0, {}, 1), activity('user-b', 0, {}, 1), activity('user-a', 0, {}, 2)], signal);
    assert.equal(failure(outcomes[0]).code, 'destination_unavailable');
    assert.equal(failure(outcomes[1]).code, 'destination_unavailable', 'same commit');
    const held = failure(outcomes[2]);
    assert.equal(held.code, 'destination_unavailable');
    assert.equal(held.detail['heldBack'], true);
    assert.equal(memory.documents().size, 0);
  });

  it('gives up waiting after timeoutMs, and at once when the send is aborted at shutdown', async () => {
    const hanging: FirestorePort = {
      commit: () => new Promise<void>(() => undefined),
      commitNewest: () => new Promise<boolean[]>(() => undefined),
      close: async () => undefined,
    };
    const started = Date.now();
    const timedOut = await createFirestoreDestination(config({ timeoutMs: 1000 }), hanging, context).send([activity('user-a', 0)], signal);
    assert.equal(failure(timedOut[0]).code, 'destination_timeout');
    assert.ok(Date.now() - started < 3000);

    const shutdown = new AbortController();
    setTimeout(() => shutdown.abort(), 50);
    const abortedAt = Date.now();
    const aborted = await createFirestoreDestination(config(), hanging, context).send(makeActivityBatch(3), shutdown.signal);
    assert.ok(Date.now() - abortedAt < 1000, 'no wait for the 30 s timeout');
    for (const outcome of aborted) {
      assert.equal(failure(outcome).code, 'destination_unavailable');
      assert.equal(failure(outcome).detail['shutdown'], true);
    }
  });

  it('close() does not wait for ever on a client with hung calls', async () => {
    const destination = createFirestoreDestination(config(), { ...createMemoryFirestorePort().client, close: () => new Promise<void>(() => undefined) }, context);
    const started = Date.now();
    await destination.close();
    await destination.close();
    assert.ok(Date.now() - started < 8000);
  });

  it('check() writes one document per lane the way send() writes, outside the data collections', async () => {
    for (const newestWins of [true, false]) {
      const memory = createMemoryFirestorePort();
      let transactions = 0;
      const counting: FirestorePort = { ...memory.client, commitNewest: (writes) => ((transactions += 1), memory.client.commitNewest(writes)) };
      const destination = createFirestoreDestination(config({ newestWins }), counting, context);
      await destination.check();
      await destination.check();
      assert.deepEqual([...memory.documents().keys()], ['terra/2022-03-16/_terra_fanout_checks/acme.app-db.json']);
      assert.equal(transactions, newestWins ? 2 : 0);
      assert.equal(memory.stored().size, 0, 'check documents are not records');
    }
  });
});
