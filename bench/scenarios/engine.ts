/**
 * The engine's own cost, CPU microseconds per input message (process.cpuUsage, which a noisy
 * machine disturbs far less than rates), all in one run over the same topic:
 * - the raw kafkajs consumer, and the "honest minimum" (kafkajs + JSON.parse + a trivial zod check);
 * - one lane to a discard sink, and its ratio to the honest minimum;
 * - one tenant with N = 1, 2, 4, 8 discard destinations, with the per-tenant decode cache and
 *   without it: what each additional destination costs;
 * - one lane to the file destination: what a record costs on top of the lane, its kernel part, and
 *   the same file-system calls made alone on the same disk (the floor under any file destination).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka } from 'kafkajs';
import { z } from 'zod';
import { laneRun } from '../lane-run.js';
import { cpuMicros, fmt, machineLoad, median, rssSampler } from '../measure.js';

/** Runs of each case; the median is printed (the shared machine is noisy). */
const repeat = Math.max(1, Number(process.env['BENCH_REPEAT'] ?? 3));

async function medianRun(run: () => Promise<{ seconds: number; cpu: number; system?: number }>): Promise<{ seconds: number; cpu: number; system: number }> {
  const results: Array<{ seconds: number; cpu: number; system?: number }> = [];
  for (let index = 0; index < repeat; index += 1) results.push(await run());
  return { seconds: median(results.map((result) => result.seconds)), cpu: median(results.map((result) => result.cpu)), system: median(results.map((result) => result.system ?? 0)) };
}

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
  console.log(`engine: CPU per input message, ${fmt(count)} activity events of ~${fmt(avgBytes)} B, median of ${repeat} runs (${machineLoad()})`);

  const raw = await medianRun(() => consume(kafka, topic, count, () => undefined));
  line('raw kafkajs consume', count, raw.seconds, raw.cpu);
  const honest = await medianRun(() =>
    consume(kafka, topic, count, (value) => {
      trivialEvent.parse(JSON.parse(value.toString('utf8')));
    }),
  );
  const honestPerMessage = honest.cpu / count;
  line('kafkajs + JSON.parse + trivial zod (honest min)', count, honest.seconds, honest.cpu);

  const discard = (name: string): Record<string, unknown> => ({ name, type: 'discard', batch: { maxRecords: 1000, lingerMs: 50 }, config: {} });
  const perDestination = new Map<string, number>();
  /** The one lane's system CPU per message: what the file runs' kernel part is measured against. */
  let laneSystem = 0;
  for (const cache of ['with', 'without'] as const) {
    for (const n of [1, 2, 4, 8]) {
      if (cache === 'without' && n === 1) {
        // One lane never caches (nobody would hit it): the same figure as above.
        perDestination.set('without1', perDestination.get('with1') ?? 0);
        continue;
      }
      const run = await medianRun(async () => {
        const result = await laneRun({
          brokers,
          topic,
          expected: count,
          destinations: Array.from({ length: n }, (_, index) => discard(`d${index}`)),
          budgets: { processInFlightBytes: '256MiB', laneInFlightBytes: '64MiB', ...(cache === 'without' ? { decodeCacheBytes: 0 } : {}) },
        });
        return { seconds: result.seconds, cpu: result.cpuMicros, system: result.systemMicros };
      });
      const perMessage = run.cpu / count;
      perDestination.set(`${cache}${n}`, perMessage);
      if (cache === 'with' && n === 1) laneSystem = run.system / count;
      const one = perDestination.get(`${cache}1`) ?? perMessage;
      const extra = n === 1 ? `  ratio to honest min ${fmt(perMessage / honestPerMessage, 2)}` : `  +${fmt((perMessage - one) / (n - 1), 1)} µs per added destination`;
      line(n === 1 ? '1 discard destination (one lane)' : `${n} discard destinations, decode cache ${cache === 'with' ? 'on ' : 'off'}`, count, run.seconds, run.cpu, extra);
    }
  }
  const on8 = perDestination.get('with8');
  const off8 = perDestination.get('without8');
  if (on8 !== undefined && off8 !== undefined) console.log(`  decode once per tenant, 8 destinations: ${fmt(off8 / on8, 2)}x less CPU than each lane decoding (${machineLoad()})`);

  const lane = perDestination.get('with1') ?? 0;
  const leftovers: string[] = [];
  console.log(`  file destination: per record over the discard lane, user and kernel (system) CPU, beside the same file-system calls made alone on the same disk just before and after:`);
  for (const [label, base, fsync] of [
    [`file, fsync off, ${options.memoryDisk}`, options.memoryDisk, false],
    [`file, fsync off, ${options.disk}`, options.disk, false],
    [`file, fsync on,  ${options.disk}`, options.disk, true],
  ] as const) {
    const before = fileSystemFloor(base, Math.min(count, 20_000), fsync, Math.round(avgBytes));
    const run = await laneRun({ brokers, topic, expected: count, base, destinations: [{ name: 'files', type: 'file', batch: { maxRecords: 1000, lingerMs: 50 }, config: { directory: '{dir}', fsync } }] });
    const after = fileSystemFloor(base, Math.min(count, 20_000), fsync, Math.round(avgBytes));
    leftovers.push(before.dir, after.dir);
    const extra = run.cpuMicros / count - lane;
    const extraSystem = run.systemMicros / count - laneSystem;
    const floor = Math.min(before.micros, after.micros);
    const steady = Math.max(before.micros, after.micros) <= 1.5 * floor;
    line(
      `1 lane -> ${label}`,
      count,
      run.seconds,
      run.cpuMicros,
      `  +${fmt(extra, 1)} µs per record over discard (user +${fmt(extra - extraSystem, 1)}, system +${fmt(extraSystem, 1)}); the same calls alone ${fmt(before.micros, 1)} before and ${fmt(after.micros, 1)} after (system ${fmt(before.system, 1)}, ${fmt(after.system, 1)})${steady ? `, so the destination's own is ${extra - floor >= 0 ? '+' : ''}${fmt(extra - floor, 1)}` : ': the disk was not steady'}  peak RSS ${fmt(run.rss / 1024 / 1024)} MiB`,
    );
  }
  for (const dir of leftovers) rmSync(dir, { recursive: true, force: true });
  settleDisks();
}

