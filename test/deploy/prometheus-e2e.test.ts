import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { defaultKafkaMockBinary } from '../../src/dev/local-broker.js';
import { useKafkaBroker, uniqueName } from '../support/kafka.js';
import { freePort, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { activityEvent, waitFor, writeWorkerFiles } from '../support/worker-files.js';
import { dashboardQueries, readDashboard, readRuleFile, repoRoot, withGrafanaVariablesReplaced, type RuleFile } from './support/deploy-files.js';
import { metricNames, withDurations } from './support/promql.js';
import { activeAlerts, instantQuery, startPrometheus, type ActiveAlert, type PrometheusServer } from './support/prometheus-server.js';
import { missingPrometheus, promtool } from './support/promtool.js';

/**
 * A real Prometheus scrapes a real worker (the CLI, on the local broker) and evaluates the rules of
 * deploy/prometheus/alerts.yaml, made fast: every `for:` becomes 1 s and every duration in an expression
 * (ranges, offsets) 10 s, nothing else changes. A webhook that answers 503 stalls its lane; malformed messages are dead-lettered.
 */

/** The production rules with their waits shortened for a test that must finish in seconds. */
function fastRules(rules: RuleFile): RuleFile {
  return {
    groups: rules.groups.map((group) => ({
      ...group,
      rules: group.rules.map((rule) => ({ ...rule, expr: withDurations(rule.expr, '10s'), ...(rule.for === undefined ? {} : { for: '1s' }) })),
    })),
  };
}

const skipReason = missingPrometheus() || (existsSync(defaultKafkaMockBinary()) ? false : `kafka-mock not built at ${defaultKafkaMockBinary()}: run bash scripts/build-kafka-mock.sh`);
const secret = 'whsec-prometheus-e2e';

describe('alert rules on a real Prometheus scraping a worker', { skip: skipReason, timeout: 180_000 }, () => {
  const kafka = useKafkaBroker({ brokers: 1 });
  const topic = uniqueName('alerts');
  let webhookDown = false;
  let receiver: WebhookReceiver | undefined;
  let worker: ServerProcess | undefined;
  let prometheus: PrometheusServer | undefined;
  let workerUrl = '';
  let dir = '';

  const prom = (): PrometheusServer => prometheus ?? assert.fail('prometheus is not running');
  const diagnostics = (): string => `--- worker ---\n${worker?.output() ?? ''}\n--- prometheus ---\n${prometheus?.output() ?? ''}`;
  const alertsNamed = async (name: string): Promise<ActiveAlert[]> => (await activeAlerts(prom().url)).filter((alert) => alert.labels['alertname'] === name);
  const firing = async (name: string, labels: Record<string, string>): Promise<boolean> =>
    (await alertsNamed(name)).some((alert) => alert.state === 'firing' && Object.entries(labels).every(([key, value]) => alert.labels[key] === value));

  before(async () => {
    receiver = await startWebhookReceiver({ secret, respond: () => (webhookDown ? { status: 503 } : { status: 200 }) });
    const port = await freePort();
    ({ dir } = await writeWorkerFiles({
      brokers: kafka.brokers,
      worker: { http: { host: '127.0.0.1', port }, lanes: { lagIntervalMs: 500 } },
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: `${topic}.dlq`,
          destinations: [
            { name: 'files', type: 'file', batch: { lingerMs: 20 }, config: { directory: '${OUT_DIR}', fsync: false } },
            { name: 'hook', type: 'webhook', batch: { lingerMs: 20 }, retry: { initialDelayMs: 100, maxDelayMs: 500 }, config: { url: `${receiver.url}/terra`, secret: '${HOOK_SECRET}' } },
          ],
        },
      ],
    }));
    workerUrl = `http://127.0.0.1:${port}`;
    worker = await startServerProcess({
      name: 'terra-fanout worker',
      command: process.execPath,
      args: [join(repoRoot, 'dist/src/cli/main.js'), 'run', '--config', join(dir, 'worker.yaml')],
      env: { HOOK_SECRET: secret, OUT_DIR: join(dir, 'out') },
      ready: async () => {
        try {
          return (await fetch(`${workerUrl}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok;
        } catch {
          return false;
        }
      },
    });
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`], rulesYaml: stringify(fastRules(await readRuleFile())) });
    assert.ok(await waitFor(async () => (await fetch(`${workerUrl}/readyz`)).status === 200, 30_000), `lanes ready\n${diagnostics()}`);
    assert.ok(await waitFor(async () => {
      const up = await instantQuery(prom().url, 'up{job="terra-fanout"} == 1');
      return up.ok && up.series.length === 1;
    }, 15_000), `Prometheus scrapes the worker\n${diagnostics()}`);
  });
  after(async () => {
    await prometheus?.stop();
    await worker?.stop();
    await receiver?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('the shortened rules are still valid rules (promtool)', async (t) => {
    const scratch = await mkdtemp(join(tmpdir(), 'terra-fanout-fast-rules-'));
    t.after(() => rm(scratch, { recursive: true, force: true }));
    const file = join(scratch, 'rules.yaml');
    await writeFile(file, stringify(fastRules(await readRuleFile())));
    const result = await promtool(['check', 'rules', file]);
    assert.equal(result.code, 0, result.output);
  });

  it('the worker exports every metric the rules and the dashboard name', async () => {
    const text = await (await fetch(`${workerUrl}/metrics`)).text();
    const families = new Map<string, string>();
    for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(match[1] ?? '', match[2] ?? '');
    const exported = (name: string): boolean => {
      if (families.has(name)) return true;
      const histogram = /^(.+)_(bucket|sum|count)$/.exec(name);
      return histogram?.[1] !== undefined && families.get(histogram[1]) === 'histogram';
    };
    const rules = (await readRuleFile()).groups.flatMap((group) => group.rules.map((rule) => rule.expr));
    const dashboard = dashboardQueries(await readDashboard()).map((query) => withGrafanaVariablesReplaced(query.expr));
    const used = new Set([...rules, ...dashboard].flatMap((expr) => [...metricNames(expr)]));
    used.delete('up'); // Prometheus's own
    const missing = [...used].filter((name) => !exported(name)).sort();
    assert.deepEqual(missing, [], `metrics named in deploy/ but not on the worker's /metrics (${families.size} families exported)`);
  });

  it('every dashboard query runs on Prometheus without error', async () => {
    const failures: string[] = [];
    for (const query of dashboardQueries(await readDashboard())) {
      const result = await instantQuery(prom().url, withGrafanaVariablesReplaced(query.expr));
      if (!result.ok) failures.push(`${query.where}: ${result.error}`);
    }
    assert.deepEqual(failures, []);
  });

  it('a failing destination fires the stalled-lane alert, malformed input the dead-letter alert; both resolve after recovery', async () => {
    // The webhook goes down with events waiting, and a malformed message arrives: the first dead
    // letter of its lane and code, so its counter series is new (the case increase() cannot see).
    webhookDown = true;
    await kafka.produce(topic, [0, 1, 2, 3].map((index) => ({ key: `u-${index}`, value: JSON.stringify(activityEvent(`u-${index}`, index)) })));
    await kafka.produce(topic, [{ key: 'bad-1', value: 'not json at all' }]);

    const lane = { tenant: 'acme', destination: 'hook', connector: 'webhook', severity: 'critical' };
    const parked = { tenant: 'acme', destination: 'files', connector: 'file', code: 'malformed_json', severity: 'warning' };
    let stalledSeen = false;
    let deadLettersSeen = false;
    assert.ok(await waitFor(async () => {
      stalledSeen ||= await firing('TerraFanoutLaneStalled', lane);
      deadLettersSeen ||= await firing('TerraFanoutDeadLetters', parked);
      return stalledSeen && deadLettersSeen;
    }, 45_000, 250), `both alerts fired (stalled: ${stalledSeen}, dead letters: ${deadLettersSeen})\n${JSON.stringify(await activeAlerts(prom().url))}\n${diagnostics()}`);
    assert.ok(!(await firing('TerraFanoutLaneStalled', { destination: 'files' })), 'the healthy lane is not reported stalled');

    // Recovery: the webhook answers again; the lane catches up and no new dead letters arrive.
    webhookDown = false;
    assert.ok(await waitFor(async () => (await alertsNamed('TerraFanoutLaneStalled')).length === 0 && (await alertsNamed('TerraFanoutDeadLetters')).length === 0, 45_000, 250),
      `both alerts resolved\n${JSON.stringify(await activeAlerts(prom().url))}\n${diagnostics()}`);
    const delivered = receiver?.requests.filter((request) => request.status === 200 && request.body.includes('"activity"')).length ?? 0;
    assert.ok(delivered >= 4, `the webhook lane delivered its backlog (${delivered} requests)`);
  });
});
