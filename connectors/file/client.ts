import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve, sep } from 'node:path';
import { Worker } from 'node:worker_threads';
import { closeWithin, withDeadline, type CallDeadline } from '../shared/call-deadline.js';
import type { FileWrite } from './encode.js';
import type { ThreadAnswer, ThreadFileResult, WriteThreadSettings } from './write-thread.js';

/** One file's outcome: written, or the file-system error that stopped it. */
export type FileWriteResult = { ok: true } | { ok: false; error: FileSystemFailure };

/** A file-system error as the destination classifies it: the errno (`ENOSPC`, `EACCES`...). */
export interface FileSystemFailure {
  code: string;
  message: string;
  /** Not attempted: an earlier file of the same path in the batch failed with this error. */
  heldBack: boolean;
}

/**
 * The file-system calls the file destination makes. Implementations report Node file-system
 * errors by errno (`code`); the destination classifies them.
 */
export interface FilePort {
  /**
   * Writes each file atomically, in order: a uniquely named temporary file in this process's
   * folder under `.terra-fanout-tmp/` (same file system), fsync when configured, then a rename over
   * the target (and, with fsync, the folder fsynced before this resolves). Creates missing
   * folders. Writing the same key again replaces the file. After a failure, later files of the
   * same key in the batch are held back. One result per write, in order.
   * Rejects with DeadlineExceeded / ShutdownAbort when the batch did not finish within timeoutMs
   * or before `signal` aborted: then no file of the batch that was not yet in place will be
   * renamed later.
   */
  writeBatch(writes: readonly FileWrite[], signal: AbortSignal): Promise<FileWriteResult[]>;
  /**
   * Creates the directory when missing, removes temporary files left by processes of this host
   * that died mid-write (SIGKILL), and proves the directory writable with a probe file. Within
   * timeoutMs. Rejects with an errno error.
   */
  probe(): Promise<void>;
  /** Stops the writer thread. Safe to call more than once. */
  close(): Promise<void>;
}

/** The errno-like code of a key that would leave the directory (the destination classifies it). */
export const OUTSIDE_DIRECTORY = 'EOUTSIDEDIRECTORY';

/** Marks files that are still being written; never left behind by a finished write. */
export const TEMP_SUFFIX = '.terra-fanout-tmp';

/** Folder under the destination directory holding one temp folder per writing process. */
export const TEMP_FOLDER = '.terra-fanout-tmp';

/**
 * Writer threads left stuck in a file-system call (a hung mount) that may be alive at once. Past
 * it, writes fail at once as destination_unavailable instead of starting yet another thread.
 */
const MAX_STUCK_THREADS = 4;

export interface FileClientOptions {
  fsync: boolean;
  /** Longest time one batch (or the probe) may take. */
  timeoutMs: number;
  /** For tests: see WriteThreadSettings.hold (a write that hangs like one on a dead mount). */
  hold?: SharedArrayBuffer | undefined;
}

interface Pending {
  resolve(answer: ThreadAnswer): void;
  reject(error: Error): void;
}

/** A writer thread and the calls waiting for it. */
class WriterThread {
  readonly worker: Worker;
  private readonly abandonedFlag = new SharedArrayBuffer(4);
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  abandoned = false;

  constructor(settings: Omit<WriteThreadSettings, 'abandoned' | 'tempPrefix'>, onExit: () => void) {
    const data: WriteThreadSettings = { ...settings, abandoned: this.abandonedFlag, tempPrefix: randomUUID() };
    this.worker = new Worker(new URL('./write-thread.js', import.meta.url), { workerData: data });
    this.worker.on('message', (answer: ThreadAnswer) => {
      const waiting = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      waiting?.resolve(answer);
    });
    const fail = (error: Error): void => {
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', (error) => fail(Object.assign(new Error(`the file writer thread failed: ${error.message}`), { code: 'EWRITERTHREAD' })));
    this.worker.on('exit', () => {
      fail(Object.assign(new Error('the file writer thread stopped'), { code: 'EWRITERTHREAD' }));
      onExit();
    });
    // The thread never keeps the process alive (a thread stuck on a dead mount least of all).
    // After the listeners: attaching a 'message' listener refs the worker again.
    this.worker.unref();
  }

  /** Sends one message and waits for its answer within the deadline. */
  async call(message: { kind: 'write'; targets: string[]; bodies: ArrayBuffer; lengths: number[] } | { kind: 'probe'; name: string }, deadline: CallDeadline, step: string): Promise<ThreadAnswer> {
    const id = this.nextId++;
    const answer = new Promise<ThreadAnswer>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (message.kind === 'write') this.worker.postMessage({ ...message, id }, [message.bodies]);
    else this.worker.postMessage({ ...message, id });
    return deadline.within(answer, step);
  }

  /**
   * Stops waiting for this thread: it renames nothing more, removes the temporary files of the
   * batch it is stuck in once the file system lets it, and then ends.
   */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    Atomics.store(new Int32Array(this.abandonedFlag), 0, 1);
    for (const waiting of this.pending.values()) waiting.reject(Object.assign(new Error('abandoned'), { code: 'EABANDONED' }));
    this.pending.clear();
    this.worker.postMessage({ kind: 'quit' });
  }
}

