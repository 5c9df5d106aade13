/**
 * `npm run bench`: figures, never a pass/fail on time. Every scenario prints CPU microseconds per
 * message (process.cpuUsage of the worker) and the machine's load beside its rates.
 *
 * Scenarios (BENCH_SCENARIOS=engine,targets,memory,latency,ingest,formats,processes picks some; default all):
 * - engine: raw kafkajs, the honest minimum, one lane, decode once per tenant (N destinations),
 *   the file destination (bench/scenarios/engine.ts);
 * - targets: each connector's target in bench/targets/ (S3 on moto, PostgreSQL, ...): one lane
 *   into it, BENCH_TARGET_EVENTS events (default 20k); BENCH_TARGETS=s3,sql runs only those;
 * - memory: large payloads against a small process budget, each case in a fresh process
 *   (bench/scenarios/memory.ts);
 * - latency: Kafka append to webhook receipt at a steady rate (bench/scenarios/latency.ts);
 * - ingest: the ingest gateway, ~1 KB signed webhooks at 1,000 requests/s and flat out
 *   (bench/scenarios/ingest.ts);
 * - formats: encoding cost per record of the terra, fhir and fit formats (bench/scenarios/formats.ts);
 * - processes: `run --processes 1` and `2` on the same topic (bench/scenarios/processes.ts).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { startLocalBroker } from '../src/dev/local-broker.js';
import { applyHeapGrowth } from '../src/cli/v8-heap.js';
import { applyLibrdkafkaMockCompat } from '../src/kafka/librdkafka-mock-compat.js';
import type { BenchTarget } from './bench-target.js';
import { activity, produce } from './events.js';
import { laneRun } from './lane-run.js';
import { fmt, machineLoad } from './measure.js';
import { runEngineBench } from './scenarios/engine.js';
import { runFormatBench } from './scenarios/formats.js';
import { runIngestBench } from './scenarios/ingest.js';
import { runLatencyBench } from './scenarios/latency.js';
import { runMemoryBench } from './scenarios/memory.js';
import { runProcessesBench } from './scenarios/processes.js';

const MiB = 1024 * 1024;
const count = Number(process.env['BENCH_EVENTS'] ?? 50_000);
/** The reference measurement (shared/reference/kafka-test-broker.md) used 3 brokers and 64 partitions. */
const brokerCount = Number(process.env['BENCH_BROKERS'] ?? 1);
const partitions = Number(process.env['BENCH_PARTITIONS'] ?? 16);
const scenarios = new Set((process.env['BENCH_SCENARIOS'] ?? 'engine,targets,memory,latency,ingest,formats,processes').split(',').map((name) => name.trim()));

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

async function runTargets(brokers: string[], topic: string, avg: number): Promise<void> {
  console.log(`targets: one lane into each connector's local server (${machineLoad()})`);
  const only = process.env['BENCH_TARGETS']?.split(',').map((name) => name.trim());
  // The engine-only lane, measured here too, so that each connector's own cost per record (on top
  // of the lane) comes from the same run.
  const engineEvents = Math.min(count, Number(process.env['BENCH_TARGET_EVENTS'] ?? 20_000));
  // Twice, the first unmeasured: the first lane of a process also pays for compiling the code.
  const discard = { brokers, topic, expected: engineEvents, destinations: [{ name: 'discard', type: 'discard', batch: { maxRecords: 1000, lingerMs: 50 }, config: {} }] };
  await laneRun(discard);
  const engine = await laneRun(discard);
  const engineCpu = engine.cpuMicros / Math.max(1, engine.delivered);
  console.log(`  ${'lane -> discard (the engine alone)'.padEnd(44)} ${fmt(engineCpu, 1).padStart(7)} µs CPU/rec  ${fmt(engine.delivered / engine.seconds).padStart(8)} rec/s  (${fmt(engineEvents)} events)`);
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
      const batch = { maxRecords: 1000, lingerMs: 50, ...target.destination.batch };
      const lane = await laneRun({ brokers, topic, expected: targetCount, destinations: [{ name: 'target', ...target.destination, batch }] });
      const held = target.count === undefined ? '' : `  holds ${fmt(await target.count())}`;
      const cpu = lane.cpuMicros / Math.max(1, lane.delivered);
      console.log(
        `  ${target.label.padEnd(44)} ${fmt(cpu, 1).padStart(7)} µs CPU/rec (connector ${cpu - engineCpu >= 0 ? '+' : ''}${fmt(cpu - engineCpu, 1)})  ${fmt(lane.delivered / lane.seconds).padStart(8)} rec/s  (${fmt(targetCount)} events)  ${fmt((avg * lane.delivered) / MiB / lane.seconds, 1)} MB/s  peak RSS ${fmt(lane.rss / MiB)} MiB${held}  ${machineLoad()}`,
      );
    } finally {
      await target.stop();
    }
  }
}

async function main(): Promise<void> {
  if (scenarios.has('formats')) await runFormatBench();
  if (![...scenarios].some((name) => name !== 'formats')) return;
  applyLibrdkafkaMockCompat();
  // The lanes of the engine and target scenarios run in this process: give it the worker's heap settings.
  applyHeapGrowth();
  const bigCount = Number(process.env['BENCH_BIG_EVENTS'] ?? 8);
  const broker = await startLocalBroker({ brokers: brokerCount, topics: [{ name: 'bench-small', partitions }, { name: 'bench-big', partitions: Math.max(1, bigCount) }, { name: 'bench-big-sequence', partitions: 1 }, { name: 'bench-backlog', partitions: 64 }, { name: 'bench-latency', partitions: 16 }] });
  const kafka = new Kafka({ clientId: 'bench', brokers: broker.brokers, logLevel: logLevel.ERROR });
  try {
    const values = Array.from({ length: count }, (_, index) => activity(index));
    const avg = values.reduce((sum, value) => sum + value.length, 0) / values.length;
    console.log(`terra-fanout bench: ${fmt(count)} activity events of ~${fmt(avg)} B through the local broker (librdkafka mock, ${brokerCount} broker(s), ${partitions} partitions), Node ${process.version}, ${machineLoad()}`);
    await produce(kafka, 'bench-small', partitions, values);
    const disk = process.env['BENCH_DIR'] ?? tmpdir();
    const memoryDisk = process.env['BENCH_MEMORY_DIR'] ?? '/dev/shm';
    if (scenarios.has('engine')) await runEngineBench({ kafka, brokers: broker.brokers, topic: 'bench-small', count, avgBytes: avg, disk, memoryDisk });
    if (scenarios.has('targets')) await runTargets(broker.brokers, 'bench-small', avg);
    if (scenarios.has('processes')) await runProcessesBench({ brokers: broker.brokers, topic: 'bench-small', count, base: memoryDisk });
    if (scenarios.has('memory')) await runMemoryBench({ kafka, brokers: broker.brokers, memoryDisk });
    if (scenarios.has('latency')) await runLatencyBench({ kafka, brokers: broker.brokers, topic: 'bench-latency' });
    if (scenarios.has('ingest')) await runIngestBench(broker.brokers);
  } finally {
    await broker.stop();
  }
}

await main();
process.exit(0);
