/**
 * The ingest gateway under load: `terra-fanout ingest` as its own process (so its CPU is its own),
 * autocannon on 127.0.0.1 posting ~1 KB Terra-signed activity events, acks=all to the local broker.
 *
 * 1. BENCH_INGEST_RATE requests/s (default 1,000) for BENCH_INGEST_SECONDS (10), twice: autocannon's
 *    rate limit (each connection sends its quota at the start of every second, so the load comes in
 *    bursts), then a steady open-loop pacer (`paced` below). Achieved requests/s, p50/p99 latency,
 *    CPU microseconds per request of the gateway process.
 * 2. autocannon as fast as 32 connections go, same duration: the ceiling, and its ratio to the rate.
 * After each run the topic's high watermarks are compared with the 2xx answers: every request
 * answered 2xx must be in Kafka. The load generator shares the machine's cores with the gateway
 * and the broker; figures, never a pass/fail.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { computeTerraSignature } from '../../src/terra/signature.js';
import { send, spawnCli } from '../../test/support/ingest.js';
import { activity } from '../events.js';
import { fmt, machineLoad, percentile } from '../measure.js';

const SECRET = 'bench-ingest-secret';
const TOPIC = 'bench-ingest';
const rate = Number(process.env['BENCH_INGEST_RATE'] ?? 1_000);
const seconds = Number(process.env['BENCH_INGEST_SECONDS'] ?? 10);
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * An open-loop generator: request i is due at start + i/rate whatever happened to the others, and
 * its latency counts from when it was due (so a stall shows, rather than slowing the load). A
 * steady 1,000/s, unlike autocannon's rate limit, which lets every connection send its quota for
 * the second back to back when the second starts.
 */
async function paced(url: string, requests: ReadonlyArray<{ headers: Record<string, string>; body: Buffer }>, perSecond: number, total: number): Promise<{ latencies: number[]; ok: number; failed: number; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let sent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const settle = (due: number, good: boolean): void => {
      latencies.push(performance.now() - due);
      if (good) ok += 1;
      else failed += 1;
      if (ok + failed === total) resolve();
    };
    const timer = setInterval(() => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / perSecond <= now) {
        const due = start + (sent * 1000) / perSecond;
        const next = requests[sent % requests.length];
        sent += 1;
        if (next === undefined) continue;
        const req = request(url, { method: 'POST', agent, headers: { ...next.headers, 'content-length': String(next.body.length) } }, (response) => {
          response.resume();
          response.once('end', () => settle(due, response.statusCode === 200));
        });
        req.once('error', () => settle(due, false));
        req.end(next.body);
      }
      if (sent === total) clearInterval(timer);
    }, 1);
  });
  agent.destroy();
  return { latencies, ok, failed, seconds: (performance.now() - start) / 1000 };
}

/** The gateway process's CPU seconds so far (prom-client reads them from process.cpuUsage()). */
async function gatewayCpuSeconds(metricsUrl: string): Promise<number> {
  const page = (await send(metricsUrl)).body;
  const line = page.split('\n').find((candidate) => candidate.startsWith('process_cpu_seconds_total '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

async function storedCount(kafka: Kafka): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(TOPIC)).reduce((sum, partition) => sum + Number(partition.high), 0);
  } finally {
    await admin.disconnect();
  }
}

