import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { MongoPortError, type MongoFailure, type MongoPort, type WriteResult } from '../../../connectors/mongodb/client.js';
import { mongodbConfigSchema, type MongodbConfig } from '../../../connectors/mongodb/config.js';
import { classifyMongoFailure, createMongodbDestination } from '../../../connectors/mongodb/destination.js';
import { createMemoryMongoPort } from '../../../connectors/mongodb/memory-client.js';
import type { ConnectorContext, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError, type ErrorCode } from '../../../src/errors/catalogue.js';
import { makeActivityBatch, makeDailyRecord, makeRecord } from '../../support/records.js';

const context: ConnectorContext = { tenant: 'acme', destination: 'app-db', logger: pino({ level: 'silent' }) };
const live = (): AbortSignal => new AbortController().signal;

function config(overrides: Record<string, unknown> = {}): MongodbConfig {
  return mongodbConfigSchema.parse({ url: 'mongodb://127.0.0.1:27017', database: 'terra', ...overrides });
}

function failure(kind: MongoFailure['kind'], code: number | null = null, retryableLabel = false): MongoFailure {
  return { kind, code, codeName: null, message: 'something happened', retryableLabel };
}

function errors(outcomes: readonly RecordOutcome[]): FanoutError[] {
  return outcomes.flatMap((outcome) => (outcome.ok ? [] : [outcome.error]));
}

/** A port whose bulkReplace and readOrdering answer from scripts, recording the calls. */
function scriptedPort(script: { bulk: Array<(count: number) => WriteResult[]>; stored?: Array<{ orderingTimestamp: number; identity: string } | undefined> }) {
  const calls: Array<{ collection: string; count: number }> = [];
  let round = 0;
  const port: MongoPort = {
    async bulkReplace(collection, writes) {
      calls.push({ collection, count: writes.length });
      const answer = script.bulk[Math.min(round, script.bulk.length - 1)];
      round += 1;
      return answer === undefined ? [] : answer(writes.length);
    },
    async readOrdering(_collection, ids) {
      return ids.map((_, index) => script.stored?.[index]);
    },
    async createIndexes() {},
    async close() {},
  };
  return { port, calls };
}

describe('mongodb destination over the in-memory port', () => {
  it('splits a batch over 500 writes into bulkWrite calls of at most 500, per collection', async () => {
    const memory = createMemoryMongoPort(config());
    const destination = createMongodbDestination(config(), memory.client, context);
    const batch = [...makeActivityBatch(1201, ['u-1', 'u-2', 'u-3']), makeDailyRecord()];
    const outcomes = await destination.send(batch, live());
    assert.ok(outcomes.every((outcome) => outcome.ok));
    assert.deepEqual([...memory.bulkSizes].sort((a, b) => b - a), [500, 500, 201, 1]);
    assert.equal(memory.stored().size, 1202);
  });

  it('a replay leaves every document as it was', async () => {
    const memory = createMemoryMongoPort(config());
    const destination = createMongodbDestination(config(), memory.client, context);
    const batch = makeActivityBatch(20, ['u-1', 'u-2']);
    await destination.send(batch, live());
    const before = new Map(memory.stored());
    const outcomes = await destination.send(batch, live());
    assert.ok(outcomes.every((outcome) => outcome.ok));
    assert.deepEqual(new Map(memory.stored()), before);
  });

  it('an older resend is a no-op reported as delivered; a newer one replaces', async () => {
    const memory = createMemoryMongoPort(config());
    const destination = createMongodbDestination(config(), memory.client, context);
    const newer = makeRecord({ orderingTimestampMs: 2_000_000, item: { metadata: { start_time: '2026-07-01T07:04:11.000000+01:00' }, steps: 200 } });
    const older = makeRecord({ orderingTimestampMs: 1_000_000, item: { metadata: { start_time: '2026-07-01T07:04:11.000000+01:00' }, steps: 100 } });
    const newest = makeRecord({ orderingTimestampMs: 3_000_000, item: { metadata: { start_time: '2026-07-01T07:04:11.000000+01:00' }, steps: 300 } });
    assert.deepEqual(await destination.send([newer], live()), [{ ok: true }]);
    assert.deepEqual(await destination.send([older], live()), [{ ok: true }]);
    const id = { user_id: 'user-1', start_time: '2026-07-01T07:04:11.000000+01:00' };
    assert.equal(memory.document('activity', id)?.['steps'], 200);
    await destination.send([newest], live());
    assert.equal(memory.document('activity', id)?.['steps'], 300);
  });

  it('a record that cannot be encoded fails alone, permanently; the rest land', async () => {
    const memory = createMemoryMongoPort(config());
    const destination = createMongodbDestination(config(), memory.client, context);
    const batch = makeActivityBatch(5);
    batch[2] = makeRecord({ summaryId: 'bad', startTime: '2026-07-01T09:00:00Z', item: { metadata: {}, _id: 'own id' } });
    const outcomes = await destination.send(batch, live());
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error.code)),
      ['ok', 'ok', 'destination_rejected', 'ok', 'ok'],
    );
    assert.equal(memory.stored().size, 4);
  });

  it('nothing is sent once the worker is shutting down', async () => {
    const memory = createMemoryMongoPort(config());
    const destination = createMongodbDestination(config(), memory.client, context);
    const controller = new AbortController();
    controller.abort();
    const outcomes = await destination.send(makeActivityBatch(3), controller.signal);
    assert.ok(errors(outcomes).every((error) => error.code === 'destination_unavailable' && error.detail['shutdown'] === true));
    assert.equal(memory.bulkSizes.length, 0);
  });

  it('check() creates the indexes once, then writes a probe document', async () => {
    const memory = createMemoryMongoPort(config());
    const destination = createMongodbDestination(config(), memory.client, context);
    await destination.check();
    await destination.check();
    assert.equal(memory.indexes.length, 11, 'one createIndexes per indexed collection, on the first check only');
    assert.deepEqual(memory.bulkSizes, [1, 1]);
    assert.equal(memory.document('terra_fanout_check', 'acme/app-db')?.['_id'], 'acme/app-db');

    const bare = createMemoryMongoPort(config({ createIndexes: false }));
    await createMongodbDestination(config({ createIndexes: false }), bare.client, context).check();
    assert.equal(bare.indexes.length, 0);
  });
});

