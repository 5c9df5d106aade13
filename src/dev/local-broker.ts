/**
 * A local Kafka-protocol broker for development and tests: librdkafka's mock cluster, run as
 * its own process (`.cache/kafka-mock`, built from src/dev/kafka-mock.c by
 * scripts/build-kafka-mock.sh). See shared/reference/kafka-test-broker.md for what it can do.
 *
 * Facts that shape the clients you point at it:
 * - a new consumer group's first join takes >= 3 s (fixed initial rebalance delay);
 * - consumers need `maxWaitTimeInMs: 100` (an empty Fetch is held for the full MaxWait) and
 *   `sessionTimeout` > 3000;
 * - kafkajs needs applyLibrdkafkaMockCompat() (src/kafka/librdkafka-mock-compat.ts);
 * - each partition keeps at most 5 MiB; auto-created topics get 4 partitions;
 * - there is no CreateTopics, no group admin API and no transaction isolation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export interface LocalBrokerOptions {
  /** Number of mock brokers, 1..16. Default 3. */
  brokers?: number;
  /** Topics to create before the address is printed; others are auto-created with 4 partitions. */
  topics?: Array<{ name: string; partitions: number }>;
  /** Path of the kafka-mock binary. Default: `.cache/kafka-mock` in the project root. */
  binary?: string;
}

export interface LocalBroker {
  /** Bootstrap list, e.g. ["127.0.0.1:40123", ...]; every listener accepted a TCP connection. */
  brokers: string[];
  /** PID of the kafka-mock process. */
  pid: number;
  /**
   * Stops the broker: SIGTERM, then SIGKILL after 3 s. Resolves once the process has exited and
   * been reaped. Idempotent; safe to call after the process died on its own.
   */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const PROBE_TIMEOUT_MS = 5_000;
const KILL_AFTER_MS = 3_000;
const STDERR_TAIL_CHARS = 4_096;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/** The default binary: `<project root>/.cache/kafka-mock`, found from this module's location. */
export function defaultKafkaMockBinary(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, '.cache', 'kafka-mock');
    const parent = dirname(dir);
    if (parent === dir) return join(process.cwd(), '.cache', 'kafka-mock');
    dir = parent;
  }
}

/**
 * Starts a mock cluster and resolves once every listener accepts connections (typically
 * 10–40 ms). The child process does not keep the Node event loop alive and dies with this
 * process (PR_SET_PDEATHSIG), so a forgotten stop() neither hangs a test nor leaks a broker;
 * call stop() anyway. Call it from the main thread: PDEATHSIG follows the spawning thread.
 *
 * Rejects when the binary is missing (with the command that builds it), when the process exits
 * or prints nothing within 10 s, or when a listener cannot be reached; the process is stopped
 * before rejecting.
 */
export async function startLocalBroker(options: LocalBrokerOptions = {}): Promise<LocalBroker> {
  const binary = options.binary ?? defaultKafkaMockBinary();
  const args = buildArgs(options);
  if (!existsSync(binary)) {
    throw new Error(
      `kafka-mock binary not found at ${binary}; build it with: bash scripts/build-kafka-mock.sh ` +
        '(needs apt librdkafka-dev: bash scripts/install-system-deps.sh)',
    );
  }

  // detached: its own process group, so a terminal's Ctrl-C reaches only this process, which can
  // drain its clients before it stops the broker. PDEATHSIG still ties the broker's life to ours.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  // Always drain stderr: a full pipe freezes the mock's threads.
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= stopChild(child, exited);
    return stopping;
  };

  try {
    const line = await readFirstLine(child, () => stderrTail);
    const brokers = parseBootstrap(line);
    await Promise.all(brokers.map((address) => probe(address, PROBE_TIMEOUT_MS)));
    const pid = child.pid;
    if (pid === undefined) throw new Error('kafka-mock started without a PID');
    // Neither the child nor its pipes keep the event loop alive from here on.
    child.unref();
    unrefStream(child.stdout);
    unrefStream(child.stderr);
    return { brokers, pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function buildArgs(options: LocalBrokerOptions): string[] {
  const brokers = options.brokers ?? 3;
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 16) {
    throw new RangeError(`brokers must be an integer 1..16, got ${brokers}`);
  }
  const args = [String(brokers)];
  for (const topic of options.topics ?? []) {
    if (!TOPIC_NAME.test(topic.name)) {
      throw new RangeError(`invalid topic name ${JSON.stringify(topic.name)}`);
    }
    if (!Number.isInteger(topic.partitions) || topic.partitions < 1 || topic.partitions > 100_000) {
      throw new RangeError(`topic ${topic.name}: partitions must be an integer 1..100000`);
    }
    args.push(`${topic.name}:${topic.partitions}`);
  }
  return args;
}

function readFirstLine(child: ChildProcess, stderrTail: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const stdout = child.stdout;
    if (stdout === null) {
      reject(new Error('kafka-mock has no stdout pipe'));
      return;
    }
    let buffered = '';
    let settled = false;
    const finish = (error: Error | undefined, line?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error !== undefined) reject(error);
      else resolve(line ?? '');
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      finish(new Error(`kafka-mock exited (${signal ?? `code ${code}`}) before printing its address: ${stderrTail().trim()}`));
    };
    const onError = (error: Error): void => finish(new Error(`kafka-mock failed to start: ${error.message}`, { cause: error }));
    const timer = setTimeout(() => {
      finish(new Error(`kafka-mock printed no address within ${START_TIMEOUT_MS} ms: ${stderrTail().trim()}`));
    }, START_TIMEOUT_MS);
    stdout.setEncoding('utf8');
    // Stays attached after the first line, so stdout is drained for the whole run.
    stdout.on('data', (chunk: string) => {
      if (settled) return;
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline >= 0) finish(undefined, buffered.slice(0, newline).trim());
    });
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function parseBootstrap(line: string): string[] {
  const brokers = line.split(',').map((entry) => entry.trim());
  for (const address of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(address)) {
      throw new Error(`kafka-mock printed an unexpected address list: ${JSON.stringify(line)}`);
    }
  }
  return brokers;
}

/** Resolves once host:port accepts a TCP connection; retries every 20 ms until the deadline. */
async function probe(address: string, timeoutMs: number): Promise<void> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator);
  const port = Number(address.slice(separator + 1));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.setTimeout(1_000);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() >= deadline) throw new Error(`kafka-mock listener ${address} did not accept a connection`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    await settleOrTimeout(exited, 0);
    return;
  }
  sendSignal(child, 'SIGTERM');
  if (await settleOrTimeout(exited, KILL_AFTER_MS)) return;
  sendSignal(child, 'SIGKILL');
  if (!(await settleOrTimeout(exited, KILL_AFTER_MS))) {
    throw new Error(`kafka-mock (pid ${child.pid}) did not exit after SIGKILL`);
  }
}

function sendSignal(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    child.kill(signal);
  } catch {
    // Already gone (ESRCH): the 'exit' event settles the wait.
  }
}

/** true when `promise` settled within `ms`; the timer never outlives the wait. */
async function settleOrTimeout(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function unrefStream(stream: Readable | null): void {
  // Child pipes are net.Sockets at run time; the typings only say Readable.
  if (stream instanceof Socket) stream.unref();
}
