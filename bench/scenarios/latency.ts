/**
 * Latency: Kafka append to webhook receipt at a steady rate, with the default settings (only the
 * webhook URL is configured). Three processes, so none slows another's event loop: this one
 * produces BENCH_LATENCY_RATE events/s (default 1000) for BENCH_LATENCY_SECONDS (default 20); a
 * worker with one webhook lane; a receiver that notes when each event arrives. Latency is the
 * receipt time minus the record's CreateTime, set when it was produced (one machine, one clock).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { activity } from '../events.js';
import { fmt, machineLoad, percentile } from '../measure.js';

type ChildMessage = { kind: 'listening'; url: string } | { kind: 'ready' } | { kind: 'received'; times: Record<string, number> } | { kind: 'cpu'; micros: number };

export interface LatencyBenchOptions {
  kafka: Kafka;
  brokers: string[];
  /** An empty topic (the mock cannot create topics through the admin API). */
  topic: string;
}

export async function runLatencyBench(options: LatencyBenchOptions): Promise<void> {
  const rate = Number(process.env['BENCH_LATENCY_RATE'] ?? 1000);
  const seconds = Number(process.env['BENCH_LATENCY_SECONDS'] ?? 20);
  const topic = options.topic;

  const receiver = start(['receiver']);
  const { url } = await next(receiver, 'listening');
  const worker = start(['worker', JSON.stringify({ brokers: options.brokers, topic, url })]);
  await next(worker, 'ready');

  const producer = options.kafka.producer();
  await producer.connect();
  const sent = new Map<string, number>();
  const total = rate * seconds;
  const perTick = Math.max(1, Math.round(rate / 100));
  const started = Date.now();
  for (let index = 0; index < total; index += perTick) {
    const due = started + (index / rate) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const now = Date.now();
    const messages = Array.from({ length: Math.min(perTick, total - index) }, (_, offset) => {
      sent.set(`bench-${index + offset}`, now);
      return { key: `user-${(index + offset) % 100}`, value: activity(index + offset), timestamp: String(now) };
    });
    await producer.send({ topic, acks: -1, messages });
  }
  const producedSeconds = (Date.now() - started) / 1000;
  await producer.disconnect();

  const deadline = Date.now() + 60_000;
  let received: Record<string, number> = {};
  while (Date.now() < deadline) {
    receiver.send('report');
    received = (await next(receiver, 'received')).times;
    if (Object.keys(received).length >= total) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  worker.send('cpu');
  const { micros } = await next(worker, 'cpu');
  const latencies: number[] = [];
  for (const [id, at] of Object.entries(received)) {
    const from = sent.get(id);
    if (from !== undefined) latencies.push(at - from);
  }
  receiver.kill('SIGTERM');
  worker.kill('SIGTERM');
  console.log(`latency: Kafka append to webhook receipt, default settings, ${fmt(total)} events at ${fmt(total / producedSeconds)}/s (${machineLoad()})`);
  console.log(
    `  received ${fmt(latencies.length)}/${fmt(total)}  p50 ${fmt(percentile(latencies, 50))} ms  p95 ${fmt(percentile(latencies, 95))} ms  p99 ${fmt(percentile(latencies, 99))} ms  max ${fmt(Math.max(0, ...latencies))} ms  worker ${fmt(micros / total, 1)} µs CPU/event`,
  );
}

function start(args: string[]): ChildProcess {
  return fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function next<K extends ChildMessage['kind']>(child: ChildProcess, kind: K): Promise<Extract<ChildMessage, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage): void => {
      if (message.kind !== kind) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<ChildMessage, { kind: K }>);
    };
    const onExit = (code: number | null): void => reject(new Error(`latency child exited (${code}) before '${kind}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function reply(message: ChildMessage): void {
  process.send?.(message);
}

async function runReceiver(): Promise<void> {
  const times: Record<string, number> = {};
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = Date.now();
      const id = /"summary_id":"([^"]+)"/.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
      if (id !== undefined) times[id] ??= at;
      response.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  reply({ kind: 'listening', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/terra` });
  process.on('message', () => reply({ kind: 'received', times }));
  process.on('SIGTERM', () => process.exit(0));
}

async function runWorker(argument: string): Promise<void> {
  const { brokers, topic, url } = JSON.parse(argument) as { brokers: string[]; topic: string; url: string };
  const { pino } = await import('pino');
  const { applyLibrdkafkaMockCompat } = await import('../../src/kafka/librdkafka-mock-compat.js');
  const { workerConfigSchema } = await import('../../src/config/worker-schema.js');
  const { tenantConfigSchema } = await import('../../src/config/tenant-schema.js');
  const { startWorker } = await import('../../src/worker/worker.js');
  applyLibrdkafkaMockCompat();
  // Only what a deployment must say: the brokers (and the mock's compatibility switch), the URL.
  const worker = workerConfigSchema.parse({ kafka: { brokers, librdkafkaMockCompat: true, groupPrefix: `latency-${Date.now()}` }, http: { host: '127.0.0.1', port: 0 } });
  const tenant = tenantConfigSchema.parse({ tenant: 'bench', topics: [topic], deadLetterTopic: `${topic}.dlq`, destinations: [{ name: 'app', type: 'webhook', config: { url } }] });
  const running = await startWorker({ worker, tenants: [tenant] }, { logger: pino({ level: 'warn' }) });
  while (!running.lanes.every((lane) => lane.ready)) await new Promise((resolve) => setTimeout(resolve, 20));
  const cpuAtReady = process.cpuUsage();
  reply({ kind: 'ready' });
  process.on('message', () => {
    const { user, system } = process.cpuUsage(cpuAtReady);
    reply({ kind: 'cpu', micros: user + system });
  });
  process.on('SIGTERM', () => void running.stop().then(() => process.exit(0)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'receiver') await runReceiver();
  else if (process.argv[2] === 'worker' && process.argv[3] !== undefined) await runWorker(process.argv[3]);
}
