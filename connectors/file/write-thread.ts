/**
 * The file destination's writer thread (a worker_threads Worker started by ./client.ts). It does
 * the file-system calls with synchronous system calls, a whole batch per message: for each file a
 * temporary file in this process's folder under `.terra-fanout-tmp/` (open O_EXCL, write, fsync
 * when asked, close), then a rename over the target; with fsync, each folder that got a file is
 * fsynced once before the batch is answered. Synchronous calls in a thread of their own cost a
 * fraction of the promise calls' CPU, and a file system that hangs (a dead NFS server) blocks only
 * this thread, never the event loop nor libuv's shared thread pool: the client stops waiting at
 * its deadline, raises the `abandoned` flag and starts another thread. A thread that wakes up
 * after it was abandoned renames nothing more: the records it held were reported as failed and
 * will be written again, and a late rename could put an older copy over a newer one.
 *
 * Messages in: WriteBatchMessage, ProbeMessage, QuitMessage. Out: ThreadAnswer, one per write or
 * probe, same id. An abandoned thread finishes its current batch (unlinking its temporary files
 * instead of renaming them), then reads the QuitMessage and ends.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { collectGarbage } from '../../src/runtime/collect-garbage.js';

/** What the thread is started with (workerData). */
export interface WriteThreadSettings {
  root: string;
  /** `<root>/.terra-fanout-tmp`: one folder per writing process below it. */
  tempRoot: string;
  /** This process's own temp folder, `<tempRoot>/<host>.<pid>`. */
  ownTemp: string;
  host: string;
  pid: number;
  fsync: boolean;
  /** One Int32: set to 1 by the client when it stops waiting for this thread. */
  abandoned: SharedArrayBuffer;
  /** Prefix of this thread's temporary file names (unique per thread). */
  tempPrefix: string;
  /**
   * For tests: while the Int32 in this buffer is 1, the thread blocks (Atomics.wait) before the
   * rename of each file, as a call stuck on a hung network mount would.
   */
  hold?: SharedArrayBuffer | undefined;
}

export interface WriteBatchMessage {
  kind: 'write';
  id: number;
  /** Absolute target paths, already checked to lie inside root. */
  targets: string[];
  /** Every body, back to back, in one transferred buffer. */
  bodies: ArrayBuffer;
  /** Byte length of each body, in order. */
  lengths: number[];
}

export interface ProbeMessage {
  kind: 'probe';
  id: number;
  /** The file name of the probe, written and removed in ownTemp. */
  name: string;
}

/** Ends the thread once the messages before it are done. */
export interface QuitMessage {
  kind: 'quit';
}

/** One file's result: written, or the errno that stopped it (held back: an earlier file of the same path failed). */
export type ThreadFileResult = null | { errno: string; message: string; heldBack: boolean };

export type ThreadAnswer = { id: number; results: ThreadFileResult[] } | { id: number; error: { errno: string; message: string } };

function errnoOf(error: unknown): { errno: string; message: string } {
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'EUNKNOWN';
  const message = error instanceof Error ? error.message : String(error);
  return { errno: code, message };
}

