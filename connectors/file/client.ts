import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { FanoutError } from '../../src/errors/catalogue.js';

/**
 * The two file-system calls the file destination makes. Implementations throw Node file-system
 * errors (with `code`, e.g. ENOSPC, EACCES); the destination classifies them.
 */
export interface FilePort {
  /**
   * Writes `body` at `key` (a relative `/`-separated path under the directory) atomically:
   * a uniquely named temporary file in the same folder, fsync, then rename over the target.
   * Creates missing folders. Writing the same key again replaces the file.
   */
  writeAtomic(key: string, body: Buffer): Promise<void>;
  /** Creates the directory when missing and proves it writable by writing and removing a probe file. */
  probe(): Promise<void>;
}

/** Marks files that are still being written; never left behind by a finished write. */
export const TEMP_SUFFIX = '.terra-fanout-tmp';

/** The real file-system port over `directory`. */
export function createFileClient(directory: string): FilePort {
  const root = resolve(directory);

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
      await mkdir(folder, { recursive: true });
      const temp = join(folder, `.${basename(target)}.${randomUUID()}${TEMP_SUFFIX}`);
      try {
        const handle = await open(temp, 'wx');
        try {
          await handle.writeFile(body);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, target);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw error;
      }
      await syncFolder(folder);
    },

    async probe() {
      await mkdir(root, { recursive: true });
      const info = await stat(root);
      if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      const probe = join(root, `.terra-fanout-probe-${randomUUID()}${TEMP_SUFFIX}`);
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
