import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { loadWorkerWithTenants } from '../../src/config/load-config.js';
import { createLogger } from '../../src/observability/logger.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const kafka = useKafkaBroker();
const secret = 'whsec-integration-test';


describe('worker against the local broker', () => {
  const cleanups = useCleanups();

  it('delivers to file and webhook; a webhook that is down stalls only its own lane and catches up', async () => {
    let down = false;
    const receiver = await startWebhookReceiver({ secret, respond: () => (down ? { status: 503 } : { status: 200 }) });
    cleanups.push(() => receiver.close());
    const topic = uniqueName('events');
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: `${topic}.dlq`,
          destinations: [
            { name: 'files', type: 'file', batch: { lingerMs: 20 }, config: { directory: '${OUT_DIR}' } },
            { name: 'hook', type: 'webhook', batch: { lingerMs: 20 }, retry: { initialDelayMs: 100, maxDelayMs: 300 }, config: { url: `${receiver.url}/terra`, secret: '${HOOK_SECRET}' } },
          ],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'out');
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, HOOK_SECRET: secret, OUT_DIR: out });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));

    const logLines: string[] = [];
    const logSink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    const worker: RunningWorker = await startWorker(loaded.value, { logger: createLogger('debug', logSink), httpPort: 0 });
    cleanups.push(() => worker.stop());

    // The destination goes down after the lanes are ready (their checks passed), mid-stream.
    assert.ok(await waitFor(async () => (await fetch(`${worker.http.url}/readyz`)).status === 200, 30_000), 'lanes ready');
    down = true;
    const users = ['u-1', 'u-2', 'u-3', 'u-4'];
    const events = users.flatMap((user) => [0, 1, 2, 3, 4].map((index) => activityEvent(user, index)));
    await kafka.produce(topic, events.map((event, index) => ({ key: String(index % 4), value: JSON.stringify(event), headers: { 'x-terra-trace-id': `trace-${index}` } })));

    // The file lane finishes while the webhook is still answering 503.
    assert.ok(await waitFor(async () => (await listFiles(out)).length === events.length, 30_000), 'every record written to files');
    const dataRequests = (): typeof receiver.requests => receiver.requests.filter((request) => !request.body.includes('"healthcheck"'));
    // Under load the file lane can finish before the webhook lane's first attempt: wait for it.
    assert.ok(await waitFor(() => dataRequests().length > 0, 30_000), 'webhook lane kept trying');
    assert.equal(dataRequests().filter((request) => request.status < 300).length, 0, 'webhook lane has delivered nothing yet');
    // Files appear during send(); the counter moves when send() returns.
    const metricsShow = (pattern: RegExp): Promise<boolean> => waitFor(async () => pattern.test(await (await fetch(`${worker.http.url}/metrics`)).text()), 10_000);
    assert.ok(await metricsShow(/terra_fanout_lane_stalled\{tenant="acme",destination="hook",connector="webhook",reason="destination_unavailable"\} 1/), 'webhook lane reported stalled');
    assert.ok(await metricsShow(/terra_fanout_lane_stalled\{tenant="acme",destination="files",connector="file",reason="destination_unavailable"\} 0/), 'the file lane is not');
    const readiness = (await (await fetch(`${worker.http.url}/readyz`)).json()) as { status: string; stalled: Array<{ lane: string; reason: string }> };
    assert.deepEqual(readiness.stalled.map(({ lane, reason }) => [lane, reason]), [['acme/hook', 'destination_unavailable']], '/readyz lists the stalled lane');
    assert.ok(await metricsShow(/terra_fanout_records_delivered_total\{tenant="acme",destination="files",connector="file"\} 20/), 'file lane counted 20 delivered');

    down = false;
    const delivered = (): Set<string> =>
      new Set(receiver.requests.filter((request) => request.status === 200 && request.headers['x-terra-trace-id']?.startsWith('trace-')).map((request) => request.headers['x-terra-trace-id'] ?? ''));
    assert.ok(await waitFor(() => delivered().size === events.length, 30_000), `webhook caught up (${delivered().size}/${events.length})`);
    for (const request of receiver.requests) assert.equal(request.verified, true, 'every webhook request carries a valid Terra signature');
    const ok = receiver.requests.filter((request) => request.status === 200 && request.headers['x-terra-trace-id']?.startsWith('trace-'));
    assert.ok(ok.every((request) => request.headers['idempotency-key'] !== undefined && request.headers['x-terra-ordering-timestamp'] !== undefined));

    // The file layout is Terra's, and each file is a valid Terra event with its one data item.
    const sample = join(out, '2022-03-16', 'activity', 'u-1-2026-07-01T06:00:00Z.json');
    const stored = JSON.parse(await readFile(sample, 'utf8')) as { type: string; user: { user_id: string }; data: Array<{ metadata: { summary_id: string } }> };
    assert.equal(stored.type, 'activity');
    assert.equal(stored.user.user_id, 'u-1');
    assert.equal(stored.data.length, 1);
    assert.equal(stored.data[0]?.metadata.summary_id, 'u-1-act-0');

    const logs = logLines.join('');
    assert.match(logs, /Destination failed; the lane pauses and retries/, 'the outage was logged');
    assert.ok(!logs.includes(secret), 'the webhook secret never reaches the logs');
    assert.ok(!logs.includes('u-1-act-0'), 'no payload content in the logs');

    const ready = await fetch(`${worker.http.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal((await fetch(`${worker.http.url}/healthz`)).status, 200);
  });
});
