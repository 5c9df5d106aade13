import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { listTenantFiles } from '../config/load-config.js';

/**
 * Watches the tenants folder and calls `onChange` when its tenant files' names or contents
 * changed. Two sources, one decision: fs.watch events (debounced, so an editor's save or a
 * ConfigMap's symlink swap gives one reload) and a periodic rescan (fs.watch misses changes on
 * some volumes: Kubernetes ConfigMap symlink swaps, network file systems). Both compare a digest
 * of the files with the last one seen, so neither fires for a change that changes nothing.
 */
export interface TenantsWatcherOptions {
  dir: string;
  debounceMs: number;
  rescanIntervalMs: number;
  logger: Logger;
  onChange: (reason: string) => void;
}

export interface TenantsWatcher {
  /** Resolves once the first digest is taken; changes before it are not reported. */
  ready: Promise<void>;
  close(): void;
}

/** A digest of the tenant files (names and bytes), or null when the folder cannot be read. */
export async function tenantsDigest(dir: string): Promise<string | null> {
  let names: string[];
  try {
    names = await listTenantFiles(dir);
  } catch {
    return null;
  }
  const hash = createHash('sha256');
  for (const name of names) {
    hash.update(name).update('\0');
    // A file removed between the listing and the read digests as missing; the next event or rescan sees the rest.
    hash.update(await readFile(join(dir, name)).catch(() => Buffer.from('\0missing\0'))).update('\0');
  }
  return hash.digest('hex');
}

export function watchTenantsFolder(options: TenantsWatcherOptions): TenantsWatcher {
  const { dir, logger } = options;
  let last: string | null = null;
  let closed = false;
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let checking: Promise<void> = Promise.resolve();

  /** Compares the folder with the last digest; serialized so two checks never race. */
  const check = (reason: string): Promise<void> => {
    checking = checking.then(async () => {
      if (closed) return;
      const digest = await tenantsDigest(dir);
      if (digest === null) {
        logger.warn({ dir }, 'The tenants folder cannot be read; keeping the last good config.');
        return;
      }
      if (digest === last) return;
      last = digest;
      options.onChange(reason);
    });
    return checking;
  };

  const arm = (): void => {
    if (closed || watcher !== undefined) return;
    try {
      watcher = watch(dir, { persistent: false }, () => {
        clearTimeout(debounce);
        debounce = setTimeout(() => void check('tenants folder changed'), options.debounceMs);
      });
      watcher.on('error', (error) => {
        logger.warn({ err: error, dir }, 'Watching the tenants folder failed; the periodic rescan still sees changes.');
        watcher?.close();
        watcher = undefined;
      });
    } catch (error) {
      logger.warn({ err: error, dir }, 'Cannot watch the tenants folder; the periodic rescan still sees changes.');
    }
  };

  const rescan = setInterval(() => {
    arm(); // re-arm after the folder came back
    void check('tenants folder changed (periodic rescan)');
  }, options.rescanIntervalMs);
  rescan.unref();

  const ready = tenantsDigest(dir).then((digest) => {
    last = digest;
    arm();
  });

  return {
    ready,
    close() {
      closed = true;
      clearTimeout(debounce);
      clearInterval(rescan);
      watcher?.close();
      watcher = undefined;
    },
  };
}
