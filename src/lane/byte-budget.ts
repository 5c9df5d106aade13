/**
 * A byte budget shared by lanes: the process-wide bound on message bytes held in memory.
 * `acquire` waits (FIFO) until the bytes fit. A request larger than the whole budget is let
 * through alone once nothing else is held, so one oversized message can never deadlock.
 */
export class ByteBudget {
  readonly limit: number;
  #used = 0;
  readonly #waiters: Array<{ bytes: number; resolve: () => void }> = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  tryAcquire(bytes: number): boolean {
    if (this.#waiters.length > 0 || !this.#fits(bytes)) return false;
    this.#used += bytes;
    return true;
  }

  acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire(bytes)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = { bytes, resolve: () => resolve() };
      this.#waiters.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) {
            this.#waiters.splice(index, 1);
            reject(signal.reason);
          }
        },
        { once: true },
      );
    });
  }

  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
    while (this.#waiters.length > 0) {
      const next = this.#waiters[0];
      if (next === undefined || !this.#fits(next.bytes)) break;
      this.#waiters.shift();
      this.#used += next.bytes;
      next.resolve();
    }
  }

  #fits(bytes: number): boolean {
    return this.#used + bytes <= this.limit || this.#used === 0;
  }
}
