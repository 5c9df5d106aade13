/**
 * `npm run bench`: figures, never a pass/fail on time.
 *
 * 1. ~1 KB Terra activity events through the local broker: the raw kafkajs consume rate and one
 *    lane to the `file` destination, in the same run, with their ratio, records/s, MB/s, peak RSS.
 * 2. Each connector's target in bench/targets/ (S3 on moto, PostgreSQL, ...): one lane into it,
 *    BENCH_TARGET_EVENTS events (default 20k), records/s and the ratio to the raw consumer.
 *    BENCH_TARGETS=s3,sql runs only those.
 *    Every lane run also prints the worker's CPU per record (process.cpuUsage of this process, where
 *    the worker runs; the local servers are child processes and not counted), and each connector's
 *    CPU on top of the engine-only lane measured in the same run, with the machine's load average.
 * 3. 30 MB activity payloads (gzip on the wire, the mock keeps 5 MiB per partition) through a lane
 *    with a small process budget, showing peak RSS against the budget.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { z } from 'zod';
import { connectorRegistry } from '../connectors/registry.js';
import type { AnyConnectorDefinition, Destination } from '../src/connector/contract.js';
import { createTenantSchema } from '../src/config/tenant-schema.js';
import { workerConfigSchema } from '../src/config/worker-schema.js';
import { startLocalBroker } from '../src/dev/local-broker.js';
import { applyLibrdkafkaMockCompat } from '../src/kafka/librdkafka-mock-compat.js';
import { startWorker } from '../src/worker/worker.js';
import type { BenchTarget } from './bench-target.js';

const MiB = 1024 * 1024;
const count = Number(process.env['BENCH_EVENTS'] ?? 50_000);
const bigCount = Number(process.env['BENCH_BIG_EVENTS'] ?? 4);
/** The reference measurement (shared/reference/kafka-test-broker.md) used 3 brokers and 64 partitions. */
const brokerCount = Number(process.env['BENCH_BROKERS'] ?? 1);
const partitions = Number(process.env['BENCH_PARTITIONS'] ?? 16);

function activity(index: number, padding = 0): string {
  const start = new Date(Date.UTC(2026, 0, 1) + index * 60_000).toISOString();
  const end = new Date(Date.UTC(2026, 0, 1) + index * 60_000 + 1_800_000).toISOString();
  const sample = (i: number): Record<string, unknown> => ({ timestamp: start, bpm: 60 + (i % 120), timer_duration_seconds: i });
  const sampleBytes = JSON.stringify(sample(100_000)).length + 1;
  const samples = padding > 0 ? Array.from({ length: Math.ceil(padding / sampleBytes) }, (_, i) => sample(i)) : undefined;
  return JSON.stringify({
    type: 'activity',
    user: { user_id: `bench-user-${index % 100}`, provider: 'GARMIN', reference_id: `ref-${index % 100}`, scopes: 'ACTIVITY_EXPORT,HEALTH_EXPORT', active: true, last_webhook_update: '2026-07-01T09:12:33.891000+00:00' },
    data: [
      {
        metadata: { summary_id: `bench-${index}`, start_time: start, end_time: end, type: 1, upload_type: 1, name: 'Morning run', city: null, country: null, timestamp_localization: 0 },
        distance_data: { summary: { distance_meters: 5012.4, steps: 6120, floors_climbed: 3, elevation: { gain_actual_meters: 42.1, loss_actual_meters: 40.2 } } },
        heart_rate_data: { summary: { avg_hr_bpm: 148, max_hr_bpm: 176, min_hr_bpm: 92, resting_hr_bpm: 52 }, detailed: { hr_samples: samples ?? [] } },
        calories_data: { total_burned_calories: 512.3, net_activity_calories: 430.1, BMR_calories: 82.2 },
        MET_data: { avg_level: 8.1, num_high_intensity_minutes: 12, num_moderate_intensity_minutes: 15, num_low_intensity_minutes: 3 },
        movement_data: { avg_speed_meters_per_second: 2.9, max_speed_meters_per_second: 4.1, avg_cadence_rpm: 84 },
        active_durations_data: { activity_seconds: 1800, moderate_intensity_seconds: 900, vigorous_intensity_seconds: 720 },
      },
    ],
    version: '2022-03-16',
  });
}

