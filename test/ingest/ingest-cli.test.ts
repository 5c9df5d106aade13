import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freezeBroker, postSigned, send, spawnCli, terraHeaders, type Reply } from '../support/ingest.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const cli = join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist/src/cli/main.js');
const SECRET = 'cli-ingest-secret';
const kafka = useKafkaBroker({ brokers: 1 });
const cleanups = useCleanups();

/** The value of an unlabelled gauge on a Prometheus /metrics page. */
async function gauge(metricsUrl: string, name: string): Promise<number> {
  const page = await send(metricsUrl);
  const line = page.body.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/** Starts a POST whose body is sent in two parts; the second part is sent when the test says. */
function postInTwoParts(url: string, body: Buffer, headers: Record<string, string>): { finish(): void; reply: Promise<Reply> } {
  const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent: false });
  const reply = new Promise<Reply>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }));
    });
  });
  const half = body.length >> 1;
  req.write(body.subarray(0, half));
  return { finish: () => req.end(body.subarray(half)), reply };
}

describe('terra-fanout ingest (the real command)', () => {
  it('on SIGTERM stops accepting, finishes the webhooks in flight (one still uploading, one waiting for Kafka), answers them 200 and exits 0', async () => {
    const topic = uniqueName('ingest-cli');
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      worker: {
        log: { level: 'info' },
        shutdown: { drainTimeoutMs: 30_000 },
        ingest: { host: '127.0.0.1', port: 0, produceTimeoutMs: 30_000, readTimeoutMs: 30_000 },
      },
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: `${topic}.dlq`,
          source: { signature: { secret: '${INGEST_SECRET}' } },
          ingest: { enabled: true },
          destinations: [{ name: 'files', type: 'file', config: { directory: join('/tmp', 'unused') } }],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const child = spawnCli(cli, ['ingest', '--config', workerPath], { ...process.env, INGEST_SECRET: SECRET });
    cleanups.push(async () => {
      if (child.child.exitCode === null) child.child.kill('SIGKILL');
      await child.exited;
    });

    const gatewayUrl = String((await child.waitForLog((line) => line['msg'] === 'Ingest gateway started.', 20_000))['url']);
    const metricsUrl = `${String((await child.waitForLog((line) => line['msg'] === 'Metrics and health endpoints started.', 20_000))['http'])}/metrics`;
    assert.ok(await waitFor(async () => (await send(`${gatewayUrl}/readyz`)).status === 200, 20_000), 'gateway ready');
    assert.equal((await send(metricsUrl.replace('/metrics', '/readyz'))).status, 200, 'the metrics port\'s /readyz follows the producer too');

    const uploading = Buffer.from(JSON.stringify(activityEvent('user-uploading', 1)));
    const waiting = Buffer.from(JSON.stringify(activityEvent('user-waiting', 2)));
    const first = postInTwoParts(`${gatewayUrl}/terra/acme`, uploading, terraHeaders(uploading, SECRET, { 'x-terra-trace-id': 'uploading' }));
    const half = uploading.length >> 1;
    assert.ok(await waitFor(async () => (await gauge(metricsUrl, 'terra_fanout_ingest_in_flight_bytes')) === half, 10_000), 'the first half of the body arrived');

    // Freeze the broker so the second webhook waits for its acknowledgement.
    const resume = freezeBroker(kafka.pid, cleanups);
    const second = postSigned(gatewayUrl, 'acme', waiting, SECRET, { 'x-terra-trace-id': 'waiting' });
    assert.ok(await waitFor(async () => (await gauge(metricsUrl, 'terra_fanout_ingest_in_flight_bytes')) === half + waiting.length, 10_000), 'the second webhook is read and waits for Kafka');

    child.child.kill('SIGTERM');
    await child.waitForLog((line) => line['msg'] === 'Draining the ingest gateway.', 10_000);
    await assert.rejects(send(`${gatewayUrl}/readyz`), /ECONNREFUSED|ECONNRESET/, 'no new connections while draining');

    resume();
    first.finish();
    const [firstReply, secondReply] = await Promise.all([first.reply, second]);
    assert.equal(firstReply.status, 200, firstReply.body);
    assert.equal(secondReply.status, 200, secondReply.body);
    assert.equal(firstReply.headers['connection'], 'close');
    assert.equal(await child.exited, 0, child.stderr());
    await child.waitForLog((line) => line['msg'] === 'Ingest gateway stopped.', 1_000);

    const stored = await kafka.consumeAll(topic, { groupId: uniqueName('read'), expected: 2 });
    assert.deepEqual(stored.map((message) => message.headers['x-terra-trace-id']).sort(), ['uploading', 'waiting']);
    assert.deepEqual(stored.map((message) => message.value).sort(), [uploading.toString(), waiting.toString()].sort());
  });

  it('refuses to start when no tenant has ingest enabled', async () => {
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [{ tenant: 'plain', topics: ['t'], deadLetterTopic: 't.dlq', destinations: [{ name: 'files', type: 'file', config: { directory: '/tmp/unused' } }] }],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const child = spawnCli(cli, ['ingest', '--config', workerPath]);
    assert.equal(await child.exited, 2);
    assert.match(child.stderr(), /no tenant has an ingest section/);
  });
});
