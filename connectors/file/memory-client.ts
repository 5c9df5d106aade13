import type { MemoryPort } from '../../src/connector/contract.js';
import type { FilePort } from './client.js';

function fsError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/**
 * An in-memory FilePort for the contract suite. `unavailable` fails like a full disk (ENOSPC),
 * `rejected` like a directory we may not write (EACCES).
 */
export function createMemoryFilePort(): MemoryPort<FilePort> {
  const files = new Map<string, Buffer>();
  let broken: 'unavailable' | 'rejected' | null = null;

  const failIfBroken = (): void => {
    if (broken === 'unavailable') throw fsError('ENOSPC', 'no space left on device');
    if (broken === 'rejected') throw fsError('EACCES', 'permission denied');
  };

  return {
    client: {
      async writeBatch(writes) {
        return writes.map((write) => {
          try {
            failIfBroken();
          } catch (error) {
            const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'EIO';
            return { ok: false as const, error: { code, message: String(error), heldBack: false } };
          }
          files.set(write.key, Buffer.from(write.body));
          return { ok: true as const };
        });
      },
      async probe() {
        failIfBroken();
      },
      async close() {},
    },
    stored: () => files,
    breakWith(mode) {
      broken = mode;
    },
  };
}
