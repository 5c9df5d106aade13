import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { Destination, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import type { BatchControls, CommitOffset, InboundBatch, InboundMessage, LaneConsumer, MessageProducer, OutboundMessage, PartitionAssignment, PauseState } from '../../src/kafka/kafka-client.js';
import { ByteBudget } from '../../src/lane/byte-budget.js';
import { deadLetterHeader } from '../../src/lane/dead-letter.js';
import { Lane, type LaneReader } from '../../src/lane/lane.js';
import type { Selection } from '../../src/pipeline/read-message.js';
import { estimateDecodedBytes } from '../../src/pipeline/tenant-decoder.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { TerraRecord } from '../../src/records/record.js';

/** A consumer that hands the lane batches on demand and remembers what was committed. */
class MemoryConsumer implements LaneConsumer {
  commits: CommitOffset[][] = [];
  /** Every pause state the lane asked for, in order. */
  pauses: PauseState[] = [];
  #onBatch: ((batch: InboundBatch, controls: BatchControls) => Promise<void>) | undefined;
  #joined: Array<(assignment: readonly PartitionAssignment[]) => void> = [];
  resolved: string[] = [];
  heartbeats = 0;
  assignment: PartitionAssignment[] = [{ topic: 't', partitions: [0, 1] }];

  async start(onBatch: (batch: InboundBatch, controls: BatchControls) => Promise<void>): Promise<void> {
    this.#onBatch = onBatch;
    for (const listener of this.#joined) listener(this.assignment);
  }
  async feed(messages: InboundMessage[]): Promise<void> {
    assert.ok(this.#onBatch, 'lane not started');
    const first = messages[0];
    assert.ok(first);
    await this.#onBatch(
      { topic: first.topic, partition: first.partition, highWatermark: String(Number(messages.at(-1)?.offset ?? 0) + 1), messages },
      { resolveOffset: (offset) => void this.resolved.push(offset), heartbeat: async () => void (this.heartbeats += 1), isActive: () => true },
    );
  }
  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    this.commits.push([...offsets]);
  }
  setPaused(state: PauseState): void {
    this.pauses.push(state);
  }
  get pausedAll(): boolean {
    return this.pauses.some((state) => state.all);
  }
  onJoined(listener: (assignment: readonly PartitionAssignment[]) => void): void {
    this.#joined.push(listener);
  }
  crashListeners: Array<(error: Error) => void> = [];
  onCrash(listener: (error: Error) => void): void {
    this.crashListeners.push(listener);
  }
  async stop(): Promise<void> {}
  committedOffset(partition = 0): string | undefined {
    return this.commits.flat().filter((commit) => commit.partition === partition).at(-1)?.offset;
  }
}

class MemoryProducer implements MessageProducer {
  sent: Array<{ topic: string; message: OutboundMessage }> = [];
  failures = 0;
  async send(topic: string, messages: readonly OutboundMessage[]): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('broker down');
    }
    for (const message of messages) this.sent.push({ topic, message });
  }
  async close(): Promise<void> {}
}

/** A destination whose behaviour per call is scripted; it remembers every delivered identity. */
class ScriptedDestination implements Destination {
  delivered: string[] = [];
  calls = 0;
  closed = 0;
  constructor(private readonly decide: (record: TerraRecord, call: number) => RecordOutcome = () => ({ ok: true })) {}
  async check(): Promise<void> {}
  async send(batch: readonly TerraRecord[]): Promise<RecordOutcome[]> {
    this.calls += 1;
    return batch.map((record) => {
      const outcome = this.decide(record, this.calls);
      if (outcome.ok) this.delivered.push(record.identity);
      return outcome;
    });
  }
  async close(): Promise<void> {
    this.closed += 1;
  }
}

function message(offset: number, value: string, partition = 0): InboundMessage {
  return { topic: 't', partition, offset: String(offset), timestampMs: 1_700_000_000_000, key: null, value: Buffer.from(value), headers: { 'x-test': [Buffer.from('1')] }, sizeBytes: value.length };
}

