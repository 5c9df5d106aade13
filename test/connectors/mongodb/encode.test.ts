import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mongodbConfigSchema, type MongodbConfig } from '../../../connectors/mongodb/config.js';
import {
  collectionFor,
  documentId,
  encodeDocument,
  encodeWrite,
  eventFromDocument,
  indexPlan,
  mongodbLocation,
  newerThanFilter,
  replacesStored,
} from '../../../connectors/mongodb/encode.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { createMessageReader } from '../../../src/pipeline/read-message.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { makeAthleteRecord, makeDailyRecord, makeRecord, makeTeamsRecord, makeUserEventRecord } from '../../support/records.js';
import { validFixture, validFixtureNames } from '../../terra/support/terra-fixtures.js';

function config(overrides: Record<string, unknown> = {}): MongodbConfig {
  return mongodbConfigSchema.parse({ url: 'mongodb://127.0.0.1:27017', database: 'terra', ...overrides });
}

/** Every record the worker would hand a MongoDB destination for one fixture file. */
async function fixtureRecords(name: string): Promise<TerraRecord[]> {
  const read = createMessageReader({
    maxMessageBytes: 1024 * 1024,
    s3Payload: { allowedHosts: [], allowHttp: false, maxBytes: 1024, timeoutMs: 1000, maxExpiresInSeconds: 3600 },
    unit: 'record',
    events: null,
    providers: null,
    now: () => Date.parse('2026-07-02T12:00:00.000Z'),
  });
  const outcome = await read({
    topic: 'terra.events',
    partition: 0,
    offset: '7',
    timestampMs: Date.parse('2026-07-02T11:59:00.000Z'),
    key: null,
    value: validFixture(name),
    headers: { 'x-terra-ordering-timestamp': [Buffer.from('1782900000000')] },
    sizeBytes: 100,
  });
  assert.ok(outcome.ok, `fixture ${name} decodes`);
  return outcome.records;
}

describe('mongodb encoding: collections (Terra parity, spec 4.7)', () => {
  it('a collection per data type, user_events for non-data events, athlete for profiles, Teams by type', () => {
    const c = config();
    assert.equal(collectionFor(c, makeRecord()), 'activity');
    assert.equal(collectionFor(c, makeDailyRecord()), 'daily');
    assert.equal(collectionFor(c, makeAthleteRecord()), 'athlete');
    assert.equal(collectionFor(c, makeUserEventRecord()), 'user_events');
    assert.equal(collectionFor(c, makeUserEventRecord({ type: 'deauth' })), 'user_events');
    assert.equal(collectionFor(c, makeRecord({ type: 'sleep' })), 'sleep');
    assert.equal(collectionFor(c, makeTeamsRecord()), 'test_retrieved');
  });

  it('collection names and a prefix are configurable', () => {
    const c = config({ collectionPrefix: 'terra_', collections: { user_events: 'connections', activity: 'workouts' } });
    assert.equal(collectionFor(c, makeRecord()), 'terra_workouts');
    assert.equal(collectionFor(c, makeUserEventRecord()), 'terra_connections');
    assert.equal(collectionFor(c, makeDailyRecord()), 'terra_daily');
  });

  it('every valid Terra fixture encodes into its collection', async () => {
    const c = config();
    const seen = new Map<string, string>();
    for (const name of validFixtureNames()) {
      if (name === 's3_payload') continue; // a pointer: resolved to a real event before any destination sees it
      for (const record of await fixtureRecords(name)) {
        const write = encodeWrite(c, record);
        seen.set(record.type, write.collection);
        assert.equal(write.document['_terra'] !== undefined, true);
      }
    }
    assert.deepEqual(Object.fromEntries([...seen].sort()), {
      access_revoked: 'user_events',
      activity: 'activity',
      'activity.retrieved': 'activity_retrieved',
      athlete: 'athlete',
      'athlete.deleted': 'athlete_deleted',
      'athlete.registered': 'athlete_registered',
      auth: 'user_events',
      auth_cancelled: 'user_events',
      body: 'body',
      'coach.registered': 'coach_registered',
      connection_error: 'user_events',
      daily: 'daily',
      deauth: 'user_events',
      google_no_datasource: 'user_events',
      health_observation: 'health_observation',
      healthcheck: 'user_events',
      hormone: 'hormone',
      'lab_report.completed': 'user_events',
      'lab_report.failed': 'user_events',
      large_request_processing: 'user_events',
      large_request_sending: 'user_events',
      menstruation: 'menstruation',
      nutrition: 'nutrition',
      permission_change: 'user_events',
      planned_workout: 'planned_workout',
      rate_limit_hit: 'user_events',
      sleep: 'sleep',
      'test.retrieved': 'test_retrieved',
      user_reauth: 'user_events',
    });
  });
});

