import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { ParkedRecord } from '../../src/dead-letters/parked-record.js';
import type { RedriveOutcome, RedriveProgress } from '../../src/dead-letters/redrive-dead-letters.js';
import { buildDeadLetter } from '../../src/lane/dead-letter.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import { exited, runCli, spawnCli } from '../support/cli-process.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../support/webhook-receiver.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const kafka = useKafkaBroker();
const secret = 'whsec-redrive-test';

const isData = (request: ReceivedRequest): boolean => !request.body.includes('"healthcheck"');
const dataRequests = (receiver: WebhookReceiver): ReceivedRequest[] => receiver.requests.filter(isData);
const jsonLines = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as T);

/** A tenant with two webhook lanes: `app` (the one that gets misconfigured) and `audit` (always fine). */
function tenantFile(topic: string, appUrl: string, auditUrl: string): Record<string, unknown> {
  const hook = (name: string, url: string): Record<string, unknown> => ({
    name,
    type: 'webhook',
    batch: { lingerMs: 20 },
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
    // 4xx answers are permanent: the record is parked at once.
    config: { url, secret: '${HOOK_SECRET}', retryStatuses: ['5xx'] },
  });
  return { tenant: 'acme', topics: [topic], deadLetterTopic: `${topic}.dlq`, destinations: [hook('app', appUrl), hook('audit', auditUrl)] };
}

