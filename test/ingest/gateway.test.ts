import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { tenantConfigSchema, type TenantConfigInput } from '../../src/config/tenant-schema.js';
import { workerConfigSchema, type WorkerConfigInput } from '../../src/config/worker-schema.js';
import { gatewaySettings } from '../../src/ingest/config.js';
import { startGateway, type RunningGateway } from '../../src/ingest/gateway.js';
import { createIngestMetrics } from '../../src/observability/metrics.js';
import { freezeBroker, postSigned, send, terraHeaders } from '../support/ingest.js';
import { uniqueName, useKafkaBroker, type ConsumedMessage } from '../support/kafka.js';
import { activityEvent, useCleanups, waitFor } from '../support/worker-files.js';
import { validFixture } from '../terra/support/terra-fixtures.js';

const SECRET = 'gateway-test-secret';
const kafka = useKafkaBroker({ brokers: 1 });
const cleanups = useCleanups();
const logger = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }, pino.destination(2));

interface Started {
  gateway: RunningGateway;
  topic: string;
  tenant: string;
}

/** A gateway for one fresh tenant and topic; stopped after the file. */
async function startFor(options: { brokers?: string[]; ingest?: WorkerConfigInput['ingest']; tenant?: Partial<TenantConfigInput>; kafka?: Partial<WorkerConfigInput['kafka']> } = {}): Promise<Started> {
  const tenant = uniqueName('t').replace(/-/g, '');
  const topic = uniqueName('ingest');
  const worker = workerConfigSchema.parse({
    kafka: { brokers: options.brokers ?? kafka.brokers, librdkafkaMockCompat: true, connectionTimeoutMs: 1000, requestTimeoutMs: 3000, ...options.kafka },
    ingest: { host: '127.0.0.1', port: 0, bodyLimit: '64KiB', produceTimeoutMs: 3000, readTimeoutMs: 1000, retryAfterSeconds: 7, ...options.ingest },
    shutdown: { drainTimeoutMs: 5000 },
  });
  const tenantConfig = tenantConfigSchema.parse({
    tenant,
    topics: [topic],
    deadLetterTopic: `${topic}.dlq`,
    source: { signature: { secret: SECRET } },
    ingest: { enabled: true },
    destinations: [{ name: 'files', type: 'file', config: { directory: '/nonexistent-unused' } }],
    ...options.tenant,
  });
  const gateway = await startGateway(gatewaySettings(worker, [tenantConfig]), { kafka: worker.kafka, logger, metrics: createIngestMetrics() });
  cleanups.push(() => gateway.stop());
  return { gateway, topic, tenant };
}

async function ready(gateway: RunningGateway): Promise<void> {
  assert.ok(await waitFor(async () => (await send(`${gateway.url}/readyz`)).status === 200, 15_000), '/readyz turns 200 once the producer is connected');
}

async function counterValue(gateway: RunningGateway, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await gateway.metrics.registry.getMetricsAsJSON()).find((candidate) => candidate.name === name);
  const values = metric?.values ?? [];
  return values.filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected)).reduce((sum, value) => sum + value.value, 0);
}

async function readTopic(topic: string, expected: number, timeoutMs = 20_000): Promise<ConsumedMessage[]> {
  return kafka.consumeAll(topic, { groupId: uniqueName('read'), expected, timeoutMs });
}