describe('mongodb encoding: _id', () => {
  it('data items: {user_id, start_time} with start_time exactly as Terra sent it, in that field order', () => {
    const id = documentId(config(), makeRecord());
    assert.deepEqual(id, { user_id: 'user-1', start_time: '2026-07-01T07:04:11.000000+01:00' });
    assert.deepEqual(Object.keys(id), ['user_id', 'start_time']);
  });

  it('user events: {user_id, event_time}; athlete: the user id', () => {
    assert.deepEqual(documentId(config(), makeUserEventRecord({ userId: 'u-9', eventTime: '2026-07-01T09:00:00.000Z' })), { user_id: 'u-9', event_time: '2026-07-01T09:00:00.000Z' });
    assert.equal(documentId(config(), makeAthleteRecord({ userId: 'u-9' })), 'u-9');
  });

  it('an event without a user (lab reports, healthcheck) has its identity as user_id, so two at one time stay apart', () => {
    const at = '2026-07-01T09:12:33.000Z';
    const a = documentId(config(), makeUserEventRecord({ type: 'lab_report.completed', userId: null, identity: 'a'.repeat(32), eventTime: at }));
    const b = documentId(config(), makeUserEventRecord({ type: 'lab_report.completed', userId: null, identity: 'b'.repeat(32), eventTime: at }));
    assert.deepEqual(a, { user_id: 'a'.repeat(32), event_time: at });
    assert.notDeepEqual(a, b);
  });

  it('idScheme summary_id: {user_id, summary_id} where the record has one, Terra parity otherwise', () => {
    const c = config({ idScheme: 'summary_id' });
    assert.deepEqual(documentId(c, makeRecord({ summaryId: 'abc' })), { user_id: 'user-1', summary_id: 'abc' });
    assert.deepEqual(documentId(c, makeDailyRecord()), { user_id: 'user-1', start_time: '2026-07-01T00:00:00.000000+01:00' });
  });

  it('an item without a start time and Teams items use the natural key', () => {
    assert.deepEqual(documentId(config(), makeRecord({ type: 'planned_workout', startTime: null, naturalKey: 'metadata.id=w1' })), { user_id: 'user-1', natural_key: 'metadata.id=w1' });
    assert.deepEqual(documentId(config(), makeTeamsRecord()), { user_id: 'coach-1', natural_key: 'test_id=test-1' });
  });

  it('locate() names database, collection and _id', () => {
    assert.equal(mongodbLocation(config(), makeRecord()), 'terra.activity/{"user_id":"user-1","start_time":"2026-07-01T07:04:11.000000+01:00"}');
  });
});

describe('mongodb encoding: documents', () => {
  it('a data document is the item with the user object beside it, then _terra', () => {
    const record = makeRecord({ orderingTimestampMs: 1_782_900_000_123 });
    const document = encodeDocument(config(), record);
    assert.deepEqual(Object.keys(document), ['_id', 'metadata', 'distance_data', 'user', '_terra']);
    assert.deepEqual(document['metadata'], record.item?.['metadata']);
    assert.deepEqual(document['user'], record.event['user']);
    assert.deepEqual(document['_terra'], {
      ordering_timestamp: 1_782_900_000_123,
      identity: record.identity,
      natural_key: 'summary_id=summary-1',
      type: 'activity',
      version: '2022-03-16',
      trace_id: record.traceId,
    });
  });

  it('a user event document is the event itself; an athlete document is the profile with the user', () => {
    const auth = makeUserEventRecord();
    const document = encodeDocument(config(), auth);
    assert.deepEqual(Object.keys(document), ['_id', ...Object.keys(auth.event), '_terra']);
    const athlete = encodeDocument(config(), makeAthleteRecord());
    assert.equal(athlete['first_name'], 'Ada');
    assert.equal((athlete['user'] as { user_id: string }).user_id, 'user-1');
  });

  it('the same record always gives the same document (replays write identical bytes)', () => {
    assert.deepEqual(encodeDocument(config(), makeRecord()), encodeDocument(config(), makeRecord()));
  });

  it('an item with its own top-level _id, _terra or user is rejected, permanently', () => {
    for (const field of ['_id', '_terra', 'user']) {
      const record = makeRecord({ item: { metadata: { start_time: 'x' }, [field]: 'mine' } });
      assert.throws(
        () => encodeDocument(config(), record),
        (error: unknown) => error instanceof FanoutError && error.code === 'destination_rejected' && !error.retryable && error.message.includes(field),
      );
    }
  });

  it('eventFromDocument gives back the exact one-item event', () => {
    for (const record of [makeRecord(), makeDailyRecord(), makeAthleteRecord(), makeUserEventRecord()]) {
      assert.equal(JSON.stringify(eventFromDocument(encodeDocument(config(), record))), record.body.toString('utf8'), record.type);
    }
  });
});

