import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { FanoutError } from '../../src/errors/catalogue.js';

/**
 * The two file-system calls the file destination makes. Implementations throw Node file-system
 * errors (with `code`, e.g. ENOSPC, EACCES); the destination classifies them.
 */
export interface FilePort {
  /**
   * Writes `body` at `key` (a relative `/`-separated path under the directory) atomically:
   * a uniquely named temporary file in this process's folder under `.terra-fanout-tmp/` (same
   * file system), fsync, then rename over the target.
   * Creates missing folders. Writing the same key again replaces the file.
   */
  writeAtomic(key: string, body: Buffer): Promise<void>;
  /**
   * Creates the directory when missing, removes temporary files left by processes of this host
   * that died mid-write (SIGKILL), and proves the directory writable with a probe file.
   */
  probe(): Promise<void>;
}

/** Marks files that are still being written; never left behind by a finished write. */
export const TEMP_SUFFIX = '.terra-fanout-tmp';

/** Folder under the destination directory holding one temp folder per writing process. */
export const TEMP_FOLDER = '.terra-fanout-tmp';

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp folders of this host whose process is gone; other hosts' folders are left alone. */
async function removeStaleTempFolders(tempRoot: string, host: string): Promise<void> {
  const entries = await readdir(tempRoot, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const match = entry.isDirectory() ? /^(.+)\.(\d+)$/.exec(entry.name) : null;
    if (match === null || match[1] !== host) continue;
    const pid = Number(match[2]);
    if (pid !== process.pid && !processIsAlive(pid)) await rm(join(tempRoot, entry.name), { recursive: true, force: true });
  }
}

/** The real file-system port over `directory`; `fsync: false` skips the file and folder fsyncs. */
export function createFileClient(directory: string, options: { fsync: boolean } = { fsync: true }): FilePort {
  const root = resolve(directory);
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
  const tempRoot = join(root, TEMP_FOLDER);
  const ownTemp = join(tempRoot, `${host}.${process.pid}`);
  let ownTempReady: Promise<unknown> | undefined;
  /** Folders this client has created or seen; a cache, so most writes skip the mkdir call. */
  const knownFolders = new Set<string>();

  const targetOf = (key: string): string => {
    const target = resolve(root, key);
    if (!target.startsWith(root + sep)) {
      throw new FanoutError('destination_misconfigured', 'The object key resolves outside the file destination directory.');
    }
    return target;
  };

  return {
    async writeAtomic(key, body) {
      const target = targetOf(key);
      const folder = dirname(target);
      if (!knownFolders.has(folder)) {
        await mkdir(folder, { recursive: true });
        if (knownFolders.size >= 10_000) knownFolders.clear();
        knownFolders.add(folder);
      }
      ownTempReady ??= mkdir(ownTemp, { recursive: true });
      await ownTempReady;
      const temp = join(ownTemp, `${randomUUID()}${TEMP_SUFFIX}`);
      try {
        const handle = await open(temp, 'wx');
        try {
          await handle.writeFile(body);
          if (options.fsync) await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, target);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        ownTempReady = undefined; // folders are recreated on the next write if someone removed them
        knownFolders.delete(folder);
        throw error;
      }
      if (options.fsync) await syncFolder(folder);
    },

    async probe() {
      await mkdir(root, { recursive: true });
      const info = await stat(root);
      if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      await removeStaleTempFolders(tempRoot, host);
      await mkdir(ownTemp, { recursive: true });
      const probe = join(ownTemp, `probe-${randomUUID()}${TEMP_SUFFIX}`);
      await writeFile(probe, 'probe', { flag: 'wx' });
      await unlink(probe);
    },
  };
}

/** Makes the rename durable. Some file systems refuse to fsync a directory; that is not a write failure. */
async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability of the directory entry is best effort; the data itself was fsynced.
  }
}
