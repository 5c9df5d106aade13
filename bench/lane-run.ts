/**
 * One benchmark run of the real worker: a tenant with the given destinations reading a topic the
 * run has filled, until every destination has delivered (or parked) `expected` records. Reports
 * wall time from the first message read, CPU microseconds of this process over that time, and
 * peak RSS. The broker is another process, so the CPU figure is the worker's own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { z } from 'zod';
import { connectorRegistry } from '../connectors/registry.js';
import type { AnyConnectorDefinition, Destination } from '../src/connector/contract.js';
import { createTenantSchema } from '../src/config/tenant-schema.js';
import { workerConfigSchema } from '../src/config/worker-schema.js';
import { startWorker } from '../src/worker/worker.js';
import { cpuMicros, rssSampler, systemMicros } from './measure.js';

/** A destination that accepts everything and keeps nothing: the lane engine's own cost. */
export const discardConnector: AnyConnectorDefinition = {
  type: 'discard',
  description: 'Benchmark sink: accepts every record and stores nothing.',
  configSchema: z.object({}).meta({ description: 'No settings.' }),
  unit: () => 'record',
  locate: (_config, record) => record.identity,
  createClient: () => undefined,
  createDestination: (): Destination => ({
    check: async () => undefined,
    send: async (batch) => batch.map(() => ({ ok: true as const })),
    close: async () => undefined,
  }),
  contract: {
    exampleConfig: () => ({}),
    memoryPort: () => ({ client: undefined, stored: () => new Map(), breakWith: () => undefined }),
  },
};

export const benchConnectors: readonly AnyConnectorDefinition[] = [...connectorRegistry, discardConnector];
const benchTenantSchema = createTenantSchema(benchConnectors);

export interface LaneRunResult {
  seconds: number;
  cpuMicros: number;
  /** The part of cpuMicros spent in the kernel (system calls: sockets, files). */
  systemMicros: number;
  rss: number;
  /** Records delivered, summed over the destinations. */
  delivered: number;
}

export interface LaneRunOptions {
  brokers: string[];
  topic: string;
  /** Records each destination must deliver. */
  expected: number;
  /** Tenant destination entries; `{dir}` in a config string value is replaced by a fresh folder. */
  destinations: ReadonlyArray<Record<string, unknown>>;
  budgets?: Record<string, string | number>;
  kafka?: Record<string, unknown>;
  /** Folder the `{dir}` placeholders are created under. */
  base?: string;
  /** Give up after this long (the figures say so). */
  timeoutMs?: number;
}

export async function laneRun(options: LaneRunOptions): Promise<LaneRunResult> {
  const dir = await mkdtemp(join(options.base ?? tmpdir(), 'terra-fanout-bench-'));
  const worker = workerConfigSchema.parse({
    kafka: { brokers: options.brokers, librdkafkaMockCompat: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100, groupPrefix: `bench-${Date.now()}`, ...options.kafka },
    http: { host: '127.0.0.1', port: 0 },
    budgets: options.budgets ?? { processInFlightBytes: '256MiB', laneInFlightBytes: '64MiB' },
    lanes: { progressIntervalMs: 0 },
  });
  const destinations = options.destinations.map((destination) => JSON.parse(JSON.stringify(destination).replaceAll('{dir}', dir)) as Record<string, unknown>);
  const tenant = benchTenantSchema.parse({ tenant: 'bench', topics: [options.topic], deadLetterTopic: `${options.topic}.dlq`, destinations });
  const target = options.expected * destinations.length;
  const sampler = rssSampler();
  const running = await startWorker({ worker, tenants: [tenant] }, { logger: pino({ level: 'warn' }), httpPort: 0, connectors: benchConnectors });
  const counter = (name: string): Promise<number> =>
    running.metrics.registry.getSingleMetric(name)?.get().then((metric) => metric.values.reduce((sum, value) => sum + value.value, 0)) ?? Promise.resolve(0);
  let started = 0n;
  let cpuAtStart = 0;
  let systemAtStart = 0;
  let delivered = 0;
  const giveUp = Date.now() + (options.timeoutMs ?? 300_000);
  while (Date.now() < giveUp) {
    if (started === 0n && (await counter('terra_fanout_messages_received_total')) > 0) {
      started = process.hrtime.bigint();
      cpuAtStart = cpuMicros();
      systemAtStart = systemMicros();
    }
    delivered = await counter('terra_fanout_records_delivered_total');
    const parked = await counter('terra_fanout_records_dead_lettered_total');
    if (delivered + parked >= target) {
      if (parked > 0) console.log(`  (${parked} records were dead-lettered, see the log above)`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, started === 0n ? 5 : 50));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuMicros() - cpuAtStart;
  const system = systemMicros() - systemAtStart;
  const rss = sampler.stop();
  if (delivered < target) console.log(`  (gave up waiting: ${delivered}/${target} delivered)`);
  await running.stop();
  await rm(dir, { recursive: true, force: true });
  return { seconds, cpuMicros: cpu, systemMicros: system, rss, delivered };
}
