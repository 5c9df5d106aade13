import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { pino } from 'pino';
import { createMongoClient, type MongoClientHooks } from '../../../connectors/mongodb/client.js';
import { mongodbConfigSchema, type MongodbConfig } from '../../../connectors/mongodb/config.js';
import { createMongodbDestination } from '../../../connectors/mongodb/destination.js';
import { collectionFor, documentId, eventFromDocument } from '../../../connectors/mongodb/encode.js';
import type { ConnectorContext, Destination, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { makeActivityBatch, makeAthleteRecord, makeDailyRecord, makeRecord, makeUserEventRecord } from '../../support/records.js';
import { CLOSE_GRACE_MS } from '../../../connectors/shared/call-deadline.js';
import { freezeProcessTree } from '../../support/freeze-process.js';
import { startMongoStandIn, useMongoTarget } from '../../support/mongodb-stand-in.js';
import { freePort } from '../../support/server-process.js';

/**
 * The MongoDB destination against a server speaking the wire protocol: the mongodb-stand-in, or
 * the real MongoDB at MONGODB_URL (see test/support/mongodb-stand-in.ts).
 */

const target = useMongoTarget();
const context: ConnectorContext = { tenant: 'acme', destination: 'app-db', logger: pino({ level: 'silent' }) };
const live = (): AbortSignal => new AbortController().signal;
const opened: Destination[] = [];
after(async () => {
  for (const destination of opened) await destination.close();
});

function configFor(database: string, overrides: Record<string, unknown> = {}): MongodbConfig {
  return mongodbConfigSchema.parse({ url: target.current.url, database, timeouts: { serverSelectionMs: 5_000 }, ...overrides });
}

function open(config: MongodbConfig, hooks: MongoClientHooks = {}): Destination {
  const destination = createMongodbDestination(config, createMongoClient(config, hooks), context);
  opened.push(destination);
  return destination;
}

async function allDocuments(database: string, collection: string): Promise<Document[]> {
  return target.current.client.db(database).collection(collection).find({}).toArray();
}

function codes(outcomes: readonly RecordOutcome[]): string[] {
  return outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error.code));
}

function sampleBatch(): TerraRecord[] {
  return [
    ...makeActivityBatch(4, ['u-1', 'u-2']),
    makeDailyRecord({ userId: 'u-1' }),
    makeUserEventRecord({ userId: 'u-3' }),
    makeAthleteRecord({ userId: 'u-1' }),
  ];
}

