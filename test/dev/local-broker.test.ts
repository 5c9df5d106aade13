import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { Consumer, ConsumerGroupJoinEvent, KafkaMessage } from 'kafkajs';

import { startLocalBroker } from '../../src/dev/local-broker.js';
import { createTestKafka, decodeHeaders, uniqueName, useKafkaBroker } from '../support/kafka.js';

const ORDERS = 'orders';
const SHARED = 'shared';
const kafka = useKafkaBroker({
  brokers: 3,
  topics: [
    { name: ORDERS, partitions: 3 },
    { name: SHARED, partitions: 4 },
  ],
});

const fixture = fileURLToPath(new URL('./fixtures/group-member.js', import.meta.url));

test('pre-creates topics with the requested partition count', async () => {
  const admin = kafka.client().admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [ORDERS, SHARED] });
    const partitionCounts = Object.fromEntries(topics.map((topic) => [topic.name, topic.partitions.length]));
    assert.deepEqual(partitionCounts, { [ORDERS]: 3, [SHARED]: 4 });
  } finally {
    await admin.disconnect();
  }
});

test('an idempotent producer works (controller fallback of the compat patch)', async () => {
  const topic = uniqueName('idempotent');
  const producer = kafka.client().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const [result] = await producer.send({ topic, messages: [{ key: 'k', value: 'v' }] });
    assert.equal(result?.errorCode, 0);
  } finally {
    await producer.disconnect();
  }
});

test('a group resumes from offsets committed by hand', async (t) => {
  const groupId = uniqueName('resume');
  const messages = Array.from({ length: 9 }, (_, i) => ({
    partition: i % 3,
    key: `user-${i}`,
    value: JSON.stringify({ seq: i }),
    headers: { 'x-seq': String(i), 'x-multi': ['a', 'b'] },
  }));
  await kafka.produce(ORDERS, messages);

  // First member: read everything, but commit only "offsets 0 and 1 are done" per partition.
  const first = kafka.consumer(groupId);
  const joined = waitForJoin(first);
  const seen: Array<{ partition: number; message: KafkaMessage }> = [];
  let allSeen = (): void => {};
  const gotAll = new Promise<void>((resolve) => {
    allSeen = resolve;
  });
  await first.connect();
  try {
    await first.subscribe({ topics: [ORDERS], fromBeginning: true });
    await first.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        seen.push({ partition, message });
        if (seen.length === messages.length) allSeen();
      },
    });
    const join = await joined;
    t.diagnostic(`first join of a new group took ${join.payload.duration} ms`);
    await withTimeout(gotAll, 15_000, 'first member did not receive all 9 messages');

    const fourth = seen.find(({ message }) => message.key?.toString() === 'user-4');
    assert.ok(fourth, 'message user-4 was consumed');
    assert.equal(fourth.message.value?.toString(), JSON.stringify({ seq: 4 }));
    assert.deepEqual(decodeHeaders(fourth.message.headers), { 'x-seq': '4', 'x-multi': ['a', 'b'] });

    await first.commitOffsets([0, 1, 2].map((partition) => ({ topic: ORDERS, partition, offset: '2' })));
  } finally {
    await first.disconnect();
  }

  const admin = kafka.client().admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [ORDERS] });
    const offsets = committed?.partitions.map(({ partition, offset }) => [partition, offset]).sort();
    assert.deepEqual(offsets, [
      [0, '2'],
      [1, '2'],
      [2, '2'],
    ]);
  } finally {
    await admin.disconnect();
  }

  // A new member of the same group starts at the committed offsets: only offset 2 of each partition.
  const resumed = await kafka.consumeAll(ORDERS, { groupId, expected: 3, timeoutMs: 15_000 });
  const positions = resumed.map(({ partition, offset }) => `${partition}@${offset}`).sort();
  assert.deepEqual(positions, ['0@2', '1@2', '2@2']);
  assert.deepEqual(resumed.map(({ key }) => key).sort(), ['user-6', 'user-7', 'user-8']);
});

