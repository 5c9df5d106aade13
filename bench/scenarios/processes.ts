/**
 * `run --processes N` against one topic, N = 1 and 2 (BENCH_PROCESS_COUNTS) in the same run: the
 * real command line, one file lane (fsync off, on BENCH_MEMORY_DIR), all of the topic's events.
 * Prints records/s and CPU microseconds per message of the whole deployment (every worker process
 * and the primary, from the summed process_cpu_seconds_total on the one /metrics port, measured
 * from the first message received to the last record delivered), and the machine's load average.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { fmt, machineLoad } from '../measure.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface ProcessesBenchOptions {
  brokers: string[];
  topic: string;
  /** Messages on the topic (one record each). */
  count: number;
  /** Where the file lane writes (a tmpfs keeps the disk out of the figure). */
  base: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** Sum of every sample of the metrics whose name matches. */
function total(metrics: string, name: RegExp): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    const match = /^([a-z_]+)(?:\{.*\})? (\S+)$/.exec(line);
    if (match !== null && name.test(match[1] ?? '')) sum += Number(match[2]);
  }
  return sum;
}

async function scrape(url: string): Promise<string | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return response.ok ? await response.text() : null;
  } catch {
    return null;
  }
}

/** One run with `processes` worker processes; null when it could not finish within 5 minutes. */
async function runWith(processes: number, options: ProcessesBenchOptions): Promise<{ rate: number; cpuMicrosPerMessage: number; delivered: number } | null> {
  const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-bench-processes-'));
  const out = await mkdtemp(join(options.base, 'terra-fanout-bench-processes-out-'));
  try {
    await mkdir(join(dir, 'tenants'));
    const port = await freePort();
    await writeFile(
      join(dir, 'tenants', 'bench.yaml'),
      stringify({ tenant: 'bench', topics: [options.topic], deadLetterTopic: `${options.topic}.dlq`, destinations: [{ name: 'files', type: 'file', batch: { maxRecords: 1000, lingerMs: 50 }, config: { directory: out, fsync: false } }] }),
    );
    await writeFile(
      join(dir, 'worker.yaml'),
      stringify({
        kafka: { brokers: options.brokers, librdkafkaMockCompat: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100, groupPrefix: `bench-processes-${processes}-${Date.now()}` },
        http: { host: '127.0.0.1', port },
        log: { level: 'warn' },
      }),
    );
    const child = spawn(process.execPath, [cli, 'run', '--config', join(dir, 'worker.yaml'), '--processes', String(processes)], { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const url = `http://127.0.0.1:${port}/metrics`;
      let startedAt = 0;
      let cpuAtStart = 0;
      const giveUp = Date.now() + 300_000;
      while (Date.now() < giveUp) {
        const metrics = await scrape(url);
        if (metrics !== null) {
          const received = total(metrics, /^terra_fanout_messages_received_total$/);
          // Parked records count as done, as in the lane runs of bench/run.ts.
          const delivered = total(metrics, /^terra_fanout_records_(delivered|dead_lettered)_total$/);
          const cpu = total(metrics, /^(terra_fanout_)?process_cpu_seconds_total$/);
          if (startedAt === 0 && received > 0) {
            startedAt = performance.now();
            cpuAtStart = cpu;
          }
          if (startedAt !== 0 && delivered >= options.count) {
            const seconds = (performance.now() - startedAt) / 1000;
            return { rate: delivered / seconds, cpuMicrosPerMessage: ((cpu - cpuAtStart) * 1e6) / delivered, delivered };
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return null;
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
}

export async function runProcessesBench(options: ProcessesBenchOptions): Promise<void> {
  const counts = (process.env['BENCH_PROCESS_COUNTS'] ?? '1,2').split(',').map((text) => Number(text.trim())).filter((n) => Number.isInteger(n) && n >= 1);
  console.log(`processes: run --processes N, ${fmt(options.count)} events, one file lane (fsync off, ${options.base}), CPU of every process (${machineLoad()})`);
  let first: number | undefined;
  for (const processes of counts) {
    const result = await runWith(processes, options);
    if (result === null) {
      console.log(`  --processes ${processes}: did not deliver every record within 5 minutes`);
      continue;
    }
    const ratio = first === undefined ? '' : `  ${fmt(result.rate / first, 2)}x the first`;
    first ??= result.rate;
    console.log(`  --processes ${String(processes).padEnd(3)} ${fmt(result.cpuMicrosPerMessage, 1).padStart(7)} µs CPU/msg  ${fmt(result.rate).padStart(8)} rec/s${ratio}  (${machineLoad()})`);
  }
}
