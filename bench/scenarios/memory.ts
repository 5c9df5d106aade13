/**
 * Memory budgets that hold: each case runs in a fresh Node process (so one case's heap never
 * counts in another's), starts the worker with `processInFlightBytes` as given, reads a topic the
 * parent filled, and reports its peak RSS above its own idle baseline (modules loaded, nothing
 * read) against the budget + 64 MiB target. Cases:
 * - eight 30 MB activity events (gzip on the wire) with a 96 MiB budget, arriving as a Kafka broker
 *   hands them to a client whose fetches are sized from the budget: one large batch per fetch (each
 *   is produced once the previous one was read, on one partition);
 * - the same eight all at once, one per partition: the librdkafka mock answers a fetch with a batch
 *   from every partition whatever the fetch limits say, so the Kafka client holds all eight
 *   decompressed at once (outside any budget; a real broker would not send them together);
 * - a backlog of small events (BENCH_BACKLOG_MB, default 1024 MB, gzip on the wire, 100 messages
 *   per batch) with the same budget.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, type Kafka } from 'kafkajs';
import { applyHeapGrowth, workerEnvironment, workerNodeFlags } from '../../src/cli/v8-heap.js';
import { parseByteSize } from '../../src/config/byte-size.js';
import { activity, produce } from '../events.js';
import { laneRun } from '../lane-run.js';
import { fmt, machineLoad } from '../measure.js';

const MiB = 1024 * 1024;

interface ChildResult {
  baseline: number;
  peak: number;
  /** At the peak: the V8 heap in use and reserved, and memory outside it (Buffers). */
  heapUsed: number;
  heapTotal: number;
  external: number;
  delivered: number;
  seconds: number;
  cpuMicros: number;
}

export interface MemoryBenchOptions {
  kafka: Kafka;
  brokers: string[];
  memoryDisk: string;
}

export async function runMemoryBench(options: MemoryBenchOptions): Promise<void> {
  const budget = '96MiB';
  const bigCount = Number(process.env['BENCH_BIG_EVENTS'] ?? 8);
  console.log(`memory: peak RSS above each fresh process's idle baseline, budgets.processInFlightBytes ${budget}, target budget + 64 MiB (${machineLoad()})`);
  if (bigCount > 0) {
    const size = activity(1_000_000, 30 * MiB).length;
    const groupPrefix = `bench-memory-${Date.now()}`;
    const running = child(options.brokers, 'bench-big-sequence', bigCount, budget, options.memoryDisk, 'file', groupPrefix);
    const admin = options.kafka.admin();
    await admin.connect();
    for (let index = 0; index < bigCount; index += 1) {
      await produce(options.kafka, 'bench-big-sequence', 1, [activity(1_000_000 + index, 30 * MiB)], CompressionTypes.GZIP);
      // The next one goes in once this one was read and committed: a fetch brings one large batch.
      const deadline = Date.now() + 300_000;
      while (Date.now() < deadline) {
        const [offsets] = await admin.fetchOffsets({ groupId: `${groupPrefix}.bench.files`, topics: ['bench-big-sequence'] }).catch(() => []);
        if (Number(offsets?.partitions[0]?.offset ?? -1) >= index + 1) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await admin.disconnect();
    report(`${bigCount} x ${fmt(size / MiB, 1)} MB events, one per fetch -> file`, await running, 96);
    let big = Array.from({ length: bigCount }, (_, index) => activity(2_000_000 + index, 30 * MiB));
    await produce(options.kafka, 'bench-big', bigCount, big, CompressionTypes.GZIP, 1);
    big = [];
    const burst = await child(options.brokers, 'bench-big', bigCount, budget, options.memoryDisk);
    report(`${bigCount} x ${fmt(size / MiB, 1)} MB events, all in one fetch (mock) -> file`, burst, 96);
  }
  const backlogMb = Number(process.env['BENCH_BACKLOG_MB'] ?? 1024);
  if (backlogMb > 0) {
    const one = activity(0).length;
    const count = Math.ceil((backlogMb * MiB) / one);
    for (let start = 0; start < count; start += 50_000) {
      // gzip and 64 partitions: the mock keeps only 5 MiB per partition.
      await produce(options.kafka, 'bench-backlog', 64, Array.from({ length: Math.min(50_000, count - start) }, (_, index) => activity(start + index)), CompressionTypes.GZIP, 100);
    }
    const result = await child(options.brokers, 'bench-backlog', count, budget, options.memoryDisk, 'discard');
    report(`${fmt(backlogMb)} MB backlog of ${fmt(count)} small events -> discard`, result, 96);
  }
}

function report(label: string, result: ChildResult, budgetMiB: number): void {
  const above = (result.peak - result.baseline) / MiB;
  console.log(
    `  ${label.padEnd(44)} peak ${fmt(above)} MiB above baseline (${fmt(result.baseline / MiB)} MiB), target ${budgetMiB + 64} MiB: ${above <= budgetMiB + 64 ? 'within' : 'OVER'} (at the peak: heap ${fmt(result.heapUsed / MiB)} used of ${fmt(result.heapTotal / MiB)}, Buffers ${fmt(result.external / MiB)} MiB)  ${fmt(result.cpuMicros / Math.max(1, result.delivered), 1)} µs CPU/rec  ${fmt(result.delivered / result.seconds, 1)} rec/s`,
  );
}

function child(brokers: string[], topic: string, expected: number, budget: string, base: string, sink: 'file' | 'discard' = 'file', groupPrefix = `bench-memory-${Date.now()}`): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(import.meta.url);
    // The V8 flags and environment `run` gives a worker with this budget (the child also applies the heap growth).
    const flags = workerNodeFlags(parseByteSize(budget) ?? 0);
    const proc = spawn(process.execPath, ['--expose-gc', ...flags, script, JSON.stringify({ brokers, topic, expected, budget, base, sink, groupPrefix })], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...workerEnvironment() } });
    let output = '';
    proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      const line = output.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`memory case exited ${code}: ${output.slice(-500)}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

async function runChild(argument: string): Promise<void> {
  const { brokers, topic, expected, budget, base, sink, groupPrefix } = JSON.parse(argument) as { brokers: string[]; topic: string; expected: number; budget: string; base: string; sink: 'file' | 'discard'; groupPrefix: string };
  const { applyLibrdkafkaMockCompat } = await import('../../src/kafka/librdkafka-mock-compat.js');
  applyLibrdkafkaMockCompat();
  applyHeapGrowth();
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  let atPeak = process.memoryUsage();
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    if (now.rss > atPeak.rss) atPeak = now;
  }, 10);
  const destination = sink === 'file' ? { name: 'files', type: 'file', config: { directory: '{dir}', fsync: false } } : { name: 'discard', type: 'discard', config: {} };
  const run = await laneRun({ brokers, topic, expected, base, destinations: [destination], budgets: { processInFlightBytes: budget, laneInFlightBytes: budget, maxMessageBytes: '40MiB' }, kafka: { groupPrefix }, timeoutMs: 900_000 });
  clearInterval(sampler);
  const result: ChildResult = { baseline, peak: Math.max(run.rss, atPeak.rss), heapUsed: atPeak.heapUsed, heapTotal: atPeak.heapTotal, external: atPeak.external, delivered: run.delivered, seconds: run.seconds, cpuMicros: run.cpuMicros };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== undefined) await runChild(process.argv[2]);
