/**
 * The engine's own cost, CPU microseconds per input message (process.cpuUsage, which a noisy
 * machine disturbs far less than rates), all in one run over the same topic:
 * - the raw kafkajs consumer, and the "honest minimum" (kafkajs + JSON.parse + a trivial zod check);
 * - one lane to a discard sink, and its ratio to the honest minimum;
 * - one tenant with N = 1, 2, 4, 8 discard destinations, with the per-tenant decode cache and
 *   without it: what each additional destination costs;
 * - one lane to the file destination (what a record costs on top of the lane).
 */
import { Kafka } from 'kafkajs';
import { z } from 'zod';
import { laneRun } from '../lane-run.js';
import { cpuMicros, fmt, machineLoad, rssSampler } from '../measure.js';

export interface EngineBenchOptions {
  kafka: Kafka;
  brokers: string[];
  topic: string;
  count: number;
  avgBytes: number;
  memoryDisk: string;
  disk: string;
}

const trivialEvent = z.looseObject({ type: z.string(), data: z.array(z.unknown()).optional() });

async function consume(kafka: Kafka, topic: string, expected: number, work: (value: Buffer) => void): Promise<{ seconds: number; cpu: number; rss: number }> {
  const consumer = kafka.consumer({ groupId: `bench-raw-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 100, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let started = 0n;
  let cpuAtStart = 0;
  const sampler = rssSampler();
  const done = new Promise<bigint>((resolve, reject) => {
    setTimeout(() => reject(new Error(`consumer saw ${seen}/${expected} messages in 120 s`)), 120_000).unref();
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        if (started === 0n) {
          started = process.hrtime.bigint();
          cpuAtStart = cpuMicros();
        }
        for (const message of batch.messages) {
          if (message.value !== null) work(message.value);
          resolveOffset(message.offset);
        }
        seen += batch.messages.length;
        if (seen >= expected) resolve(process.hrtime.bigint());
      },
    });
  });
  const finished = await done;
  const cpu = cpuMicros() - cpuAtStart;
  const rss = sampler.stop();
  await consumer.disconnect();
  return { seconds: Number(finished - started) / 1e9, cpu, rss };
}

export async function runEngineBench(options: EngineBenchOptions): Promise<void> {
  const { kafka, brokers, topic, count, avgBytes } = options;
  const line = (label: string, messages: number, seconds: number, cpu: number, extra = ''): void =>
    console.log(`  ${label.padEnd(44)} ${fmt(cpu / messages, 1).padStart(7)} µs CPU/msg  ${fmt(messages / seconds).padStart(8)} msg/s${extra}`);
  console.log(`engine: CPU per input message, ${fmt(count)} activity events of ~${fmt(avgBytes)} B (${machineLoad()})`);

  const raw = await consume(kafka, topic, count, () => undefined);
  line('raw kafkajs consume', count, raw.seconds, raw.cpu);
  const honest = await consume(kafka, topic, count, (value) => {
    trivialEvent.parse(JSON.parse(value.toString('utf8')));
  });
  const honestPerMessage = honest.cpu / count;
  line('kafkajs + JSON.parse + trivial zod (honest min)', count, honest.seconds, honest.cpu);

  const discard = (name: string): Record<string, unknown> => ({ name, type: 'discard', batch: { maxRecords: 1000, lingerMs: 50 }, config: {} });
  const perDestination = new Map<string, number>();
  for (const cache of ['with', 'without'] as const) {
    for (const n of [1, 2, 4, 8]) {
      const run = await laneRun({
        brokers,
        topic,
        expected: count,
        destinations: Array.from({ length: n }, (_, index) => discard(`d${index}`)),
        budgets: { processInFlightBytes: '256MiB', laneInFlightBytes: '64MiB', ...(cache === 'without' ? { decodeCacheBytes: 0 } : {}) },
      });
      const perMessage = run.cpuMicros / count;
      perDestination.set(`${cache}${n}`, perMessage);
      const one = perDestination.get(`${cache}1`) ?? perMessage;
      const extra = n === 1 ? `  ratio to honest min ${fmt(perMessage / honestPerMessage, 2)}` : `  +${fmt((perMessage - one) / (n - 1), 1)} µs per added destination`;
      line(`${n} discard destination${n === 1 ? ' ' : 's'}, decode cache ${cache === 'with' ? 'on ' : 'off'}`, count, run.seconds, run.cpuMicros, extra);
    }
  }
  const on8 = perDestination.get('with8');
  const off8 = perDestination.get('without8');
  if (on8 !== undefined && off8 !== undefined) console.log(`  decode once per tenant, 8 destinations: ${fmt(off8 / on8, 2)}x less CPU than each lane decoding (${machineLoad()})`);

  const lane = perDestination.get('with1') ?? 0;
  for (const [label, base, fsync] of [
    [`file, fsync off, ${options.memoryDisk}`, options.memoryDisk, false],
    [`file, fsync off, ${options.disk}`, options.disk, false],
    [`file, fsync on,  ${options.disk}`, options.disk, true],
  ] as const) {
    const run = await laneRun({ brokers, topic, expected: count, base, destinations: [{ name: 'files', type: 'file', batch: { maxRecords: 1000, lingerMs: 50 }, config: { directory: '{dir}', fsync } }] });
    line(`1 lane -> ${label}`, count, run.seconds, run.cpuMicros, `  +${fmt(run.cpuMicros / count - lane, 1)} µs per record over discard  peak RSS ${fmt(run.rss / 1024 / 1024)} MiB`);
  }
}