function record(id: string, offset: string): TerraRecord {
  return {
    type: 'activity',
    kind: 'data',
    unit: 'record',
    userId: 'u1',
    referenceId: null,
    provider: 'GARMIN',
    summaryId: id,
    startTime: null,
    endTime: null,
    eventTime: new Date(0).toISOString(),
    orderingTimestampMs: 0,
    naturalKey: `summary_id=${id}`,
    identity: id,
    traceId: `trace-${offset}`,
    terraReference: null,
    version: '2022-03-16',
    itemIndex: 0,
    event: {},
    item: {},
    body: Buffer.from(`{"id":"${id}"}`),
    source: { topic: 't', partition: 0, offset, timestampMs: 0, headers: {} },
  };
}

/** Reads "a,b,c" as three records, "!code" as a rejection, "" as filtered, "ptr:a" as a pointer to fetch. */
function select(inbound: InboundMessage): Selection {
  const text = inbound.value?.toString() ?? '';
  if (text.startsWith('!')) return { kind: 'rejected', error: new FanoutError(text.slice(1) as 'malformed_json', 'bad input') };
  if (text === '') return { kind: 'filtered', reason: 'event_type' };
  if (text.startsWith('ptr:')) return { kind: 'fetch' };
  return { kind: 'records', records: text.split(',').map((id) => record(id, inbound.offset)), dropped: 0 };
}

/** A reader whose pointers resolve through `fetch` (default: to the records after "ptr:"). */
function readerWith(fetch: (inbound: InboundMessage) => Promise<Selection> = async (inbound) => select({ ...inbound, value: Buffer.from((inbound.value?.toString() ?? '').slice(4)) })): LaneReader {
  return { select, resolve: fetch };
}

const reader = readerWith();

function makeLane(
  destination: Destination,
  overrides: { maxRecords?: number; maxAttempts?: number | null; read?: LaneReader; laneBudgetBytes?: number; budget?: ByteBudget; onFatal?: (error: Error) => void; pointerMaxRetryMs?: number; now?: () => number } = {},
) {
  const consumer = new MemoryConsumer();
  const producer = new MemoryProducer();
  const metrics = createMetrics({ defaultMetrics: false });
  const lane = new Lane({
    tenant: 'acme',
    destinationName: 'files',
    connectorType: 'file',
    groupId: 'fanout.acme.files',
    destination,
    consumer,
    deadLetters: producer,
    deadLetterTopic: 'acme.dlq',
    reader: overrides.read ?? reader,
    pointerMaxRetryMs: overrides.pointerMaxRetryMs ?? 60_000,
    batch: { maxRecords: overrides.maxRecords ?? 100, maxBytes: 1_000_000, lingerMs: 5 },
    retry: { initialDelayMs: 1, maxDelayMs: 5, multiplier: 2, jitter: 0, maxAttempts: overrides.maxAttempts ?? null },
    laneBudgetBytes: overrides.laneBudgetBytes ?? 1_000_000,
    processBudget: overrides.budget ?? new ByteBudget(10_000_000),
    metrics,
    logger: pino({ level: 'silent' }),
    ...(overrides.onFatal === undefined ? {} : { onFatal: overrides.onFatal }),
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
  });
  return { lane, consumer, producer, metrics };
}

const settle = (ms = 30): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds (or fails the test after `timeoutMs`). */
async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await settle(5);
  }
}