describe('dlq inspect and redrive against the local broker', () => {
  const cleanups = useCleanups();

  it('records parked by a misconfigured webhook are found, re-parked with their attempts while it is broken, and land once after the fix; the other lane receives nothing', async () => {
    // The app's receiver answers 400 on the wrong path (the misconfiguration) and 200 on the right one.
    const app = await startWebhookReceiver({ secret, respond: (request) => ({ status: isData(request) && !request.path.startsWith('/terra') ? 400 : 200 }) });
    const audit = await startWebhookReceiver({ secret });
    cleanups.push(() => app.close(), () => audit.close());
    const topic = uniqueName('events');
    const { dir, workerPath } = await writeWorkerFiles({ brokers: kafka.brokers, tenants: [tenantFile(topic, `${app.url}/wrong`, `${audit.url}/terra`)] });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const env = { HOOK_SECRET: secret };

    const events = ['u-1', 'u-2', 'u-3'].flatMap((user) => [0, 1].map((index) => activityEvent(user, index)));
    await kafka.produce(topic, events.map((event, index) => ({ key: String(index % 3), value: JSON.stringify(event), headers: { 'x-terra-trace-id': `trace-${index}` } })));

    // The worker parks every record of `app` (400) and delivers every record to `audit`.
    const worker = spawnCli(['run', '--config', workerPath], env);
    cleanups.push(async () => void worker.child.kill('SIGKILL'));
    assert.ok(await waitFor(() => dataRequests(audit).length >= events.length && dataRequests(app).length >= events.length, 60_000), 'both lanes saw every event');
    const parkedSeen = await waitFor(async () => (await kafka.consumeAll(`${topic}.dlq`, { groupId: uniqueName('peek'), expected: events.length, timeoutMs: 10_000 })).length >= events.length, 60_000, 500);
    assert.ok(parkedSeen, 'every app record was parked');
    worker.child.kill('SIGTERM');
    assert.equal(await exited(worker.child), 0, worker.output.stderr);
    assert.equal(dataRequests(audit).length, events.length, 'audit got each event once');

    // inspect: one line per parked record, and a summary.
    const inspect = await runCli(['dlq', 'inspect', '--config', workerPath, '--tenant', 'acme', '--json'], env);
    assert.equal(inspect.code, 0, inspect.stderr);
    const listed = jsonLines<ParkedRecord & { summary?: unknown }>(inspect.stdout).filter((line) => line.summary === undefined);
    assert.equal(listed.length, events.length);
    for (const record of listed) {
      assert.equal(record.destination, 'app');
      assert.equal(record.code, 'destination_rejected');
      assert.equal(record.attempts, 1);
      assert.equal(record.redriven, 0);
      assert.equal(record.type, 'activity');
      assert.match(record.userId ?? '', /^u-\d$/);
      assert.equal(record.source?.topic, topic);
      assert.ok(record.identity !== null && record.identity.length > 0, 'a per-record dead letter names its record');
    }
    const text = await runCli(['dlq', 'inspect', '--config', workerPath, '--tenant', 'acme', '--code', 'destination_rejected'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /6 dead letter\(s\) selected of 6 read/);
    assert.match(text.stdout, /by code: +destination_rejected 6/);
    assert.match(text.stdout, /by destination: app 6/);

    // --dry-run sends nothing (and commits nothing: the real redrive below still sees everything).
    const before = app.requests.length;
    const dry = await runCli(['dlq', 'redrive', '--config', workerPath, '--tenant', 'acme', '--destination', 'app', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal((dry.stdout.match(/=> would redrive/g) ?? []).length, events.length);
    assert.equal(app.requests.length, before, 'a dry run sends nothing');

    // While the destination is still broken, a redrive of two records parks them again, with attempts carried over.
    // (A filter gives the redrive its own consumer group, so the unfiltered one below starts from the beginning.)
    const broken = await runCli(['dlq', 'redrive', '--config', workerPath, '--tenant', 'acme', '--destination', 'app', '--code', 'destination_rejected', '--limit', '2', '--json'], env);
    assert.equal(broken.code, 1, 'records parked again make the exit code 1');
    const brokenTotals = jsonLines<{ totals?: RedriveProgress }>(broken.stdout).find((line) => line.totals !== undefined)?.totals;
    assert.equal(brokenTotals?.selected, 2);
    assert.equal(brokenTotals?.parkedAgain, 2);
    assert.equal(brokenTotals?.delivered, 0);
    assert.equal(dataRequests(audit).length, events.length, 'the redrive never touched the audit lane');

    const reparked = jsonLines<ParkedRecord>((await runCli(['dlq', 'inspect', '--config', workerPath, '--tenant', 'acme', '--json'], env)).stdout).filter((record) => record.redriven > 0);
    assert.equal(reparked.length, 2, 'two records parked again');
    for (const record of reparked) {
      assert.equal(record.redriven, 1, 'the redriven count');
      assert.equal(record.attempts, 2, 'attempts carried over: one in the lane, one in the redrive');
      assert.equal(record.code, 'destination_rejected');
      assert.equal(record.source?.topic, topic, 'the original source position is kept');
      assert.ok(listed.some((original) => original.identity === record.identity && original.firstFailureAt === record.firstFailureAt), 'the first failure time is the original one');
    }

    // Fix the config; redrive everything of app: each record lands once, the audit lane receives nothing.
    await writeFile(join(dir, 'tenants', 'acme.yaml'), stringify(tenantFile(topic, `${app.url}/terra`, `${audit.url}/terra`)));
    const fixed = await runCli(['dlq', 'redrive', '--config', workerPath, '--tenant', 'acme', '--destination', 'app', '--json'], env);
    assert.equal(fixed.code, 0, fixed.stderr);
    const lines = jsonLines<{ totals?: RedriveProgress; outcome?: RedriveOutcome }>(fixed.stdout);
    const totals = lines.find((line) => line.totals !== undefined)?.totals;
    assert.equal(totals?.scanned, events.length + 2);
    assert.equal(totals?.delivered, events.length);
    assert.equal(totals?.parkedAgain, 0);
    assert.equal(totals?.skipped.duplicate, 2, 'the copies parked by the first redrive are not sent twice');
    const landed = dataRequests(app).filter((request) => request.path.startsWith('/terra'));
    assert.equal(landed.length, events.length, 'each record landed once');
    assert.equal(new Set(landed.map((request) => request.headers['idempotency-key'])).size, events.length);
    assert.deepEqual(new Set(landed.map((request) => request.headers['x-terra-trace-id'])), new Set(events.map((_event, index) => `trace-${index}`)), 'the original headers travel with the redriven record');
    assert.ok(landed.every((request) => request.verified), 'signed with the current secret');
    assert.equal(dataRequests(audit).length, events.length, 'the audit lane received nothing');

    // The same command again resumes after the last settled dead letter: nothing left to send.
    const again = await runCli(['dlq', 'redrive', '--config', workerPath, '--tenant', 'acme', '--destination', 'app'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 dead letter\(s\) selected/);
    assert.equal(dataRequests(app).filter((request) => request.path.startsWith('/terra')).length, events.length);
  });

  it('a redrive killed with SIGKILL midway and run again delivers every selected record, none twice beyond the one in hand', async () => {
    const receiver = await startWebhookReceiver({ secret });
    cleanups.push(() => receiver.close());
    const topic = uniqueName('events');
    const dlqTopic = `${topic}.dlq`;
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: dlqTopic,
          destinations: [
            { name: 'hook', type: 'webhook', config: { url: `${receiver.url}/terra`, secret: '${HOOK_SECRET}' } },
            { name: 'other', type: 'webhook', config: { url: `${receiver.url}/other`, secret: '${HOOK_SECRET}' } },
          ],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const env = { HOOK_SECRET: secret };

    // Dead letters as a lane writes them: 40 of `hook` (the selection) and 10 of `other` (not selected).
    const total = 40;
    const parkedAt = Date.now() - 60_000;
    const deadLetters = Array.from({ length: total + 10 }, (_, index) => {
      const value = Buffer.from(JSON.stringify(activityEvent(`user-${index % 5}`, index)));
      return buildDeadLetter({
        message: { topic, partition: index % 4, offset: String(1000 + index), timestampMs: parkedAt, key: Buffer.from(String(index % 5)), value, headers: {}, sizeBytes: value.length },
        error: new FanoutError('destination_unavailable', 'The receiver was down.'),
        attempts: 3,
        firstFailureMs: parkedAt,
        lastFailureMs: parkedAt,
        tenant: 'acme',
        destination: index < total ? 'hook' : 'other',
        connector: 'webhook',
      });
    });
    await kafka.produce(dlqTopic, deadLetters.map((message) => ({ key: message.key, value: message.value, headers: message.headers })));

    const args = ['dlq', 'redrive', '--config', workerPath, '--tenant', 'acme', '--destination', 'hook', '--rate', '10'];
    const first = spawnCli(args, env);
    cleanups.push(async () => void first.child.kill('SIGKILL'));
    assert.ok(await waitFor(() => dataRequests(receiver).length >= 10, 60_000, 5), 'the first redrive delivered some');
    first.child.kill('SIGKILL');
    await exited(first.child);
    const atKill = dataRequests(receiver).length;
    assert.ok(atKill < total, `killed midway (${atKill}/${total})`);

    const second = await runCli(args, env);
    assert.equal(second.code, 0, second.stderr);
    const delivered = dataRequests(receiver);
    const keys = new Set(delivered.map((request) => request.headers['idempotency-key']));
    assert.equal(keys.size, total, 'every selected record landed');
    assert.ok(delivered.length - keys.size <= 1, `at most the dead letter in hand at the kill was sent twice (${delivered.length - keys.size})`);
    assert.ok(delivered.every((request) => request.path === '/terra'), 'only the destination that parked them received anything');
  });
});