/** How many messages the topic holds: the sum of its partitions' high watermarks (the topic is new, nothing was deleted). */
async function topicSize(topic: string): Promise<number> {
  const admin = kafka.client().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, partition) => sum + Number(partition.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('ingest gateway against the local broker', () => {
  it('produces signed events byte for byte, keyed by user id, with Terra\'s headers, and answers 200 after the ack', async () => {
    const { gateway, topic, tenant } = await startFor();
    await ready(gateway);
    const bodies = [
      validFixture('activity'),
      validFixture('user_reauth'),
      // Odd spacing, escapes and key order survive: the bytes are produced, never re-serialized.
      Buffer.from('{ "type" :"deauth","user":{"user_id":"u-\\u00e9", "provider":"FITBIT"} ,"status":"success","message":"caf\u00e9"}\n'),
      // Malformed JSON is still produced (unkeyed) by default; the lanes park it with a reason.
      Buffer.from('{"type":"activity","user":'),
    ];
    const replies = [];
    for (const [index, body] of bodies.entries()) {
      replies.push(await postSigned(gateway.url, tenant, body, SECRET, { 'terra-reference': `ref-${index}`, 'x-terra-trace-id': `trace-${index}`, 'x-terra-ordering-timestamp': String(1782993600000 + index) }));
    }
    for (const reply of replies) {
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(JSON.parse(reply.body), { status: 'stored' });
    }

    const messages = await readTopic(topic, bodies.length);
    assert.equal(messages.length, bodies.length);
    for (const [index, body] of bodies.entries()) {
      const found = messages.filter((message) => message.headers['x-terra-trace-id'] === `trace-${index}`);
      assert.equal(found.length, 1, `trace-${index} produced once`);
      const [message] = found;
      assert.equal(message?.value, body.toString('utf8'), 'the exact bytes');
      assert.equal(message?.headers['terra-reference'], `ref-${index}`);
      assert.equal(message?.headers['x-terra-ordering-timestamp'], String(1782993600000 + index));
      assert.match(String(message?.headers['terra-signature']), /^t=\d+,v1=[0-9a-f]{64}$/);
      assert.equal(message?.headers['content-type'], undefined, 'only Terra\'s delivery headers are kept');
    }
    const keyOf = (index: number): string | null | undefined => messages.find((message) => message.headers['x-terra-trace-id'] === `trace-${index}`)?.key;
    assert.equal(keyOf(0), '40f7b0e1-89e2-43ac-a5b8-1e29c8d47cad');
    assert.equal(keyOf(1), (JSON.parse(bodies[1]?.toString() ?? '{}') as { new_user: { user_id: string } }).new_user.user_id);
    assert.equal(keyOf(2), 'u-\u00e9');
    assert.equal(keyOf(3), null);
    assert.equal(await counterValue(gateway, 'terra_fanout_ingest_requests_total', { tenant, status: '200' }), 4);
    assert.equal(await counterValue(gateway, 'terra_fanout_ingest_produced_bytes_total', { tenant }), bodies.reduce((sum, body) => sum + body.length, 0));
  });

  it('refuses what it must not store: bad signature 401, oversized 413 (declared or streamed), slow body 408, unknown tenant 404, and answers healthchecks without producing them', async () => {
    const { gateway, topic, tenant } = await startFor();
    await ready(gateway);
    const body = Buffer.from(JSON.stringify(activityEvent('user-refused', 1)));

    const wrongSecret = await postSigned(gateway.url, tenant, body, 'not-the-secret');
    assert.equal(wrongSecret.status, 401);
    assert.equal((JSON.parse(wrongSecret.body) as { error: { code: string } }).error.code, 'signature_invalid');
    const unsigned = await send(`${gateway.url}/terra/${tenant}`, { body });
    assert.equal(unsigned.status, 401);
    assert.equal((JSON.parse(unsigned.body) as { error: { code: string } }).error.code, 'signature_missing');
    assert.equal(await counterValue(gateway, 'terra_fanout_ingest_signature_failures_total', { tenant }), 2);

    const big = Buffer.alloc(64 * 1024 + 1, 0x20);
    const declared = await postSigned(gateway.url, tenant, big, SECRET);
    assert.equal(declared.status, 413);
    assert.equal((JSON.parse(declared.body) as { error: { code: string } }).error.code, 'payload_too_large');
    // Without a Content-Length (chunked), the limit is counted while the body streams in.
    const streamed = await send(`${gateway.url}/terra/${tenant}`, { body: big, chunked: true, headers: terraHeaders(big, SECRET) }).catch((error: unknown) => error);
    assert.ok(!(streamed instanceof Error), `the 413 arrives before the connection closes: ${String(streamed)}`);
    assert.equal((streamed as { status: number }).status, 413);

    const unknown = await postSigned(gateway.url, 'no-such-tenant', body, SECRET);
    assert.equal(unknown.status, 404);
    assert.equal(await counterValue(gateway, 'terra_fanout_ingest_requests_total', { tenant: '_unknown', status: '404' }), 1);
    assert.equal((await send(`${gateway.url}/terra/${tenant}`)).status, 405);

    const healthcheck = validFixture('healthcheck');
    const answered = await postSigned(gateway.url, tenant, healthcheck, SECRET);
    assert.equal(answered.status, 200);
    assert.deepEqual(JSON.parse(answered.body), { status: 'healthcheck' });

    const slow = await slowPost(`${gateway.url}/terra/${tenant}`, body, terraHeaders(body, SECRET));
    assert.equal(slow.status, 408);
    assert.equal((JSON.parse(slow.body) as { error: { code: string } }).error.code, 'ingest_read_timeout');

    // A sentinel after all of them: it is the only message in the topic.
    const sentinel = Buffer.from(JSON.stringify(activityEvent('user-sentinel', 2)));
    assert.equal((await postSigned(gateway.url, tenant, sentinel, SECRET)).status, 200);
    assert.equal(await topicSize(topic), 1);
    assert.deepEqual((await readTopic(topic, 1)).map((message) => message.value), [sentinel.toString()]);
  });

  it('with rejectInvalid, refuses what a lane would park with 400 and the decoder\'s code', async () => {
    const { gateway, topic, tenant } = await startFor({ tenant: { ingest: { enabled: true, rejectInvalid: true } } });
    await ready(gateway);
    const cases: Array<[string, string]> = [
      ['{"type":"activity","user":', 'malformed_json'],
      ['{"type":"no_such_type","user":{"user_id":"u","provider":"X"}}', 'unknown_event_type'],
      ['{"type":"activity","user":{"provider":"GARMIN"},"data":[],"version":"2022-03-16"}', 'schema_violation'],
    ];
    for (const [text, code] of cases) {
      const reply = await postSigned(gateway.url, tenant, Buffer.from(text), SECRET);
      assert.equal(reply.status, 400, text);
      assert.equal((JSON.parse(reply.body) as { error: { code: string } }).error.code, code);
    }
    const good = Buffer.from(JSON.stringify(activityEvent('user-valid', 3)));
    assert.equal((await postSigned(gateway.url, tenant, good, SECRET)).status, 200);
    assert.equal(await topicSize(topic), 1);
    assert.deepEqual((await readTopic(topic, 1)).map((message) => message.value), [good.toString()]);
  });

  it('Kafka unreachable: /readyz 503 and webhooks 503 with Retry-After, without waiting out the produce timeout', async () => {
    const { gateway, tenant } = await startFor({ brokers: [`127.0.0.1:${await closedPort()}`] });
    const readyz = await send(`${gateway.url}/readyz`);
    assert.equal(readyz.status, 503);
    const body = Buffer.from(JSON.stringify(activityEvent('user-nowhere', 1)));
    const reply = await postSigned(gateway.url, tenant, body, SECRET);
    assert.equal(reply.status, 503);
    assert.equal(reply.headers['retry-after'], '7');
    assert.equal((JSON.parse(reply.body) as { error: { code: string } }).error.code, 'kafka_unavailable');
  });

  it('Kafka stops answering: 503 within the produce timeout, then 2xx once it is back; nothing lost, nothing doubled beyond Terra\'s retries', async () => {
    const { gateway, topic, tenant } = await startFor({ ingest: { produceTimeoutMs: 1500 } });
    await ready(gateway);
    const event = (index: number): Buffer => Buffer.from(JSON.stringify(activityEvent(`user-outage-${index}`, index)));
    const attempts = new Map<number, number>();
    /** Posts like Terra: every attempt of one event carries the same trace id. */
    const deliver = async (index: number) => {
      attempts.set(index, (attempts.get(index) ?? 0) + 1);
      return postSigned(gateway.url, tenant, event(index), SECRET, { 'x-terra-trace-id': `trace-${index}` });
    };

    assert.equal((await deliver(1)).status, 200);
    const resume = freezeBroker(kafka.pid, cleanups);
    try {
      const sentAt = Date.now();
      const during = await deliver(2);
      assert.equal(during.status, 503, during.body);
      assert.equal(during.headers['retry-after'], '7');
      assert.ok(Date.now() - sentAt < 1500 + 5_000, `answered after ${Date.now() - sentAt} ms`);
      assert.ok(await waitFor(async () => (await send(`${gateway.url}/readyz`)).status === 503, 5_000), '/readyz says not ready');
      assert.equal((await deliver(3)).status, 503);
    } finally {
      resume();
    }

    // Terra retries what was not answered 2xx until it is.
    for (const index of [2, 3]) {
      assert.ok(await waitFor(async () => (await deliver(index)).status === 200, 30_000, 500), `event ${index} stored after the broker returned`);
    }
    assert.equal((await deliver(4)).status, 200);
    await ready(gateway);

    const messages = await readTopic(topic, await topicSize(topic));
    for (const index of [1, 2, 3, 4]) {
      const copies = messages.filter((message) => message.headers['x-terra-trace-id'] === `trace-${index}`);
      assert.ok(copies.length >= 1, `event ${index} is stored`);
      assert.ok(copies.length <= (attempts.get(index) ?? 0), `event ${index}: ${copies.length} copies from ${attempts.get(index)} deliveries`);
      for (const copy of copies) assert.equal(copy.value, event(index).toString());
    }
    for (const index of [1, 4]) assert.equal(messages.filter((message) => message.headers['x-terra-trace-id'] === `trace-${index}`).length, 1, `event ${index} (answered 200 at once) is stored once`);
  });
});

/** Sends the headers and half the body, then nothing: the gateway must give up at readTimeoutMs. */
async function slowPost(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent: false });
    req.once('error', reject);
    req.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => {
        req.destroy();
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
      });
    });
    req.write(body.subarray(0, body.length >> 1));
  });
}
