import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { Message } from 'kafkajs';
import { kafkaOutHeader } from '../../../connectors/kafka/encode.js';
import { loadWorkerWithTenants } from '../../../src/config/load-config.js';
import { deadLetterHeader } from '../../../src/lane/dead-letter.js';
import { createLogger } from '../../../src/observability/logger.js';
import { startWorker } from '../../../src/worker/worker.js';
import { uniqueName, useKafkaBroker, type ConsumedMessage } from '../../support/kafka.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../../support/worker-files.js';
import { readTopics, sequenceByKey } from './read-topics.js';

/**
 * End to end: Terra events on the input cluster, the worker, the Kafka destination producing to a
 * separate output cluster (both local mock clusters). Checks delivery, keys and headers, per-user
 * order, a replay of the same input messages, and an oversized record reaching the dead-letter
 * topic with destination_record_too_large.
 */

const input = useKafkaBroker();
const output = useKafkaBroker({ brokers: 1 });

const summaryOf = (message: ConsumedMessage): string => {
  const event = JSON.parse(message.value ?? '{}') as { data?: Array<{ metadata?: { summary_id?: string } }> };
  return event.data?.[0]?.metadata?.summary_id ?? '?';
};

describe('worker -> kafka destination', () => {
  const cleanups = useCleanups();

  it('delivers in per-user order with keys and headers; a replay appends the same sequence; an oversized record is dead-lettered', async () => {
    const topic = uniqueName('events');
    const dlq = `${topic}.dlq`;
    const out = uniqueName('out');
    const small = uniqueName('small');
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: input.brokers,
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: dlq,
          destinations: [
            { name: 'stream', type: 'kafka', batch: { lingerMs: 20 }, config: { brokers: ['${OUT_BROKERS}'], topic: `${out}.{type}` } },
            { name: 'small', type: 'kafka', batch: { lingerMs: 20 }, config: { brokers: ['${OUT_BROKERS}'], topic: small, payload: { mode: 'auto', maxInlineBytes: '2KB' } } },
          ],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, OUT_BROKERS: output.brokers.join(',') });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const logLines: string[] = [];
    const logSink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    const worker = await startWorker(loaded.value, { logger: createLogger('info', logSink), httpPort: 0 });
    cleanups.push(() => worker.stop());
    assert.ok(await waitFor(async () => (await fetch(`${worker.http.url}/readyz`)).status === 200, 30_000), 'lanes ready (each check() produced a healthcheck)');

    // Four users, five events each, interleaved; u-1's last one is large (over 2 KB, under 1 MB).
    const users = ['u-1', 'u-2', 'u-3', 'u-4'];
    const messages: Message[] = [0, 1, 2, 3, 4].flatMap((index) =>
      users.map((user) => {
        const large = user === 'u-1' && index === 4;
        const event = activityEvent(user, index, large ? { heart_rate_data: { detailed: { hr_samples: Array.from({ length: 100 }, (_, i) => ({ timestamp: '2026-07-01T06:00:00Z', bpm: 60 + i })) } } } : {});
        return { key: user, value: JSON.stringify(event), headers: { 'x-terra-trace-id': `trace-${user}-${index}`, 'terra-reference': `ref-${user}-${index}` } };
      }),
    );
    const largeSummary = 'u-1-act-4';
    await input.produce(topic, messages);

    // The small destination's topic has no {type}: its check() healthcheck went to the same topic, first.
    const first = await readTopics(output, [`${out}.activity`, small], 2 * messages.length);
    const stream = first.filter((message) => message.topic === `${out}.activity`);
    assert.equal(stream.length, messages.length, 'every record reached the output cluster');
    const expected = new Map(users.map((user) => [user, [0, 1, 2, 3, 4].map((index) => `${user}-act-${index}`)]));
    assert.deepEqual(sequenceByKey(stream, summaryOf), expected, 'keyed by user id, each user in input order');
    for (const message of stream) {
      const summary = summaryOf(message);
      const [user, , index] = [summary.slice(0, 3), summary.slice(4, 7), summary.slice(8)];
      assert.equal(message.headers[kafkaOutHeader.userId], user);
      assert.equal(message.headers[kafkaOutHeader.recordType], 'activity');
      assert.equal(message.headers[kafkaOutHeader.tenant], 'acme');
      assert.match(String(message.headers[kafkaOutHeader.recordIdentity]), /^[0-9a-f]{32}$/);
      assert.equal(message.headers[kafkaOutHeader.traceId], `trace-${user}-${index}:item:0`);
      assert.equal(message.headers[kafkaOutHeader.terraReference], `ref-${user}-${index}`);
      assert.match(String(message.headers[kafkaOutHeader.orderingTimestamp]), /^\d+$/);
      assert.equal(message.headers[kafkaOutHeader.payload], 'inline');
    }
    const smallOut = first.filter((message) => message.topic === small && message.headers[kafkaOutHeader.recordType] === 'activity');
    const healthchecks = first.filter((message) => message.topic === small && message.headers[kafkaOutHeader.recordType] === 'healthcheck');
    assert.equal(healthchecks.length, 1);
    assert.equal(smallOut.length, messages.length - 1, 'the small-limit destination got all but the large record');
    assert.ok(!smallOut.some((message) => summaryOf(message) === largeSummary));

    const parked = await readTopics(input, [dlq], 1);
    assert.equal(parked.length, 1);
    const [dead] = parked;
    assert.ok(dead !== undefined);
    assert.equal(dead.headers[deadLetterHeader.code], 'destination_record_too_large');
    assert.equal(dead.headers[deadLetterHeader.destination], 'small');
    assert.equal(dead.headers[deadLetterHeader.connector], 'kafka');
    assert.equal(dead.key, 'u-1');
    assert.equal(summaryOf(dead), largeSummary, 'the original message, untouched');

    // Replay the same input messages: each user's sequence appears again, in order, with the same identities.
    const identities = new Set(stream.map((message) => String(message.headers[kafkaOutHeader.recordIdentity])));
    await input.produce(topic, messages);
    const again = await readTopics(output, [`${out}.activity`], 2 * messages.length);
    assert.equal(again.length, 2 * messages.length);
    const doubled = new Map([...expected].map(([user, sequence]) => [user, [...sequence, ...sequence]]));
    assert.deepEqual(sequenceByKey(again, summaryOf), doubled, 'per user: the sequence, then the same sequence again');
    const replayedIdentities = sequenceByKey(again);
    for (const [user, sequence] of sequenceByKey(stream)) assert.deepEqual(replayedIdentities.get(user), [...sequence, ...sequence], `${user}: the same identities, so consumers can dedupe`);
    assert.deepEqual(new Set(again.map((message) => String(message.headers[kafkaOutHeader.recordIdentity]))), identities);
    const logs = logLines.join('');
    assert.ok(!logs.includes('u-2-act-3'), 'no payload content in the logs');
    assert.doesNotMatch(logs, /does not grant an idempotent producer/, 'the idempotent producer was used (mock with the compat patch)');
  });
});
