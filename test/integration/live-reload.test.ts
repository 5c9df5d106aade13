import assert from 'node:assert/strict';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Partitioners } from 'kafkajs';
import { stringify } from 'yaml';
import { loadWorkerWithTenants } from '../../src/config/load-config.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTenantsLoader } from '../../src/worker/reload-tenants.js';
import { startWorker } from '../../src/worker/worker.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { startWebhookReceiver, type ReceivedRequest } from '../support/webhook-receiver.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const kafka = useKafkaBroker();

/** Replaces a file in one step, as config tools and editors do, so the watcher never reads half a file. */
async function replaceFile(path: string, content: string): Promise<void> {
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
}

interface LogLine {
  msg: string;
  lane?: string;
  tenant?: string;
  destination?: string;
  started?: string[];
  restarted?: string[];
  stopped?: string[];
  unchanged?: number;
  problems?: string[];
}

describe('live reload of tenant files while events flow', () => {
  const cleanups = useCleanups();

  it('adds a tenant, restarts only the lane whose batch settings changed, keeps the last good config over a broken file, stops a removed destination; nothing lost or doubled, untouched lanes never restart', async () => {
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    const acmeTopic = uniqueName('acme');
    const betaTopic = uniqueName('beta');
    const hook = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, type: 'webhook', batch: { lingerMs: 20 }, ...extra, config: { url: `${receiver.url}/${name}` } });
    const acme = (destinations: Array<Record<string, unknown>>): Record<string, unknown> => ({ tenant: 'acme', topics: [acmeTopic], deadLetterTopic: `${acmeTopic}.dlq`, destinations });
    const beta = { tenant: 'beta', topics: [betaTopic], deadLetterTopic: `${betaTopic}.dlq`, destinations: [hook('fresh')] };
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [acme([hook('steady'), hook('batchy', { batch: { lingerMs: 20, maxRecords: 100 } }), hook('leaving')])],
      worker: { tenants: { dir: 'tenants', debounceMs: 200, rescanIntervalMs: 2000 }, log: { level: 'info' } },
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const tenantFile = join(dir, 'tenants', 'acme.yaml');

    const logs: LogLine[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
          done();
        },
      }),
    );
    const loaded = await loadWorkerWithTenants(workerPath, process.env);
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const worker = await startWorker(loaded.value, { logger, httpPort: 0, loadTenants: createTenantsLoader(workerPath, loaded.value.worker, logger) });
    cleanups.push(() => worker.stop());

    // Events flow on both topics the whole time, until `flowing` is turned off.
    const producer = kafka.client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const produced = { [acmeTopic]: 0, [betaTopic]: 0 };
    let flowing = true;
    const flow = (async () => {
      let index = 0;
      while (flowing) {
        for (const topic of [acmeTopic, betaTopic]) {
          const events = [0, 1].map(() => activityEvent(`user-${index % 7}`, index++));
          await producer.send({ topic, acks: -1, messages: events.map((event) => ({ key: String(index % 7), value: JSON.stringify(event) })) });
          produced[topic] = (produced[topic] ?? 0) + events.length;
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();

    const sent = (path: string): ReceivedRequest[] => receiver.requests.filter((request) => request.path === `/${path}` && request.status === 200 && !request.body.includes('"healthcheck"'));
    const reloads = (): LogLine[] => logs.filter((line) => line.msg.startsWith('Tenant files reloaded'));
    /** The reload that started, restarted or stopped `lane`. */
    const waitForReload = async (lane: string, what: string): Promise<LogLine> => {
      const touches = (line: LogLine): boolean => [...(line.started ?? []), ...(line.restarted ?? []), ...(line.stopped ?? [])].includes(lane);
      assert.ok(await waitFor(() => reloads().some(touches), 60_000), `${what}: a reload touched ${lane}`);
      const line = reloads().find(touches);
      assert.ok(line !== undefined);
      return line;
    };
    assert.ok(await waitFor(() => sent('steady').length > 20 && sent('batchy').length > 20 && sent('leaving').length > 20, 60_000), 'every acme lane delivers');

    // 1. A destination's batch settings change: that lane alone restarts.
    await replaceFile(tenantFile, stringify(acme([hook('steady'), hook('batchy', { batch: { lingerMs: 20, maxRecords: 7 } }), hook('leaving')])));
    const batchChange = await waitForReload('acme/batchy', 'batch change');
    assert.deepEqual([batchChange.restarted, batchChange.started, batchChange.stopped, batchChange.unchanged], [['acme/batchy'], [], [], 2]);

    // 2. A tenant is added: its lane starts (from the configured position: the beginning of its topic).
    await replaceFile(join(dir, 'tenants', 'beta.yaml'), stringify(beta));
    const added = await waitForReload('beta/fresh', 'new tenant');
    assert.deepEqual([added.started, added.restarted, added.stopped], [['beta/fresh'], [], []]);
    const steadyBeforeBreak = sent('steady').length;

    // 3. A broken file: the last good config stays, the problem is logged with file:line and counted, nothing stops.
    await replaceFile(tenantFile, 'tenant: acme\ntopics: [oops\n');
    assert.ok(await waitFor(() => logs.some((line) => line.msg.startsWith('The tenant files have problems')), 60_000), 'the broken file was seen');
    const refused = logs.find((line) => line.msg.startsWith('The tenant files have problems'));
    assert.ok(refused?.problems?.some((problem) => problem.startsWith(`${tenantFile}:`) && /:\d+:\d+: /.test(problem)), JSON.stringify(refused?.problems));
    const metrics = await (await fetch(`${worker.http.url}/metrics`)).text();
    assert.match(metrics, /terra_fanout_config_reloads_total\{outcome="invalid"\} [1-9]/);
    assert.match(metrics, /terra_fanout_config_problems [1-9]/);
    assert.ok(await waitFor(() => sent('steady').length > steadyBeforeBreak + 10, 30_000), 'lanes kept delivering on the last good config');

    // 4. A destination is removed (and the file is valid again): that lane drains and stops.
    await replaceFile(tenantFile, stringify(acme([hook('steady'), hook('batchy', { batch: { lingerMs: 20, maxRecords: 7 } })])));
    const removed = await waitForReload('acme/leaving', 'removed destination');
    assert.deepEqual([removed.stopped, removed.started, removed.restarted], [['acme/leaving'], [], []]);
    assert.match(await (await fetch(`${worker.http.url}/metrics`)).text(), /terra_fanout_config_problems 0/);
    const leftAt = sent('leaving').length;

    flowing = false;
    await flow;
    const acmeTotal = produced[acmeTopic] ?? 0;
    const betaTotal = produced[betaTopic] ?? 0;
    for (const [path, total] of [['steady', acmeTotal], ['batchy', acmeTotal], ['fresh', betaTotal]] as const) {
      assert.ok(await waitFor(() => sent(path).length >= total, 60_000), `${path} caught up (${sent(path).length}/${total})`);
    }
    for (const path of ['steady', 'batchy', 'fresh', 'leaving']) {
      const keys = sent(path).map((request) => request.headers['idempotency-key']);
      assert.equal(new Set(keys).size, keys.length, `${path}: nothing delivered twice`);
    }
    assert.equal(sent('steady').length, acmeTotal, 'steady: every acme event once');
    assert.equal(sent('batchy').length, acmeTotal, 'batchy: every acme event once, across its restart');
    assert.equal(sent('fresh').length, betaTotal, 'fresh: every beta event once, from the beginning of its topic');
    assert.equal(sent('leaving').length, leftAt, 'the removed lane sent nothing after it stopped');
    assert.ok(leftAt < acmeTotal, 'the removed lane stopped before the end');

    // The untouched lane never restarted: it joined its group once, and every reload left it alone.
    const joins = (lane: string): number => logs.filter((line) => line.msg === 'Lane joined its consumer group.' && line.lane === lane).length;
    assert.equal(joins('acme/steady'), 1, 'acme/steady joined once');
    assert.equal(joins('acme/batchy'), 2, 'acme/batchy joined again after its restart');
    assert.ok(reloads().every((line) => !(line.restarted ?? []).includes('acme/steady') && !(line.stopped ?? []).includes('acme/steady')));
  });
});