/** A destination that accepts everything and keeps nothing: the lane engine's own cost. */
const discardConnector: AnyConnectorDefinition = {
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
const benchConnectors = [...connectorRegistry, discardConnector];
const benchTenantSchema = createTenantSchema(benchConnectors);

function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Round-robin over partitions: the mock keeps only 5 MiB per partition, so spread evenly. */
async function produce(kafka: Kafka, topic: string, partitions: number, values: string[], compression = CompressionTypes.None): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  for (let start = 0; start < values.length; start += 1000) {
    await producer.send({ topic, acks: -1, compression, messages: values.slice(start, start + 1000).map((value, i) => ({ partition: (start + i) % partitions, value })) });
  }
  await producer.disconnect();
}

async function rawConsume(kafka: Kafka, topic: string, expected: number): Promise<{ seconds: number; bytes: number; rss: number }> {
  const consumer = kafka.consumer({ groupId: `bench-raw-${Date.now()}`, maxWaitTimeInMs: 100, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let bytes = 0;
  let started = 0n;
  const sampler = rssSampler();
  const done = new Promise<bigint>((resolve, reject) => {
    setTimeout(() => reject(new Error(`raw consumer saw ${seen}/${expected} messages in 120 s`)), 120_000).unref();
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        if (started === 0n) started = process.hrtime.bigint();
        for (const message of batch.messages) {
          bytes += message.value?.length ?? 0;
          resolveOffset(message.offset);
        }
        seen += batch.messages.length;
        if (seen >= expected) resolve(process.hrtime.bigint());
      },
    });
  });
  const finished = await done;
  const rss = sampler.stop();
  await consumer.disconnect();
  return { seconds: Number(finished - started) / 1e9, bytes, rss };
}

function destinationFor(sink: Parameters<typeof laneRun>[4], dir: string): Record<string, unknown> {
  const batch = { maxRecords: 1000, lingerMs: 50 };
  switch (sink.type) {
    case 'file':
      return { name: 'files', type: 'file', batch, config: { directory: dir, fsync: sink.fsync } };
    case 'discard':
      return { name: 'discard', type: 'discard', batch, config: {} };
    case 'target':
      return { name: 'target', ...sink.target.destination, batch: { ...batch, ...sink.target.destination.batch } };
  }
}

/** Every bench/targets/<connector>.js module, each exporting one start…BenchTarget function. */
async function loadTargets(): Promise<Array<{ name: string; start: () => Promise<BenchTarget> }>> {
  const folder = join(dirname(fileURLToPath(import.meta.url)), 'targets');
  const files = existsSync(folder) ? (await readdir(folder)).filter((file) => file.endsWith('.js')).sort() : [];
  const targets: Array<{ name: string; start: () => Promise<BenchTarget> }> = [];
  for (const file of files) {
    const module = (await import(join(folder, file))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (/^start\w*BenchTarget$/.test(name) && typeof value === 'function') targets.push({ name: file.replace(/\.js$/, ''), start: value as () => Promise<BenchTarget> });
    }
  }
  return targets;
}