describe('mongodb encoding: newest wins', () => {
  const write = { id: { user_id: 'u', start_time: 's' }, orderingTimestamp: 2_000, identity: 'bbbb' };

  it('the upsert filter requires the stored ordering timestamp to be older or absent (ties: smaller identity)', () => {
    assert.deepEqual(newerThanFilter(write), {
      _id: write.id,
      $or: [
        { '_terra.ordering_timestamp': { $lt: 2_000 } },
        { '_terra.ordering_timestamp': { $exists: false } },
        { '_terra.ordering_timestamp': 2_000, '_terra.identity': { $lt: 'bbbb' } },
      ],
    });
  });

  it('replacesStored follows the same rule', () => {
    assert.equal(replacesStored({ orderingTimestamp: 1_999, identity: 'zzzz' }, write), true);
    assert.equal(replacesStored({ orderingTimestamp: null, identity: null }, write), true);
    assert.equal(replacesStored({ orderingTimestamp: 2_000, identity: 'aaaa' }, write), true);
    assert.equal(replacesStored({ orderingTimestamp: 2_000, identity: 'bbbb' }, write), false, 'a replay is not newer');
    assert.equal(replacesStored({ orderingTimestamp: 2_000, identity: 'cccc' }, write), false);
    assert.equal(replacesStored({ orderingTimestamp: 2_001, identity: 'aaaa' }, write), false);
  });
});

describe('mongodb encoding: indexes', () => {
  it("Terra's indexes: time on data collections, user on user_events and athlete; prefix and renames apply", () => {
    const plan = indexPlan(config({ collectionPrefix: 't_', collections: { user_events: 'connections' } }));
    const byName = new Map(plan.map((entry) => [entry.collection, entry.indexes.map((index) => index.key)]));
    assert.deepEqual(byName.get('t_activity'), [{ 'metadata.start_time': -1 }, { 'metadata.end_time': -1 }]);
    assert.deepEqual(byName.get('t_daily'), [{ 'metadata.start_time': -1 }, { 'metadata.end_time': -1 }]);
    assert.deepEqual(byName.get('t_connections'), [{ 'user.user_id': 1 }, { 'user.reference_id': 1 }]);
    assert.deepEqual(byName.get('t_athlete'), [{ 'user.user_id': 1 }, { 'user.reference_id': 1 }]);
    for (const name of ['t_body', 't_sleep', 't_nutrition', 't_menstruation']) assert.ok(byName.has(name), name);
  });
});

describe('mongodb config', () => {
  it('defaults: Terra ids, majority write concern, indexes on, a pool of 10', () => {
    const c = config();
    assert.equal(c.idScheme, 'terra');
    assert.deepEqual(c.writeConcern, { w: 'majority' });
    assert.equal(c.createIndexes, true);
    assert.equal(c.pool.maxSize, 10);
    assert.equal(c.collectionPrefix, '');
  });

  it('the connection string and passwords are secrets', () => {
    const c = config({ url: 'mongodb://u:url-pass@db.example.com/?tls=true', auth: { username: 'u', password: 'auth-pass' } });
    const printed = JSON.stringify(c);
    assert.ok(!printed.includes('url-pass') && !printed.includes('auth-pass'));
    assert.equal(c.url.reveal(), 'mongodb://u:url-pass@db.example.com/?tls=true');
  });

  it('rejects what cannot work, with every problem at once', () => {
    const result = mongodbConfigSchema.safeParse({
      url: 'postgres://localhost',
      database: 'has.dot',
      writeConcern: { w: 0 },
      collections: { activitys: 'x' },
      collectionPrefix: 'bad$',
    });
    assert.equal(result.success, false);
    const paths = result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
    for (const path of ['url', 'database', 'writeConcern.w', 'collections', 'collectionPrefix']) assert.ok(paths.includes(path), `a problem at ${path} (${paths.join(', ')})`);
    assert.equal(mongodbConfigSchema.safeParse({ url: 'mongodb+srv://cluster0.example.mongodb.net/?retryWrites=true', database: 'terra' }).success, true);
    assert.equal(mongodbConfigSchema.safeParse({ url: 'mongodb://a:1,b:2/?replicaSet=rs0', database: 'terra', collections: { user_events: 'system.x' } }).success, false);
  });
});