test('a second process joining a running group does not crash it (SyncGroup race)', async (t) => {
  const groupId = uniqueName('shared');
  const crashes: string[] = [];
  const assignments: number[][] = [];
  const local = kafka.consumer(groupId);
  local.on(local.events.CRASH, (event) => crashes.push(event.payload.error.message));
  local.on(local.events.GROUP_JOIN, (event) => assignments.push(partitionsOf(event, SHARED)));
  const firstJoin = waitForJoin(local);
  let child: ChildProcess | undefined;
  await local.connect();
  try {
    await local.subscribe({ topics: [SHARED], fromBeginning: true });
    await local.run({ eachMessage: async () => {} });
    const join = await firstJoin;
    t.diagnostic(`in-process member joined in ${join.payload.duration} ms`);
    assert.deepEqual(assignments.at(-1), [0, 1, 2, 3]);

    // Only now, with the group up and running, does the second process join it.
    child = spawn(process.execPath, [fixture, kafka.brokers.join(','), groupId, SHARED], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const childExit = once(child, 'exit');
    let childStderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      childStderr += chunk;
    });
    const childEvents: ChildEvent[] = [];
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (line) => childEvents.push(parseChildEvent(line)));
    }
    const childJoin = (): number[] => childEvents.filter((e) => e.event === 'join').at(-1)?.partitions ?? [];

    // Both members must end up sharing the 4 partitions.
    const started = Date.now();
    await waitUntil(
      () => {
        const mine = assignments.at(-1) ?? [];
        const theirs = childJoin();
        const union = new Set([...mine, ...theirs]);
        return mine.length > 0 && theirs.length > 0 && union.size === 4 && mine.length + theirs.length === 4;
      },
      40_000,
      () => `group did not settle: local ${JSON.stringify(assignments)}, child ${JSON.stringify(childEvents)} ${childStderr}`,
    );
    t.diagnostic(`second process joined and the group rebalanced in ${Date.now() - started} ms`);

    // The child really consumes its share.
    const childPartitions = childJoin();
    await kafka.produce(
      SHARED,
      [0, 1, 2, 3].map((partition) => ({ partition, key: `p${partition}`, value: 'x' })),
    );
    await waitUntil(
      () => childEvents.filter((e) => e.event === 'message').length >= childPartitions.length,
      15_000,
      () => `child consumed too little: ${JSON.stringify(childEvents)}`,
    );

    assert.deepEqual(crashes, []);
    assert.deepEqual(childEvents.filter((e) => e.event === 'crash'), []);
    child.kill('SIGTERM');
    const [code] = await withTimeout(childExit, 10_000, 'child did not exit after SIGTERM');
    assert.equal(code, 0, childStderr);
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await local.disconnect();
  }
});

test('stop() terminates the broker process, even with clients connected', async (t) => {
  const startedAt = performance.now();
  const broker = await startLocalBroker({ brokers: 1, topics: [{ name: 'one', partitions: 1 }] });
  t.diagnostic(`broker start to ready: ${(performance.now() - startedAt).toFixed(1)} ms`);
  assert.equal(broker.brokers.length, 1);
  assert.ok(isAlive(broker.pid));

  const producer = createTestKafka(broker.brokers).producer();
  await producer.connect();
  await producer.send({ topic: 'one', messages: [{ value: 'hello' }] });

  const stoppingAt = performance.now();
  await broker.stop();
  t.diagnostic(`stop with a client connected: ${(performance.now() - stoppingAt).toFixed(1)} ms`);
  assert.equal(isAlive(broker.pid), false, `pid ${broker.pid} is still there`);
  await broker.stop(); // idempotent
  await producer.disconnect();
});

test('a missing binary is reported with the command that builds it', async () => {
  await assert.rejects(startLocalBroker({ binary: '/nonexistent/kafka-mock' }), /build-kafka-mock\.sh/);
});

/** One stdout line of the group-member fixture. */
interface ChildEvent {
  event: string;
  partitions?: number[];
  error?: string;
}

function parseChildEvent(line: string): ChildEvent {
  const parsed: unknown = JSON.parse(line);
  if (typeof parsed !== 'object' || parsed === null) return { event: `unparsable: ${line}` };
  const event = Reflect.get(parsed, 'event');
  const partitions: unknown = Reflect.get(parsed, 'partitions');
  const error = Reflect.get(parsed, 'error');
  return {
    event: typeof event === 'string' ? event : `unparsable: ${line}`,
    ...(Array.isArray(partitions) ? { partitions: partitions.filter((p): p is number => typeof p === 'number') } : {}),
    ...(typeof error === 'string' ? { error } : {}),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ESRCH') return false;
    throw error;
  }
}

function waitForJoin(consumer: Consumer): Promise<ConsumerGroupJoinEvent> {
  return withTimeout(
    new Promise<ConsumerGroupJoinEvent>((resolve) => {
      const remove = consumer.on(consumer.events.GROUP_JOIN, (event) => {
        remove();
        resolve(event);
      });
    }),
    15_000,
    'consumer did not join its group',
  );
}

function partitionsOf(event: ConsumerGroupJoinEvent, topic: string): number[] {
  return [...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
}

async function waitUntil(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(describe());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