describe('mongodb destination: duplicate keys and races', () => {
  it('E11000 with a newer stored copy is success, without another write', async () => {
    const { port, calls } = scriptedPort({ bulk: [(count) => Array.from({ length: count }, () => ({ status: 'not_newer' as const }))], stored: [{ orderingTimestamp: 9e12, identity: '0' }] });
    const outcomes = await createMongodbDestination(config(), port, context).send([makeRecord()], live());
    assert.deepEqual(outcomes, [{ ok: true }]);
    assert.equal(calls.length, 1);
  });

  it('E11000 with an older stored copy (another writer inserted it meanwhile) writes again', async () => {
    const { port, calls } = scriptedPort({
      bulk: [(count) => Array.from({ length: count }, () => ({ status: 'not_newer' as const })), (count) => Array.from({ length: count }, () => ({ status: 'written' as const }))],
      stored: [{ orderingTimestamp: 1, identity: 'f' }],
    });
    const outcomes = await createMongodbDestination(config(), port, context).send([makeRecord()], live());
    assert.deepEqual(outcomes, [{ ok: true }]);
    assert.equal(calls.length, 2);
  });

  it('a race that never settles ends retryable after three rounds', async () => {
    const { port, calls } = scriptedPort({ bulk: [(count) => Array.from({ length: count }, () => ({ status: 'not_newer' as const }))], stored: [undefined] });
    const [outcome] = await createMongodbDestination(config(), port, context).send([makeRecord()], live());
    assert.equal(outcome?.ok, false);
    assert.equal(outcome?.ok === false && outcome.error.code, 'destination_unavailable');
    assert.equal(calls.length, 3);
  });

  it('per-write failures stay with their records; a failed call fails only its own chunk', async () => {
    const batch = [...makeActivityBatch(3), makeDailyRecord()];
    const port: MongoPort = {
      async bulkReplace(collection, writes) {
        if (collection === 'daily') throw new MongoPortError(failure('network'));
        return writes.map((_, index): WriteResult => (index === 1 ? { status: 'failed', failure: failure('server', 121) } : { status: 'written' }));
      },
      async readOrdering() {
        return [];
      },
      async createIndexes() {},
      async close() {},
    };
    const outcomes = await createMongodbDestination(config(), port, context).send(batch, live());
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error.code)),
      ['ok', 'destination_rejected', 'ok', 'destination_unavailable'],
    );
  });
});

describe('mongodb error classification', () => {
  const cases: Array<[MongoFailure, ErrorCode]> = [
    [failure('server', 18), 'destination_auth_failed'],
    [failure('server', 13), 'destination_auth_failed'],
    [{ ...failure('server', 8000), message: 'bad auth : authentication failed' }, 'destination_auth_failed'],
    [failure('server', 10334), 'destination_record_too_large'],
    [failure('too_large'), 'destination_record_too_large'],
    [failure('server', 121), 'destination_rejected'],
    [failure('server', 52), 'destination_rejected'],
    [failure('server', 11000), 'destination_rejected'],
    [failure('unencodable'), 'destination_rejected'],
    [failure('server', 10107), 'destination_unavailable'],
    [failure('server', 189), 'destination_unavailable'],
    [failure('server', 91), 'destination_unavailable'],
    [failure('server', 99999, true), 'destination_unavailable'],
    [failure('server', 99999), 'destination_rejected'],
    [failure('server', 16500), 'destination_throttled'],
    [failure('server', 50), 'destination_timeout'],
    [failure('server', 26), 'destination_not_found'],
    [failure('server', 166), 'destination_misconfigured'],
    [failure('network'), 'destination_unavailable'],
    [failure('no_server'), 'destination_unavailable'],
    [failure('timeout'), 'destination_timeout'],
    [failure('closed'), 'destination_unavailable'],
    [failure('write_concern', 64), 'destination_timeout'],
    [failure('write_concern', 100), 'destination_misconfigured'],
    [failure('write_concern', 91), 'destination_unavailable'],
    [failure('config'), 'destination_misconfigured'],
    [failure('client'), 'internal_error'],
  ];
  for (const [input, expected] of cases) {
    it(`${input.kind}${input.code === null ? '' : ` ${input.code}`}${input.retryableLabel ? ' (labelled retryable)' : ''} is ${expected}`, () => {
      const error = classifyMongoFailure(input, 'MongoDB database terra');
      assert.equal(error.code, expected);
      assert.match(error.message, /^MongoDB database terra /);
      if (input.code !== null) assert.equal(error.detail['mongoCode'], input.code);
    });
  }
});