async function laneRun(
  brokers: string[],
  topic: string,
  expected: number,
  budgets: Record<string, string>,
  sink: { type: 'file'; fsync: boolean; base: string } | { type: 'discard' } | { type: 'target'; target: BenchTarget },
): Promise<{ seconds: number; rss: number; delivered: number; cpuMicrosPerRecord: number }> {
  const dir = await mkdtemp(join(sink.type === 'file' ? sink.base : tmpdir(), 'terra-fanout-bench-'));
  const worker = workerConfigSchema.parse({
    kafka: { brokers, librdkafkaMockCompat: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100, groupPrefix: `bench-${Date.now()}` },
    http: { host: '127.0.0.1', port: 0 },
    budgets,
  });
  const tenant = benchTenantSchema.parse({
    tenant: 'bench',
    topics: [topic],
    deadLetterTopic: `${topic}.dlq`,
    destinations: [destinationFor(sink, dir)],
  });
  const sampler = rssSampler();
  const running = await startWorker({ worker, tenants: [tenant] }, { logger: pino({ level: 'warn' }), httpPort: 0, connectors: benchConnectors });
  const counter = (name: string): Promise<number> =>
    running.metrics.registry.getSingleMetric(name)?.get().then((metric) => metric.values.reduce((sum, value) => sum + value.value, 0)) ?? Promise.resolve(0);
  let started = 0n;
  let cpuAtStart = process.cpuUsage();
  let delivered = 0;
  const giveUp = Date.now() + 300_000;
  while (Date.now() < giveUp) {
    const received = await counter('terra_fanout_messages_received_total');
    if (started === 0n && received > 0) {
      started = process.hrtime.bigint();
      cpuAtStart = process.cpuUsage();
    }
    delivered = await counter('terra_fanout_records_delivered_total');
    const parked = await counter('terra_fanout_records_dead_lettered_total');
    if (delivered + parked >= expected) {
      if (parked > 0) console.log(`  (${parked} records were dead-lettered, see the log above)`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuMicrosPerRecord = (cpu.user + cpu.system) / Math.max(1, delivered);
  const rss = sampler.stop();
  if (delivered < expected) console.log(`  (gave up waiting: ${delivered}/${expected} delivered)`);
  await running.stop();
  await rm(dir, { recursive: true, force: true });
  return { seconds, rss, delivered, cpuMicrosPerRecord };
}

/** `CPU 61.2 µs/rec (+14.0 over the engine-only lane)`: the worker's own CPU per delivered record. */
function cpuFigure(micros: number, engine: number | undefined): string {
  const over = engine === undefined ? '' : ` (${micros - engine >= 0 ? '+' : ''}${fmt(micros - engine, 1)} over the engine-only lane)`;
  return `CPU ${fmt(micros, 1)} µs/rec${over}`;
}

/** `load 1.23 0.98 0.75`: what else the machine was doing while a figure was taken. */
function load(): string {
  return `load ${loadavg()
    .map((value) => fmt(value, 2))
    .join(' ')}`;
}

async function main(): Promise<void> {
  applyLibrdkafkaMockCompat();
  const broker = await startLocalBroker({ brokers: brokerCount, topics: [{ name: 'bench-small', partitions }, { name: 'bench-big', partitions: 4 }] });
  const kafka = new Kafka({ clientId: 'bench', brokers: broker.brokers, logLevel: logLevel.ERROR });
  try {
    const values = Array.from({ length: count }, (_, index) => activity(index));
    const avg = values.reduce((sum, value) => sum + value.length, 0) / values.length;
    console.log(`terra-fanout bench: ${fmt(count)} activity events of ~${fmt(avg)} B through the local broker (librdkafka mock, ${brokerCount} broker(s), ${partitions} partitions), Node ${process.version}`);
    await produce(kafka, 'bench-small', partitions, values);

    const raw = await rawConsume(kafka, 'bench-small', count);
    const rawRate = count / raw.seconds;
    console.log(`  raw kafkajs consume                ${fmt(rawRate).padStart(8)} msg/s  ${fmt(raw.bytes / MiB / raw.seconds, 1).padStart(6)} MB/s  peak RSS ${fmt(raw.rss / MiB)} MiB`);

    const disk = process.env['BENCH_DIR'] ?? tmpdir();
    const memoryDisk = process.env['BENCH_MEMORY_DIR'] ?? '/dev/shm';
    let engineCpu: number | undefined;
    const runs = [
      { label: 'lane -> discard (engine only)', sink: { type: 'discard' } as const },
      { label: `lane -> file, fsync off, ${memoryDisk}`, sink: { type: 'file', fsync: false, base: memoryDisk } as const },
      { label: `lane -> file, fsync off, ${disk}`, sink: { type: 'file', fsync: false, base: disk } as const },
      { label: `lane -> file, fsync on,  ${disk}`, sink: { type: 'file', fsync: true, base: disk } as const },
    ];
    for (const run of runs) {
      const lane = await laneRun(broker.brokers, 'bench-small', count, { processInFlightBytes: '256MiB', laneInFlightBytes: '64MiB' }, run.sink);
      const laneRate = lane.delivered / lane.seconds;
      if (run.sink.type === 'discard') engineCpu = lane.cpuMicrosPerRecord;
      console.log(
        `  ${run.label.padEnd(34)} ${fmt(laneRate).padStart(8)} rec/s  ${fmt((avg * lane.delivered) / MiB / lane.seconds, 1).padStart(6)} MB/s  peak RSS ${fmt(lane.rss / MiB)} MiB  ratio to raw ${fmt(laneRate / rawRate, 2)}  ${cpuFigure(lane.cpuMicrosPerRecord, engineCpu)}  ${load()}`,
      );
    }

    const only = process.env['BENCH_TARGETS']?.split(',').map((name) => name.trim());
    for (const { name, start } of await loadTargets()) {
      if (only !== undefined && !only.includes(name)) continue;
      let target: BenchTarget;
      try {
        target = await start();
      } catch (error) {
        console.log(`  ${name}: could not start its server (${(error as Error).message.split('\n')[0]}); skipped`);
        continue;
      }
      try {
        const targetCount = Math.min(count, Number(process.env['BENCH_TARGET_EVENTS'] ?? 20_000), target.maxEvents ?? Number.POSITIVE_INFINITY);
        const lane = await laneRun(broker.brokers, 'bench-small', targetCount, { processInFlightBytes: '256MiB', laneInFlightBytes: '64MiB' }, { type: 'target', target });
        const laneRate = lane.delivered / lane.seconds;
        const held = target.count === undefined ? '' : `  holds ${fmt(await target.count())}`;
        console.log(
          `  ${target.label.padEnd(34)} ${fmt(laneRate).padStart(8)} rec/s  (${fmt(targetCount)} events)  ${fmt((avg * lane.delivered) / MiB / lane.seconds, 1).padStart(6)} MB/s  peak RSS ${fmt(lane.rss / MiB)} MiB  ratio to raw ${fmt(laneRate / rawRate, 2)}  ${cpuFigure(lane.cpuMicrosPerRecord, engineCpu)}${held}  ${load()}`,
        );
      } finally {
        await target.stop();
      }
    }

    if (bigCount > 0) {
      const bigSize = 30 * MiB;
      const budget = '96MiB';
      let big = Array.from({ length: bigCount }, (_, index) => activity(1_000_000 + index, bigSize));
      console.log(`terra-fanout bench: ${bigCount} activity events of ~${fmt((big[0]?.length ?? 0) / MiB, 1)} MB each (gzip on the wire), budgets.processInFlightBytes ${budget}`);
      await produce(kafka, 'bench-big', 4, big, CompressionTypes.GZIP);
      big = [];
      (globalThis as { gc?: () => void }).gc?.(); // bench.sh runs node with --expose-gc
      const baseline = process.memoryUsage().rss;
      const heavy = await laneRun(broker.brokers, 'bench-big', bigCount, { processInFlightBytes: budget, laneInFlightBytes: budget, maxMessageBytes: '40MiB' }, { type: 'file', fsync: false, base: memoryDisk });
      console.log(
        `  lane -> file ${fmt(heavy.delivered / heavy.seconds, 2)} rec/s  peak RSS ${fmt(heavy.rss / MiB)} MiB, ${fmt((heavy.rss - baseline) / MiB)} MiB above the ${fmt(baseline / MiB)} MiB before the run (message budget ${budget}; decoded JSON costs a few times its bytes)`,
      );
    }
  } finally {
    await broker.stop();
  }
}

await main();
process.exit(0);