export async function runIngestBench(brokers: string[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-bench-ingest-'));
  await mkdir(join(dir, 'tenants'));
  await writeFile(
    join(dir, 'worker.yaml'),
    stringify({
      kafka: { brokers, librdkafkaMockCompat: true },
      http: { host: '127.0.0.1', port: 0 },
      ingest: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
    }),
  );
  await writeFile(
    join(dir, 'tenants', 'bench.yaml'),
    stringify({ tenant: 'bench', topics: [TOPIC], deadLetterTopic: `${TOPIC}.dlq`, source: { signature: { secret: SECRET } }, ingest: {}, destinations: [{ name: 'unused', type: 'file', config: { directory: join(dir, 'out') } }] }),
  );
  const gateway = spawnCli(cli, ['ingest', '--config', join(dir, 'worker.yaml')]);
  const kafka = new Kafka({ clientId: 'bench-ingest', brokers, logLevel: logLevel.ERROR });
  try {
    const url = String((await gateway.waitForLog((line) => line['msg'] === 'Ingest gateway started.', 30_000))['url']);
    const metricsUrl = `${String((await gateway.waitForLog((line) => line['msg'] === 'Metrics and health endpoints started.', 30_000))['http'])}/metrics`;
    await gateway.waitForLog((line) => line['msg'] === 'Ingest producer connected to Kafka.', 30_000);

    // 1,000 distinct events, signed now (valid for the tenant's 300 s tolerance), cycled by every connection.
    const bodies = Array.from({ length: 1_000 }, (_, index) => Buffer.from(activity(index)));
    const averageBytes = bodies.reduce((sum, body) => sum + body.length, 0) / bodies.length;
    const requests = bodies.map((body) => ({
      method: 'POST' as const,
      path: '/terra/bench',
      headers: { 'content-type': 'application/json', 'terra-signature': computeTerraSignature(body, SECRET, Date.now() / 1000) },
      body,
    }));
    // The generator, the gateway and the broker share the machine: a busy machine shows in the latencies first.
    console.log(`terra-fanout bench: ingest gateway (its own process), ${fmt(averageBytes)} B signed activity events from 127.0.0.1, acks=all to the local broker, ${machineLoad()}`);

    /** Runs `generate`, and reads the gateway's CPU time and the topic's size around it. */
    const measure = async (generate: () => Promise<{ rate: number; p50: number; p99: number; requests: number; ok: number; failed: number }>) => {
      const before = { cpu: await gatewayCpuSeconds(metricsUrl), stored: await storedCount(kafka) };
      const run = await generate();
      const after = { cpu: await gatewayCpuSeconds(metricsUrl), stored: await storedCount(kafka) };
      return { ...run, cpuMicros: ((after.cpu - before.cpu) * 1e6) / Math.max(1, run.requests), lost: run.ok - (after.stored - before.stored) };
    };
    const cannon = (options: { connections: number; overallRate?: number; duration: number }) =>
      measure(async () => {
        const result = await autocannon({ url, requests, ...options });
        return { rate: result['2xx'] / result.duration, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, ok: result['2xx'], failed: result.non2xx + result.errors };
      });
    const steady = () =>
      measure(async () => {
        const result = await paced(`${url}/terra/bench`, requests, rate, rate * seconds);
        return { rate: result.ok / result.seconds, p50: percentile(result.latencies, 50), p99: percentile(result.latencies, 99), requests: result.ok + result.failed, ok: result.ok, failed: result.failed };
      });
    const line = (label: string, run: Awaited<ReturnType<typeof cannon>>, extra = ''): void =>
      console.log(
        `  ${label.padEnd(34)} ${fmt(run.rate).padStart(8)} req/s  p50 ${fmt(run.p50, 1)} ms  p99 ${fmt(run.p99, 1)} ms  gateway CPU ${fmt(run.cpuMicros)} µs/request  non-2xx or errors ${fmt(run.failed)}  2xx not in Kafka ${fmt(Math.max(0, run.lost))}${extra}`,
      );

    await cannon({ connections: 10, overallRate: rate, duration: 2 }); // warm-up: JIT, connections, producer
    line(`autocannon, ${fmt(rate)} req/s, ${seconds} s`, await cannon({ connections: 20, overallRate: rate, duration: seconds }));
    line(`steady ${fmt(rate)} req/s, ${seconds} s`, await steady());
    const ceiling = await cannon({ connections: 32, duration: seconds });
    line(`autocannon, 32 connections flat out`, ceiling, `  ceiling ${fmt(ceiling.rate / rate, 1)}x the offered rate`);
  } finally {
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    await rm(dir, { recursive: true, force: true });
  }
}