/**
 * Waits (`sync`) until what the runs wrote and removed is on disk, so the next scenario is not
 * charged for it: removing tens of thousands of files leaves the kernel work to do afterwards
 * (journal commits, discards on a disk mounted with `discard`).
 */
function settleDisks(): void {
  try {
    execFileSync('sync', { stdio: 'ignore', timeout: 120_000 });
  } catch {
    // No sync binary, or it took too long: the figures that follow say what they measured.
  }
}

/**
 * What the file system itself charges per file for what the file destination does with each record
 * (a temporary file opened exclusively, written, fsynced when asked, closed, renamed into a folder
 * of Terra's layout; with fsync the folder too, once per thousand), measured in this process on the
 * same disk: the floor under any file destination there. CPU microseconds per file, and the kernel's
 * part. Two passes, the first unmeasured. This machine's disk is not steady: the first few thousand
 * files after many were removed cost up to thirty times the steady figure in system time (seen: 860
 * µs per file falling to 27 over 9,000 files, then 27-30 from the start in the next process), and
 * whole minutes can run at 400-600 µs per file. The caller measures before and after its lane run
 * and says when the two disagree. The folder is left for the caller to remove once every run is done.
 */
function fileSystemFloor(base: string, files: number, fsync: boolean, bodyBytes: number): { micros: number; system: number; dir: string } {
  const dir = mkdtempSync(join(base, 'terra-fanout-floor-'));
  const body = Buffer.alloc(bodyBytes, 0x61);
  let used = { user: 0, system: 0 };
  for (const pass of ['warm-up', 'measured']) {
    const temp = join(dir, pass, '.tmp');
    const folder = join(dir, pass, '2022-03-16', 'activity');
    mkdirSync(temp, { recursive: true });
    mkdirSync(folder, { recursive: true });
    const start = process.cpuUsage();
    for (let index = 0; index < files; index += 1) {
      const path = join(temp, `${index}.tmp`);
      const fd = openSync(path, 'wx');
      writeSync(fd, body);
      if (fsync) fsyncSync(fd);
      closeSync(fd);
      renameSync(path, join(folder, `bench-user-${index % 100}-${index}.json`));
      if (fsync && index % 1000 === 999) {
        const folderFd = openSync(folder, 'r');
        fsyncSync(folderFd);
        closeSync(folderFd);
      }
    }
    used = process.cpuUsage(start);
  }
  return { micros: (used.user + used.system) / files, system: used.system / files, dir };
}