describe(`mongodb destination against a wire-protocol server (${process.env['MONGODB_URL'] ? 'MONGODB_URL' : 'mongodb-stand-in'})`, () => {
  it('lands every record at its Terra-parity place: collection per type, parity _id, the user object beside the item', async () => {
    const database = target.current.database();
    const config = configFor(database);
    const destination = open(config);
    await destination.check();
    const batch = sampleBatch();
    assert.deepEqual(codes(await destination.send(batch, live())), batch.map(() => 'ok'));

    const db = target.current.client.db(database);
    for (const record of batch) {
      const stored = await db.collection(collectionFor(config, record)).findOne({ _id: documentId(config, record) } as Document);
      assert.ok(stored !== null, `${record.type} ${record.identity} is stored`);
      assert.equal(JSON.stringify(eventFromDocument(stored)), record.body.toString('utf8'), 'the document holds exactly the record');
    }
    const activity = await db.collection('activity').findOne({ _id: { user_id: 'u-1', start_time: batch[0]?.startTime ?? '' } } as Document);
    assert.equal((activity?.['user'] as Document | undefined)?.['user_id'], 'u-1');
    assert.equal((activity?.['metadata'] as Document | undefined)?.['summary_id'], 'summary-0');
    assert.equal(typeof (activity?.['_terra'] as Document | undefined)?.['ordering_timestamp'], 'number');
    const auth = await allDocuments(database, 'user_events');
    assert.deepEqual(
      auth.map((document) => document['_id']),
      [{ user_id: 'u-3', event_time: '2026-07-01T08:00:00.000Z' }],
    );
    assert.equal(auth[0]?.['type'], 'auth');
    const athlete = await allDocuments(database, 'athlete');
    assert.deepEqual(
      athlete.map((document) => [document['_id'], (document['user'] as Document)['user_id'], document['first_name']]),
      [['u-1', 'u-1', 'Ada']],
    );
  });

  it("check() creates Terra's indexes and proves it can write", async () => {
    const database = target.current.database();
    const config = configFor(database, { collectionPrefix: 'terra_' });
    await open(config).check();
    const db = target.current.client.db(database);
    const keys = async (collection: string) => (await db.collection(collection).listIndexes().toArray()).map((index) => index['key'] as Document);
    assert.deepEqual(await keys('terra_activity'), [{ _id: 1 }, { 'metadata.start_time': -1 }, { 'metadata.end_time': -1 }]);
    assert.deepEqual(await keys('terra_user_events'), [{ _id: 1 }, { 'user.user_id': 1 }, { 'user.reference_id': 1 }]);
    assert.deepEqual(await keys('terra_athlete'), [{ _id: 1 }, { 'user.user_id': 1 }, { 'user.reference_id': 1 }]);
    assert.equal((await allDocuments(database, 'terra_terra_fanout_check')).length, 1);
    await open(config).check(); // a second start finds the indexes in place
    assert.equal((await keys('terra_daily')).length, 3);
  });

  it('a replay of the same batch leaves the document count and every document unchanged', async () => {
    const database = target.current.database();
    const destination = open(configFor(database));
    const batch = sampleBatch();
    await destination.send(batch, live());
    const before = { activity: await allDocuments(database, 'activity'), daily: await allDocuments(database, 'daily'), user_events: await allDocuments(database, 'user_events') };
    assert.deepEqual(codes(await destination.send(batch, live())), batch.map(() => 'ok'));
    assert.deepEqual(codes(await destination.send(batch, live())), batch.map(() => 'ok'));
    const afterReplay = { activity: await allDocuments(database, 'activity'), daily: await allDocuments(database, 'daily'), user_events: await allDocuments(database, 'user_events') };
    assert.equal(afterReplay.activity.length, 4);
    assert.deepEqual(afterReplay, before);
  });

  it('an older resend does not overwrite a newer document; a newer one does', async () => {
    const database = target.current.database();
    const destination = open(configFor(database));
    const version = (steps: number, orderingTimestampMs: number) =>
      makeDailyRecord({ orderingTimestampMs, item: { metadata: { start_time: '2026-07-01T00:00:00.000000+01:00', end_time: '2026-07-02T00:00:00.000000+01:00', upload_type: 1 }, distance_data: { steps } } });
    const id = { user_id: 'user-1', start_time: '2026-07-01T00:00:00.000000+01:00' };
    const steps = async () => ((await target.current.client.db(database).collection('daily').findOne({ _id: id } as Document))?.['distance_data'] as Document | undefined)?.['steps'];

    assert.deepEqual(codes(await destination.send([version(8_000, 1_782_900_000_000)], live())), ['ok']);
    assert.deepEqual(codes(await destination.send([version(5_000, 1_782_800_000_000)], live())), ['ok'], 'the stale resend counts as delivered');
    assert.equal(await steps(), 8_000, 'the newer document stays');
    assert.deepEqual(codes(await destination.send([version(9_500, 1_783_000_000_000)], live())), ['ok']);
    assert.equal(await steps(), 9_500);
    // Both versions in one batch, newest first: the older one is still a no-op.
    await destination.send([version(12_000, 1_783_100_000_000), version(11_000, 1_783_050_000_000)], live());
    assert.equal(await steps(), 12_000);
    assert.equal((await allDocuments(database, 'daily')).length, 1);
  });

  it('a batch over 500 writes goes as unordered bulk writes of at most 500, with the configured write concern', async () => {
    const database = target.current.database();
    const updates: Document[] = [];
    const destination = open(configFor(database, { writeConcern: { w: 1, journal: false } }), {
      onCommandStarted: (event) => {
        if (event.commandName === 'update' && event.command['update'] === 'activity') updates.push(event.command);
      },
    });
    const batch = makeActivityBatch(1201, ['u-1', 'u-2', 'u-3', 'u-4']);
    assert.ok((await destination.send(batch, live())).every((outcome) => outcome.ok));
    assert.deepEqual(
      updates.map((command) => (command['updates'] as Document[]).length).sort((a, b) => b - a),
      [500, 500, 201],
    );
    for (const command of updates) {
      assert.equal(command['ordered'], false);
      assert.deepEqual(command['writeConcern'], { w: 1, j: false });
      const [first] = command['updates'] as Document[];
      assert.equal(first?.['upsert'], true);
      assert.ok(Array.isArray((first?.['q'] as Document)['$or']), 'the filter carries the newest-wins condition');
    }
    assert.equal((await allDocuments(database, 'activity')).length, 1201);
  });

  it('a bad document dead-letters only itself: the server refusing it, too large, not encodable', async () => {
    const database = target.current.database();
    const destination = open(configFor(database));
    const batch = makeActivityBatch(7, ['u-1']);
    const item = (index: number, extra: Record<string, unknown>) => ({ ...batch[index]?.item, ...extra });
    // Top-level $-prefixed field: the server refuses it in a replacement (code 52), per item.
    batch[1] = makeActivityBatch(2, ['u-1'], { item: item(1, { $where: 'not a field name MongoDB accepts here' }) })[1] ?? makeRecord();
    // 17 MB: larger than any MongoDB document may be; the driver would refuse the whole bulk.
    batch[3] = { ...(batch[3] ?? makeRecord()), item: item(3, { padding: 'x'.repeat(17 * 1024 * 1024) }) };
    // A NUL in a field name cannot be encoded as BSON.
    batch[5] = { ...(batch[5] ?? makeRecord()), item: item(5, { 'bad\u0000name': 1 }) };
    const outcomes = await destination.send(batch, live());
    assert.deepEqual(codes(outcomes), ['ok', 'destination_rejected', 'ok', 'destination_record_too_large', 'ok', 'destination_rejected', 'ok']);
    const refused = outcomes[1];
    assert.ok(refused !== undefined && !refused.ok && refused.error.detail['mongoCode'] === 52, 'the server named the $-prefixed field problem (code 52)');
    for (const outcome of outcomes) if (!outcome.ok) assert.equal(outcome.error.retryable, false);
    assert.equal((await allDocuments(database, 'activity')).length, 4);
  });

  it('idScheme summary_id keeps two activities that start in the same second apart', async () => {
    const database = target.current.database();
    const sameStart = [makeRecord({ summaryId: 'run-a' }), makeRecord({ summaryId: 'run-b' })];
    await open(configFor(database, { idScheme: 'summary_id' })).send(sameStart, live());
    assert.equal((await allDocuments(database, 'activity')).length, 2);
    const parity = target.current.database();
    await open(configFor(parity)).send(sameStart, live());
    assert.equal((await allDocuments(parity, 'activity')).length, 1, 'Terra parity keys both by {user_id, start_time}');
  });

  it('wrong credentials fail check() and send() as destination_auth_failed, without leaking them', async () => {
    const config = configFor(target.current.database(), { auth: { username: 'terra-fanout-nobody', password: 'not-the-password' } });
    const destination = open(config);
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_auth_failed' && !error.message.includes('not-the-password'));
    const outcomes = await destination.send(makeActivityBatch(2), live());
    assert.deepEqual(codes(outcomes), ['destination_auth_failed', 'destination_auth_failed']);
  });

  it('an unreachable server gives retryable outcomes, and delivery resumes once it is back', async () => {
    const proxy = await startToggleProxy(new URL(target.current.url.replace(/^mongodb:/, 'http:')));
    try {
      const database = target.current.database();
      const config = configFor(database, { url: `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`, timeouts: { serverSelectionMs: 500, connectMs: 500 } });
      const destination = open(config);
      proxy.down = true;
      await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.retryable);
      const batch = makeActivityBatch(3);
      const failed = await destination.send(batch, live());
      assert.ok(failed.every((outcome) => !outcome.ok && outcome.error.retryable && outcome.error.code === 'destination_unavailable'), codes(failed).join());
      proxy.down = false;
      // As the lane does: retry until the driver has found the server again.
      let outcomes = failed;
      for (let attempt = 0; attempt < 40 && !outcomes.every((outcome) => outcome.ok); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        outcomes = await destination.send(batch, live());
      }
      assert.deepEqual(codes(outcomes), ['ok', 'ok', 'ok']);
      assert.equal((await allDocuments(database, 'activity')).length, 3);
      await destination.close();
      await destination.close();
      const afterClose = await destination.send(batch, live());
      assert.ok(afterClose.every((outcome) => !outcome.ok && outcome.error.code === 'destination_unavailable'), 'a closed destination does not reconnect');
    } finally {
      await proxy.close();
    }
  });

  it("rawBody keeps Terra's bytes in _terra.raw; the parsed fields keep what BSON can (documented in the README)", async () => {
    const database = target.current.database();
    const destination = open(configFor(database, { rawBody: true }));
    const base = makeRecord({ userId: 'u-bytes', summaryId: 'bytes-1' });
    const itemText = JSON.stringify(base.item ?? {}).replace(/^\{/, '{"big_id": 12345678901234567890, "distance": 1000.0, "zero": -0.0, "name": "caf\\u00e9", ');
    const body = `{"type": "activity", "user": ${JSON.stringify(base.event['user'])}, "data": [${itemText}], "version": "2022-03-16"}`;
    // record.item is what the lane parsed: JSON.parse's values.
    const parsed = JSON.parse(body) as { data: Array<Record<string, unknown>> };
    const record: TerraRecord = { ...base, body: Buffer.from(body), item: parsed.data[0] ?? {}, event: parsed };
    assert.deepEqual(codes(await destination.send([record], live())), ['ok']);
    const [stored] = await allDocuments(database, 'activity');
    assert.ok(stored !== undefined);
    const meta = stored['_terra'] as Record<string, unknown>;
    assert.equal(meta['raw'], body, '_terra.raw is the record exactly as sent');
    assert.equal(stored['big_id'], 12345678901234567000, 'the parsed field lost the digits beyond 2^53');
    assert.equal(stored['distance'], 1000);
    assert.equal(stored['name'], 'café');
    const without = open(configFor(target.current.database()));
    assert.deepEqual(codes(await without.send([record], live())), ['ok']);
  });

  it('a connection string the driver refuses fails check() as destination_misconfigured', async () => {
    const destination = open(configFor('terra', { url: 'mongodb://127.0.0.1:1/?notARealOption=1&maxPoolSize=notanumber' }));
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_misconfigured');
  });
});