/** Removes temp folders of this host whose process is gone; other hosts' folders are left alone. */
function removeStaleTempFolders(settings: WriteThreadSettings): void {
  let entries: string[];
  try {
    entries = readdirSync(settings.tempRoot);
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = /^(.+)\.(\d+)$/.exec(entry);
    if (match === null || match[1] !== settings.host) continue;
    const pid = Number(match[2]);
    if (pid === settings.pid || processIsAlive(pid)) continue;
    rmSync(join(settings.tempRoot, entry), { recursive: true, force: true });
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errnoOf(error).errno === 'EPERM';
  }
  // A process that died but was not reaped yet (an orphan in a container whose first process does
  // not reap) still answers kill(0): on Linux, its state says it is a zombie.
  try {
    return !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** Makes renames durable. Some file systems refuse to fsync a directory; that is not a write failure. */
function syncFolder(folder: string): void {
  try {
    const fd = openSync(folder, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Durability of the directory entry is best effort; the data itself was fsynced.
  }
}

function startThread(settings: WriteThreadSettings): void {
  const port = parentPort;
  if (port === null) throw new Error('write-thread.js runs only as a worker thread');
  const abandoned = new Int32Array(settings.abandoned);
  const hold = settings.hold === undefined ? undefined : new Int32Array(settings.hold);
  /** Folders created or seen; most writes skip the mkdir call. */
  const knownFolders = new Set<string>();
  let ownTempReady = false;
  let counter = 0;

  const ensureFolder = (folder: string): void => {
    if (knownFolders.has(folder)) return;
    mkdirSync(folder, { recursive: true });
    if (knownFolders.size >= 10_000) knownFolders.clear();
    knownFolders.add(folder);
  };

  const writeOne = (target: string, body: Uint8Array): void => {
    const folder = dirname(target);
    ensureFolder(folder);
    if (!ownTempReady) {
      mkdirSync(settings.ownTemp, { recursive: true });
      ownTempReady = true;
    }
    counter += 1;
    const temp = join(settings.ownTemp, `${settings.tempPrefix}-${counter}.terra-fanout-tmp`);
    try {
      const fd = openSync(temp, 'wx');
      try {
        let written = 0;
        while (written < body.length) written += writeSync(fd, body, written, body.length - written);
        if (settings.fsync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      if (hold !== undefined) while (Atomics.load(hold, 0) === 1) Atomics.wait(hold, 0, 1, 50);
      if (Atomics.load(abandoned, 0) === 1) throw Object.assign(new Error('abandoned: the client stopped waiting for this write'), { code: 'EABANDONED' });
      renameSync(temp, target);
    } catch (error) {
      try {
        unlinkSync(temp);
      } catch {
        // never created, or already renamed
      }
      // Folders are made again on the next write if someone removed them.
      knownFolders.delete(folder);
      ownTempReady = false;
      throw error;
    }
  };

  const writeBatch = (message: WriteBatchMessage): ThreadFileResult[] => {
    const results: ThreadFileResult[] = [];
    const failedTargets = new Map<string, { errno: string; message: string }>();
    const synced = new Set<string>();
    let offset = 0;
    for (let index = 0; index < message.targets.length; index += 1) {
      const target = message.targets[index] ?? '';
      const length = message.lengths[index] ?? 0;
      const body = new Uint8Array(message.bodies, offset, length);
      offset += length;
      if (Atomics.load(abandoned, 0) === 1) {
        results.push({ errno: 'EABANDONED', message: 'abandoned: the client stopped waiting for this write', heldBack: false });
        continue;
      }
      const blocker = failedTargets.get(target);
      if (blocker !== undefined) {
        // Files of one path are written in batch order: after a failure, the later copies wait
        // for the earlier one's retry, so an older copy can never land over a newer one.
        results.push({ ...blocker, heldBack: true });
        continue;
      }
      try {
        writeOne(target, body);
        results.push(null);
        if (settings.fsync) synced.add(dirname(target));
      } catch (error) {
        const failure = errnoOf(error);
        failedTargets.set(target, failure);
        results.push({ ...failure, heldBack: false });
      }
    }
    for (const folder of synced) syncFolder(folder);
    return results;
  };

  const probe = (message: ProbeMessage): void => {
    mkdirSync(settings.root, { recursive: true });
    if (!statSync(settings.root).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    removeStaleTempFolders(settings);
    mkdirSync(settings.ownTemp, { recursive: true });
    const file = join(settings.ownTemp, message.name);
    writeFileSync(file, 'probe', { flag: 'wx' });
    unlinkSync(file);
  };

  port.on('message', (message: WriteBatchMessage | ProbeMessage | QuitMessage) => {
    if (message.kind === 'quit') {
      port.close();
      return;
    }
    let answer: ThreadAnswer;
    try {
      if (message.kind === 'write') answer = { id: message.id, results: writeBatch(message) };
      else {
        probe(message);
        answer = { id: message.id, results: [] };
      }
    } catch (error) {
      answer = { id: message.id, error: errnoOf(error) };
    }
    port.postMessage(answer);
    if (message.kind === 'write' && message.bodies.byteLength >= LARGE_BATCH_BYTES) setImmediate(collectGarbage);
  });
}

/**
 * The bodies of a batch arrive in one transferred buffer, which this thread's heap frees only at
 * its next collection; a thread that allocates little collects rarely, so buffers of large events
 * (tens of MB each) would pile up outside the main heap's view. After a large batch the thread
 * collects at once: its own heap holds almost nothing else, so a full collection here costs well
 * under a millisecond of this thread's time, not the main thread's.
 */
const LARGE_BATCH_BYTES = 4 * 1024 * 1024;

/** workerData as the client sends it (a structured clone, so checked rather than trusted). */
function isSettings(value: unknown): value is WriteThreadSettings {
  if (typeof value !== 'object' || value === null) return false;
  const strings = ['root', 'tempRoot', 'ownTemp', 'host', 'tempPrefix'].every((key) => typeof Reflect.get(value, key) === 'string');
  return strings && typeof Reflect.get(value, 'pid') === 'number' && typeof Reflect.get(value, 'fsync') === 'boolean' && Reflect.get(value, 'abandoned') instanceof SharedArrayBuffer;
}

const settings: unknown = workerData;
if (parentPort !== null && isSettings(settings)) startThread(settings);