function fromThread(result: ThreadFileResult): FileWriteResult {
  return result === null ? { ok: true } : { ok: false, error: { code: result.errno, message: result.message, heldBack: result.heldBack } };
}

/** An errno error, as the destination's classifier reads it. */
function errnoError(failure: { errno: string; message: string }): Error & { code: string } {
  return Object.assign(new Error(failure.message), { code: failure.errno });
}

/**
 * The real file-system port over `directory`: the calls run in a writer thread (./write-thread.ts),
 * a batch per message. `fsync: false` skips the file and folder fsyncs.
 */
export function createFileClient(directory: string, options: FileClientOptions = { fsync: true, timeoutMs: 30_000 }): FilePort {
  const root = resolve(directory);
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
  const tempRoot = resolve(root, TEMP_FOLDER);
  const settings = { root, tempRoot, ownTemp: resolve(tempRoot, `${host}.${process.pid}`), host, pid: process.pid, fsync: options.fsync, hold: options.hold };
  let thread: WriterThread | undefined;
  let stuck = 0;
  let closed = false;

  /** The absolute path of a key, or null when it would leave the directory. */
  const targetOf = (key: string): string | null => {
    // Keys are relative paths of sanitized segments: for one without an empty, `.`-led or trailing
    // segment, joining is what resolve() would give, without its normalizing walk.
    if (root !== sep && key !== '' && !key.startsWith('/') && !key.startsWith('.') && !key.endsWith('/') && !key.includes('//') && !key.includes('/.')) return `${root}${sep}${key}`;
    const target = resolve(root, key);
    return target.startsWith(root + sep) ? target : null;
  };

  const current = (): WriterThread => {
    if (closed) throw Object.assign(new Error('the file destination is closed'), { code: 'ECLOSED' });
    if (thread !== undefined && !thread.abandoned) return thread;
    if (stuck >= MAX_STUCK_THREADS) {
      throw Object.assign(new Error(`${stuck} writer threads are still stuck in file-system calls on ${root}; not starting another`), { code: 'ESTUCK' });
    }
    const started: WriterThread = new WriterThread(settings, () => {
      if (started.abandoned) stuck -= 1;
      if (thread === started) thread = undefined;
    });
    thread = started;
    return started;
  };

  /** Runs one call on the thread within timeoutMs; a thread that missed its deadline is abandoned. */
  const run = <T>(signal: AbortSignal | undefined, step: string, call: (writer: WriterThread, deadline: CallDeadline) => Promise<T>): Promise<T> =>
    withDeadline(options.timeoutMs, signal, async (deadline) => {
      const writer = current();
      try {
        return await call(writer, deadline);
      } catch (error) {
        if (deadline.over && !writer.abandoned) {
          stuck += 1;
          writer.abandon();
        }
        throw error;
      }
    });

  return {
    async writeBatch(writes, signal) {
      const results: FileWriteResult[] = new Array<FileWriteResult>(writes.length);
      const targets: string[] = [];
      const positions: number[] = [];
      const lengths: number[] = [];
      writes.forEach((write, index) => {
        const target = targetOf(write.key);
        if (target === null) results[index] = { ok: false, error: { code: OUTSIDE_DIRECTORY, message: 'The object key resolves outside the file destination directory.', heldBack: false } };
        else {
          targets.push(target);
          positions.push(index);
          lengths.push(write.body.length);
        }
      });
      if (targets.length === 0) return results;
      // One buffer of its own, transferred to the thread: no copy of the messages the bodies are slices of.
      const bodies = new Uint8Array(lengths.reduce((sum, length) => sum + length, 0));
      let offset = 0;
      for (const index of positions) {
        const body = writes[index]?.body ?? Buffer.alloc(0);
        bodies.set(body, offset);
        offset += body.length;
      }
      const written = await run(signal, 'write the files', async (writer, deadline) => {
        const answer = await writer.call({ kind: 'write', targets, bodies: bodies.buffer, lengths }, deadline, 'write the files');
        if ('error' in answer) throw errnoError(answer.error);
        return answer.results;
      });
      positions.forEach((index, position) => {
        const result = written[position];
        results[index] = result === undefined ? { ok: false, error: { code: 'EWRITERTHREAD', message: 'the writer thread gave fewer results than files', heldBack: false } } : fromThread(result);
      });
      return results;
    },

    probe() {
      return run(undefined, 'probe the directory', async (writer, deadline) => {
        const answer = await writer.call({ kind: 'probe', name: `probe-${randomUUID()}${TEMP_SUFFIX}` }, deadline, 'probe the directory');
        if ('error' in answer) throw errnoError(answer.error);
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      const last = thread;
      thread = undefined;
      if (last !== undefined)
        await closeWithin(
          () => last.worker.terminate(),
          () => undefined,
        );
    },
  };
}
