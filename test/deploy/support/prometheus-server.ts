/**
 * A real Prometheus (Debian's package) for tests: on 127.0.0.1 and a free port, scraping the given
 * targets under job `terra-fanout` every second, evaluating the given rule file every second, with
 * its data in a temporary folder removed on stop. Plus the few API calls the tests need.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { freePort, startServerProcess } from '../../support/server-process.js';
import { PROMETHEUS } from './promtool.js';

export interface PrometheusServer {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(options: { targets: string[]; rulesYaml: string; job?: string }): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-prometheus-'));
  await writeFile(join(dir, 'rules.yaml'), options.rulesYaml);
  await writeFile(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yaml')],
      scrape_configs: [{ job_name: options.job ?? 'terra-fanout', static_configs: [{ targets: options.targets }] }],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: 'prometheus',
    command: PROMETHEUS,
    args: [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    scratchDir: dir,
    ready: async () => {
      try {
        return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok;
      } catch {
        return false;
      }
    },
  });
  return { url, output: server.output, stop: server.stop };
}

const alertsResponseSchema = z.object({
  status: z.literal('success'),
  data: z.object({ alerts: z.array(z.object({ labels: z.record(z.string(), z.string()), state: z.string(), value: z.string().optional() })) }),
});
export type ActiveAlert = z.infer<typeof alertsResponseSchema>['data']['alerts'][number];

/** Pending and firing alerts (Prometheus lists no others), from /api/v1/alerts. */
export async function activeAlerts(prometheusUrl: string): Promise<ActiveAlert[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/alerts`, { signal: AbortSignal.timeout(5_000) });
  return alertsResponseSchema.parse(await response.json()).data.alerts;
}

const queryResponseSchema = z.union([
  z.object({ status: z.literal('success'), data: z.object({ resultType: z.string(), result: z.array(z.object({ metric: z.record(z.string(), z.string()) })) }) }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
]);

/** An instant query: the result's label sets, or the error Prometheus gave. */
export async function instantQuery(prometheusUrl: string, query: string): Promise<{ ok: true; series: Array<Record<string, string>> } | { ok: false; error: string }> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query })}`, { signal: AbortSignal.timeout(5_000) });
  const body = queryResponseSchema.parse(await response.json());
  return body.status === 'success' ? { ok: true, series: body.data.result.map((sample) => sample.metric) } : { ok: false, error: `${body.errorType}: ${body.error}` };
}
