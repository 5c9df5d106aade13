import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { FanoutError } from '../../src/errors/catalogue.js';
import { createEventProducer } from '../../src/ingest/produce.js';
import type { AcknowledgedProducer, OutboundMessage, TopicMessages } from '../../src/kafka/kafka-client.js';
import { waitFor } from '../support/worker-files.js';

const logger = pino({ level: 'silent' });

interface Call {
  batch: readonly TopicMessages[];
  timeoutMs: number;
  settle(error?: FanoutError): void;
}

/**
 * An in-memory AcknowledgedProducer that keeps each send open until the test settles it, and
 * honours the contract: a send that is not settled within its timeout rejects kafka_unavailable
 * and disconnects; `reachable` decides whether connect() succeeds.
 */
function memoryPort() {
  const calls: Call[] = [];
  const state = { connected: false, reachable: true, closed: false, connects: 0 };
  const port: AcknowledgedProducer = {
    get connected() {
      return state.connected;
    },
    async connect() {
      state.connects += 1;
      if (!state.reachable) throw new FanoutError('kafka_unavailable', 'unreachable (memory port)');
      state.connected = true;
    },
    send(batch, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          state.connected = false;
          reject(new FanoutError('kafka_unavailable', 'timed out (memory port)'));
        }, timeoutMs);
        calls.push({
          batch,
          timeoutMs,
          settle(error) {
            clearTimeout(timer);
            if (error === undefined) return resolve();
            if (error.code === 'kafka_unavailable') state.connected = false;
            reject(error);
          },
        });
      });
    },
    async close() {
      state.closed = true;
      state.connected = false;
    },
  };
  return { port, calls, state };
}

const message = (value: string): OutboundMessage => ({ key: Buffer.from('user'), value: Buffer.from(value), headers: {} });
const values = (batch: readonly TopicMessages[]): string[][] => batch.map(({ topic, messages }) => [topic, ...messages.map((m) => m.value?.toString() ?? '')]);

async function started(produceTimeoutMs = 5_000) {
  const memory = memoryPort();
  const readiness: boolean[] = [];
  const producer = createEventProducer(memory.port, { produceTimeoutMs, logger, onReadyChange: (ready) => readiness.push(ready) });
  producer.start();
  assert.ok(await waitFor(() => producer.ready, 2_000), 'connects on start');
  return { ...memory, producer, readiness };
}

describe('createEventProducer', () => {
  it('sends at once when idle, and groups what arrives meanwhile into the next request, topics apart, in arrival order', async () => {
    const { producer, calls } = await started();
    const first = producer.produce('a', message('1'));
    assert.equal(calls.length, 1, 'the first event is not held back');
    const rest = [producer.produce('a', message('2')), producer.produce('b', message('3')), producer.produce('a', message('4'))];
    assert.equal(calls.length, 1, 'one request in flight at a time');
    calls[0]?.settle();
    await first;
    assert.ok(await waitFor(() => calls.length === 2, 1_000));
    assert.deepEqual(values(calls[1]?.batch ?? []), [['a', '2', '4'], ['b', '3']]);
    calls[1]?.settle();
    await Promise.all(rest);
  });

  it('gives the port the time left before the oldest event of the batch is due', async () => {
    const { producer, calls } = await started(1_000);
    const first = producer.produce('a', message('1'));
    assert.ok((calls[0]?.timeoutMs ?? 0) > 900 && (calls[0]?.timeoutMs ?? 0) <= 1_000, String(calls[0]?.timeoutMs));
    calls[0]?.settle();
    await first;
  });

  it('refuses the batch and everything queued behind it when Kafka is unavailable, refuses at once while reconnecting, then recovers', async () => {
    const { producer, calls, state, readiness } = await started();
    const inFlight = producer.produce('a', message('1'));
    const queued = producer.produce('a', message('2'));
    state.reachable = false;
    calls[0]?.settle(new FanoutError('kafka_unavailable', 'broker gone'));
    await assert.rejects(inFlight, { code: 'kafka_unavailable' });
    await assert.rejects(queued, { code: 'kafka_unavailable' });
    assert.equal(calls.length, 1, 'the queued event was never sent to the dead broker');
    assert.equal(producer.ready, false);
    const before = calls.length;
    await assert.rejects(producer.produce('a', message('3')), { code: 'kafka_unavailable', message: /reconnecting/ });
    assert.equal(calls.length, before, 'refused without a send');
    assert.ok(await waitFor(() => state.connects >= 3, 5_000), 'keeps trying to reconnect');
    state.reachable = true;
    assert.ok(await waitFor(() => producer.ready, 5_000), 'ready again once Kafka answers');
    const after = producer.produce('a', message('4'));
    calls.at(-1)?.settle();
    await after;
    assert.deepEqual(readiness, [true, false, true]);
  });

  it('times out a send that Kafka never answers', async () => {
    const { producer, calls } = await started(200);
    const sentAt = Date.now();
    await assert.rejects(producer.produce('a', message('1')), { code: 'kafka_unavailable' });
    assert.equal(calls.length, 1);
    assert.ok(Date.now() - sentAt < 2_000);
  });

  it('sends the events of a refused batch one by one, so only the guilty one fails', async () => {
    const { producer, calls } = await started();
    const first = producer.produce('a', message('first'));
    const small = producer.produce('a', message('small'));
    const huge = producer.produce('a', message('huge'));
    calls[0]?.settle();
    await first;
    assert.ok(await waitFor(() => calls.length === 2, 1_000));
    calls[1]?.settle(new FanoutError('kafka_message_too_large', 'too large'));
    assert.ok(await waitFor(() => calls.length === 3, 1_000));
    assert.deepEqual(values(calls[2]?.batch ?? []), [['a', 'small']]);
    calls[2]?.settle();
    await small;
    assert.ok(await waitFor(() => calls.length === 4, 1_000));
    assert.deepEqual(values(calls[3]?.batch ?? []), [['a', 'huge']]);
    calls[3]?.settle(new FanoutError('kafka_message_too_large', 'too large'));
    await assert.rejects(huge, { code: 'kafka_message_too_large' });
    assert.equal(producer.ready, true, 'a refused message is not an outage');
  });

  it('close waits for the request in flight, then refuses new events and closes the port', async () => {
    const { producer, calls, state } = await started();
    const inFlight = producer.produce('a', message('1'));
    const closing = producer.close(5_000);
    setTimeout(() => calls[0]?.settle(), 50);
    await inFlight;
    await closing;
    assert.equal(state.closed, true);
    await assert.rejects(producer.produce('a', message('2')), { code: 'ingest_overloaded' });
  });
});