describe('mongodb destination: a server that stops answering (its own mongodb-stand-in, frozen with SIGSTOP)', () => {
  const timeoutMs = 1_500;
  /** What a loaded 2-core machine may add to timeoutMs before the error arrives. */
  const marginMs = 2_500;

  it('check() and send() fail as destination_timeout within timeoutMs; close() returns within its grace period; delivery resumes after the thaw', async () => {
    const standIn = await startMongoStandIn();
    try {
      const database = 'tf_frozen';
      const config = mongodbConfigSchema.parse({ url: `${standIn.url}/?directConnection=true`, database, writeConcern: { w: 1 }, timeoutMs });
      const destination = open(config);
      await destination.check();
      const batch = makeActivityBatch(3);
      assert.deepEqual(codes(await destination.send(batch.slice(0, 1), live())), ['ok'], 'delivers before the freeze');

      let frozen = freezeProcessTree(standIn.pid);
      let started = Date.now();
      let outcomes: RecordOutcome[];
      try {
        outcomes = await destination.send(batch, live());
      } finally {
        frozen.thaw();
      }
      let elapsed = Date.now() - started;
      assert.deepEqual(codes(outcomes), ['destination_timeout', 'destination_timeout', 'destination_timeout']);
      assert.ok(outcomes.every((outcome) => !outcome.ok && outcome.error.retryable));
      assert.ok(elapsed < timeoutMs + marginMs, `send() failed after ${elapsed} ms (timeoutMs ${timeoutMs})`);

      // A fresh destination (no connection yet) against the frozen server: check() is bounded too.
      const fresh = open(config);
      frozen = freezeProcessTree(standIn.pid);
      started = Date.now();
      try {
        await assert.rejects(fresh.check(), (error: unknown) => error instanceof FanoutError && error.retryable && error.code === 'destination_timeout');
      } finally {
        frozen.thaw();
      }
      elapsed = Date.now() - started;
      assert.ok(elapsed < timeoutMs + marginMs, `check() failed after ${elapsed} ms (timeoutMs ${timeoutMs})`);

      // The retry, as the lane makes it, lands every record.
      let retried = outcomes;
      for (let attempt = 0; attempt < 40 && !retried.every((outcome) => outcome.ok); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        retried = await destination.send(batch, live());
      }
      assert.deepEqual(codes(retried), ['ok', 'ok', 'ok']);

      // close() with a write in flight on a frozen server: bounded, and the write fails retryable.
      frozen = freezeProcessTree(standIn.pid);
      try {
        const inFlight = destination.send(makeActivityBatch(2, ['u-closing']), live());
        await new Promise((resolve) => setTimeout(resolve, 100));
        started = Date.now();
        await destination.close();
        elapsed = Date.now() - started;
        assert.ok(elapsed < CLOSE_GRACE_MS + marginMs, `close() took ${elapsed} ms`);
        const closing = await inFlight;
        assert.ok(closing.every((outcome) => !outcome.ok && outcome.error.retryable), codes(closing).join());
      } finally {
        frozen.thaw();
      }
    } finally {
      await standIn.stop();
    }
  });
});

/** A TCP proxy to the target that refuses connections (and cuts open ones) while `down`. */
async function startToggleProxy(upstream: URL): Promise<{ port: number; down: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { down: false };
  const server: Server = createServer((client) => {
    if (state.down) {
      client.destroy();
      return;
    }
    const server = connect({ host: upstream.hostname, port: Number(upstream.port || 27017) });
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(server).pipe(client);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
      if (value) for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