describe('lane', () => {
  it('delivers every record and commits after the last one, never before', async () => {
    const commitsSeenAtDelivery: number[] = [];
    const { lane, consumer } = makeLane(
      new ScriptedDestination(() => {
        commitsSeenAtDelivery.push(consumer.commits.length);
        return { ok: true };
      }),
      { maxRecords: 2 },
    );
    await lane.start();
    await consumer.feed([message(0, 'a,b'), message(1, 'c')]);
    await settle();
    assert.equal(consumer.committedOffset(), '2');
    // Records of the first flush were all written before its commit.
    assert.deepEqual(commitsSeenAtDelivery.slice(0, 2), [0, 0]);
    await lane.stop(1000);
  });

  it('heartbeats its group while the batch handler waits for a slow flush', async () => {
    class SlowDestination extends ScriptedDestination {
      override async send(batch: readonly TerraRecord[]): Promise<RecordOutcome[]> {
        await settle(2_600);
        return super.send(batch);
      }
    }
    const destination = new SlowDestination();
    const { lane, consumer } = makeLane(destination, { maxRecords: 1 });
    await lane.start();
    // The first message starts a flush in the background; the second must wait for it.
    await consumer.feed([message(0, 'a'), message(1, 'b')]);
    assert.ok(consumer.heartbeats >= 2, `heartbeats while waiting: ${consumer.heartbeats}`);
    await lane.stop(10_000);
    assert.deepEqual(destination.delivered, ['a', 'b']);
  });

  it('retries a destination that is down until it is back, losing nothing and pausing meanwhile', async () => {
    const destination = new ScriptedDestination((_record, call) => (call <= 3 ? { ok: false, error: new FanoutError('destination_unavailable', 'down') } : { ok: true }));
    const { lane, consumer, producer, metrics } = makeLane(destination);
    await lane.start();
    await consumer.feed([message(0, 'a,b'), message(1, 'c')]);
    await lane.stop(5000);
    assert.deepEqual(destination.delivered.sort(), ['a', 'b', 'c']);
    assert.equal(consumer.committedOffset(), '2');
    assert.equal(producer.sent.length, 0);
    assert.ok(consumer.pausedAll, 'lane paused fetching while retrying');
    const retries = await metrics.registry.getSingleMetricAsString('terra_fanout_retries_total');
    assert.match(retries, /code="destination_unavailable"} 9/, "3 records x 3 failed attempts");
  });

  it('stays stalled while a retry attempt is in flight, not only between attempts, and clears once delivered', async () => {
    let release: () => void = () => undefined;
    const third = new Promise<void>((resolve) => {
      release = resolve;
    });
    class ThirdCallWaits extends ScriptedDestination {
      waiting = false;
      override async send(batch: readonly TerraRecord[]): Promise<RecordOutcome[]> {
        if (this.calls === 2) {
          // The third attempt, in flight: its answer is not known yet.
          this.waiting = true;
          await third;
          this.waiting = false;
        }
        return super.send(batch);
      }
    }
    const destination = new ThirdCallWaits((_record, call) => (call <= 2 ? { ok: false, error: new FanoutError('destination_unavailable', 'down') } : { ok: true }));
    const { lane, consumer, metrics } = makeLane(destination);
    await lane.start();
    const feeding = consumer.feed([message(0, 'a')]);
    await waitFor(() => destination.waiting);
    assert.equal(lane.status().stalled?.reason, 'destination_unavailable', 'stalled during the attempt');
    assert.equal(lane.status().state, 'retrying');
    assert.match(await metrics.registry.getSingleMetricAsString('terra_fanout_lane_stalled'), /reason="destination_unavailable"} 1/);
    release();
    await feeding;
    await waitFor(() => consumer.committedOffset() === '1');
    assert.equal(lane.status().stalled, null, 'cleared once delivered');
    assert.match(await metrics.registry.getSingleMetricAsString('terra_fanout_lane_stalled'), /reason="destination_unavailable"} 0/);
    await lane.stop(5000);
  });

  it('retries only the failed records of a batch', async () => {
    const sends: string[][] = [];
    let failedOnce = false;
    const destination: Destination = {
      check: async () => undefined,
      close: async () => undefined,
      send: async (batch) => {
        sends.push(batch.map((r) => r.identity));
        return batch.map((r) => {
          if (r.identity === 'b' && !failedOnce) {
            failedOnce = true;
            return { ok: false, error: new FanoutError('destination_throttled', 'slow down') };
          }
          return { ok: true };
        });
      },
    };
    const { lane, consumer } = makeLane(destination);
    await lane.start();
    await consumer.feed([message(0, 'a,b,c')]);
    await lane.stop(5000);
    assert.deepEqual(sends, [['a', 'b', 'c'], ['b']]);
    assert.equal(consumer.committedOffset(), '1');
  });

  it('parks a permanent failure with full context and still commits', async () => {
    const destination = new ScriptedDestination((r) => (r.identity === 'bad' ? { ok: false, error: new FanoutError('destination_rejected', 'HTTP 400') } : { ok: true }));
    const { lane, consumer, producer } = makeLane(destination);
    await lane.start();
    await consumer.feed([message(7, 'ok1,bad,ok2')]);
    await lane.stop(5000);
    assert.deepEqual(destination.delivered, ['ok1', 'ok2']);
    assert.equal(producer.sent.length, 1);
    const parked = producer.sent[0];
    assert.ok(parked);
    assert.equal(parked.topic, 'acme.dlq');
    assert.equal(parked.message.value?.toString(), 'ok1,bad,ok2', 'original bytes');
    const headers = parked.message.headers;
    assert.deepEqual(headers['x-test'], Buffer.from('1'), 'original headers kept');
    assert.equal(headers[deadLetterHeader.code], 'destination_rejected');
    assert.equal(headers[deadLetterHeader.message], 'HTTP 400');
    assert.equal(headers[deadLetterHeader.tenant], 'acme');
    assert.equal(headers[deadLetterHeader.destination], 'files');
    assert.equal(headers[deadLetterHeader.attempts], '1');
    assert.equal(headers[deadLetterHeader.offset], '7');
    assert.equal(headers[deadLetterHeader.partition], '0');
    assert.equal(headers[deadLetterHeader.topic], 't');
    assert.equal(headers[deadLetterHeader.recordIdentity], 'bad');
    assert.ok(typeof headers[deadLetterHeader.firstFailureAt] === 'string');
    assert.equal(consumer.committedOffset(), '8');
  });

  it('parks poison input with its code and keeps going', async () => {
    const destination = new ScriptedDestination();
    const { lane, consumer, producer, metrics } = makeLane(destination);
    await lane.start();
    await consumer.feed([message(0, 'a'), message(1, '!malformed_json'), message(2, 'b')]);
    await lane.stop(5000);
    assert.deepEqual(destination.delivered, ['a', 'b']);
    assert.equal(producer.sent[0]?.message.headers[deadLetterHeader.code], 'malformed_json');
    assert.equal(consumer.committedOffset(), '3');
    assert.match(await metrics.registry.getSingleMetricAsString('terra_fanout_records_dead_lettered_total'), /code="malformed_json"} 1/);
  });

  it('gives up after maxAttempts and parks as retries_exhausted with the cause', async () => {
    const destination = new ScriptedDestination(() => ({ ok: false, error: new FanoutError('destination_unavailable', 'down') }));
    const { lane, consumer, producer } = makeLane(destination, { maxAttempts: 3 });
    await lane.start();
    await consumer.feed([message(0, 'a')]);
    await lane.stop(5000);
    assert.equal(destination.calls, 3);
    const headers = producer.sent[0]?.message.headers ?? {};
    assert.equal(headers[deadLetterHeader.code], 'retries_exhausted');
    assert.equal(headers[deadLetterHeader.causeCode], 'destination_unavailable');
    assert.equal(headers[deadLetterHeader.attempts], '3');
    assert.equal(consumer.committedOffset(), '1');
  });

  it('does not commit while the dead-letter topic is down, and commits once it takes the record', async () => {
    const destination = new ScriptedDestination(() => ({ ok: false, error: new FanoutError('destination_rejected', 'no') }));
    const { lane, consumer, producer } = makeLane(destination);
    producer.failures = 2;
    await lane.start();
    const feeding = consumer.feed([message(0, 'a')]);
    await feeding;
    await settle(5);
    await lane.stop(5000);
    assert.equal(producer.sent.length, 1);
    assert.equal(consumer.committedOffset(), '1');
  });

  it('commits filtered-out messages without sending anything', async () => {
    const destination = new ScriptedDestination();
    const { lane, consumer } = makeLane(destination);
    await lane.start();
    await consumer.feed([message(0, ''), message(1, '')]);
    await lane.stop(5000);
    assert.equal(destination.calls, 0);
    assert.equal(consumer.committedOffset(), '2');
  });

  it('leaves records uncommitted when stopped before the destination recovers', async () => {
    const destination = new ScriptedDestination(() => ({ ok: false, error: new FanoutError('destination_unavailable', 'down') }));
    const { lane, consumer, producer } = makeLane(destination);
    await lane.start();
    const feeding = consumer.feed([message(0, 'a')]);
    await settle(20);
    await lane.stop(50);
    await feeding;
    assert.equal(consumer.committedOffset(), undefined, 'nothing committed');
    assert.equal(producer.sent.length, 0, 'nothing parked');
    assert.equal(destination.closed, 1);
  });

  it('skips messages it already holds when a batch is fetched again', async () => {
    const destination = new ScriptedDestination();
    const { lane, consumer } = makeLane(destination, { maxRecords: 1000 });
    await lane.start();
    await consumer.feed([message(0, 'a'), message(1, 'b')]);
    await consumer.feed([message(1, 'b'), message(2, 'c')]);
    await lane.stop(5000);
    assert.deepEqual(destination.delivered, ['a', 'b', 'c']);
  });

  it('keeps held bytes (messages and their decoded estimate) within the process budget', async () => {
    const cost = 4 + estimateDecodedBytes(4); // what one 4-byte message holds
    const budget = new ByteBudget(2 * cost + 1);
    let peak = 0;
    const destination = new ScriptedDestination(() => {
      peak = Math.max(peak, budget.used);
      return { ok: true };
    });
    const { lane, consumer } = makeLane(destination, { budget, laneBudgetBytes: 2 * cost + 1 });
    await lane.start();
    await consumer.feed([message(0, 'aaaa'), message(1, 'bbbb'), message(2, 'cccc'), message(3, 'dddd')]);
    await lane.stop(5000);
    assert.equal(destination.delivered.length, 4);
    assert.ok(peak <= 2 * cost + 1, `peak ${peak} within budget`);
    assert.equal(budget.used, 0);
  });

  it('processes a message larger than the whole budget alone instead of deadlocking', async () => {
    const budget = new ByteBudget(10);
    const destination = new ScriptedDestination();
    const { lane, consumer } = makeLane(destination, { budget, laneBudgetBytes: 10 });
    await lane.start();
    await consumer.feed([message(0, 'aaaa'), message(1, 'bbbb'), message(2, 'cccc')]);
    await lane.stop(5000);
    assert.deepEqual(destination.delivered, ['aaaa', 'bbbb', 'cccc']);
    assert.equal(budget.used, 0);
  });

  it('reports a consumer crash that will not restart as fatal and stops being ready', async () => {
    const fatal: Error[] = [];
    const { lane, consumer } = makeLane(new ScriptedDestination(), { onFatal: (error) => fatal.push(error) });
    await lane.start();
    assert.equal(lane.ready, true);
    for (const listener of consumer.crashListeners) listener(new Error('coordinator lost'));
    assert.equal(lane.ready, false);
    assert.deepEqual(fatal.map((error) => error.message), ['coordinator lost']);
    await lane.stop(1000);
  });

  it('retries a message whose read fails retryably (s3_payload store down) and then delivers it', async () => {
    let failures = 2;
    const flaky = readerWith(async (inbound) => {
      if (failures > 0) {
        failures -= 1;
        return { kind: 'rejected', error: new FanoutError('s3_payload_unavailable', 'store down') };
      }
      return reader.resolve(inbound);
    });
    const destination = new ScriptedDestination();
    const { lane, consumer, producer, metrics } = makeLane(destination, { read: flaky });
    await lane.start();
    await consumer.feed([message(0, 'ptr:a')]);
    await waitFor(() => consumer.committedOffset() === '1');
    await lane.stop(5000);
    assert.deepEqual(destination.delivered, ['a']);
    assert.equal(producer.sent.length, 0);
    assert.equal(consumer.committedOffset(), '1');
    assert.match(await metrics.registry.getSingleMetricAsString('terra_fanout_retries_total'), /code="s3_payload_unavailable"} 2/);
  });

  it('parks a message whose read keeps failing as retries_exhausted after maxAttempts', async () => {
    const down = readerWith(async () => ({ kind: 'rejected', error: new FanoutError('s3_payload_unavailable', 'store down') }));
    const { lane, consumer, producer } = makeLane(new ScriptedDestination(), { read: down, maxAttempts: 2 });
    await lane.start();
    await consumer.feed([message(0, 'ptr:a')]);
    await waitFor(() => consumer.committedOffset() === '1');
    await lane.stop(5000);
    const headers = producer.sent[0]?.message.headers ?? {};
    assert.equal(headers[deadLetterHeader.code], 'retries_exhausted');
    assert.equal(headers[deadLetterHeader.causeCode], 's3_payload_unavailable');
    assert.equal(headers[deadLetterHeader.attempts], '2');
    assert.equal(consumer.committedOffset(), '1');
  });

  it('keeps held bytes within the lane budget while a flush runs in the background', async () => {
    const budget = new ByteBudget(1_000_000); // only this lane uses it, so `used` is the lane's held bytes
    let peak = 0;
    const destination = new ScriptedDestination(() => {
      peak = Math.max(peak, budget.used);
      return { ok: true };
    });
    const cost = 4 + estimateDecodedBytes(4);
    const { lane, consumer } = makeLane(destination, { laneBudgetBytes: 3 * cost, maxRecords: 1, budget });
    await lane.start();
    await consumer.feed([message(0, 'aaaa'), message(1, 'bbbb'), message(2, 'cccc'), message(3, 'dddd'), message(4, 'eeee')]);
    await lane.stop(5000);
    assert.equal(destination.delivered.length, 5);
    assert.ok(peak > cost && peak <= 3 * cost, `peak ${peak}: more than one message held, within the lane budget`);
  });

  it('retries a pointer of one partition while the other partitions keep flowing and committing', async () => {
    let storeUp = false;
    const gated = readerWith(async (inbound) => (storeUp ? reader.resolve(inbound) : { kind: 'rejected', error: new FanoutError('s3_payload_unavailable', 'store down') }));
    const destination = new ScriptedDestination();
    const { lane, consumer, producer, metrics } = makeLane(destination, { read: gated });
    await lane.start();
    await consumer.feed([message(0, 'p0-a', 0), message(1, 'ptr:p0-b', 0), message(2, 'p0-c', 0)]);
    await consumer.feed([message(0, 'p1-a', 1), message(1, 'p1-b', 1)]);
    await waitFor(() => consumer.committedOffset(1) === '2' && consumer.committedOffset(0) === '1');
    assert.deepEqual(destination.delivered.sort(), ['p0-a', 'p1-a', 'p1-b'], 'partition 1 delivered; partition 0 up to the pointer');
    const paused = consumer.pauses.at(-1);
    assert.deepEqual(paused, { all: false, partitions: [{ topic: 't', partition: 0 }] }, 'only the retrying partition is paused');
    assert.equal(lane.status().stalled?.reason, 'pointer_retry');
    assert.match(await metrics.registry.getSingleMetricAsString('terra_fanout_lane_stalled'), /reason="pointer_retry"} 1/);
    // More of partition 1 still flows while partition 0 waits.
    await consumer.feed([message(2, 'p1-c', 1)]);
    await waitFor(() => consumer.committedOffset(1) === '3');
    storeUp = true;
    await waitFor(() => consumer.committedOffset(0) === '3');
    assert.deepEqual(destination.delivered.filter((id) => id.startsWith('p0')), ['p0-a', 'p0-b', 'p0-c'], 'partition 0 in offset order');
    assert.deepEqual(consumer.pauses.at(-1), { all: false, partitions: [] }, 'partition 0 resumed');
    assert.equal(lane.status().stalled, null);
    assert.equal(producer.sent.length, 0);
    await lane.stop(5000);
  });

  it('parks a pointer that keeps failing as s3_payload_unavailable after pointerMaxRetryMs, then takes the partition\'s later messages', async () => {
    const down = readerWith(async () => ({ kind: 'rejected', error: new FanoutError('s3_payload_unavailable', 'store down', { detail: { status: 503 } }) }));
    const destination = new ScriptedDestination();
    const { lane, consumer, producer } = makeLane(destination, { read: down, pointerMaxRetryMs: 50 });
    await lane.start();
    await consumer.feed([message(0, 'ptr:x', 0), message(1, 'after', 0)]);
    await waitFor(() => consumer.committedOffset(0) === '2');
    assert.deepEqual(destination.delivered, ['after']);
    const headers = producer.sent[0]?.message.headers ?? {};
    assert.equal(headers[deadLetterHeader.code], 's3_payload_unavailable');
    assert.ok(Number(headers[deadLetterHeader.attempts]) >= 2, 'retried before parking');
    assert.match(String(headers[deadLetterHeader.message]), /maxRetryMs 50/);
    await lane.stop(5000);
  });

  it('shows a stuck lane: lag from the brokers on its timer, lag in seconds, and why it is stalled', async () => {
    let clock = 1_700_000_000_000;
    const destination = new ScriptedDestination(() => ({ ok: false, error: new FanoutError('destination_unavailable', 'down') }));
    const { lane, consumer, metrics } = makeLane(destination, { now: () => clock });
    await lane.start();
    void consumer.feed([message(0, 'a', 0), message(1, 'b', 0)]);
    await waitFor(() => lane.status().stalled !== null);
    clock += 30_000;
    const key = (partition: number): string => `t\u0000${partition}`;
    lane.tick({ high: new Map([[key(0), 2400n], [key(1), 10n]]), low: new Map([[key(0), 0n], [key(1), 0n]]), committed: new Map([[key(1), 10n]]) });
    const status = lane.status();
    assert.equal(status.state, 'retrying');
    assert.equal(status.stalled?.reason, 'destination_unavailable');
    assert.equal(status.lastErrorCode, 'destination_unavailable');
    assert.equal(status.lag.messages, 2400);
    assert.deepEqual(status.lag.partitions.map((p) => [p.partition, p.messages]), [[0, 2400], [1, 0]]);
    assert.ok(status.lag.seconds >= 30, `lag seconds ${status.lag.seconds}: the oldest uncommitted message is 30 s old`);
    const text = await metrics.registry.metrics();
    assert.match(text, /terra_fanout_lane_lag_messages\{tenant="acme",destination="files",connector="file",topic="t",partition="0"} 2400/);
    assert.match(text, /terra_fanout_lane_stalled\{tenant="acme",destination="files",connector="file",reason="destination_unavailable"} 1/);
    await lane.stop(50);
  });

  it('sends nothing while paused by an operator, and delivers what it holds after resume', async () => {
    const destination = new ScriptedDestination();
    const { lane, consumer } = makeLane(destination);
    await lane.start();
    lane.pause('ops@example.com');
    assert.deepEqual(consumer.pauses.at(-1), { all: true, partitions: [] });
    await consumer.feed([message(0, 'a')]);
    await settle(50);
    assert.equal(destination.calls, 0);
    const status = lane.status();
    assert.equal(status.state, 'paused');
    assert.equal(status.pausedByOperator?.by, 'ops@example.com');
    assert.equal(lane.ready, true, 'a deliberate pause is not unready');
    lane.resume('ops@example.com');
    await waitFor(() => consumer.committedOffset() === '1');
    assert.deepEqual(destination.delivered, ['a']);
    assert.equal(lane.status().state, 'running');
    await lane.stop(5000);
  });
});
