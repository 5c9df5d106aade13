/**
 * Deadlines for the calls a connector makes to its destination. Every call is bounded: a server
 * that stops answering (frozen, partitioned, overloaded) turns into destination_timeout within the
 * destination's `timeoutMs`, never into a silent hang, whether or not the SDK underneath honours a
 * signal. What was abandoned is the caller's to clean up: a connection whose call timed out is in
 * an unknown state (a statement may still be running, an answer may still arrive) and must be
 * destroyed, never handed back to a pool.
 *
 *   const deadline = startDeadline(config.timeoutMs, signal);
 *   try {
 *     const connection = await deadline.within(pool.connect(), 'connect');
 *     await deadline.within(connection.query('BEGIN'), 'begin');
 *     ...
 *   } finally {
 *     deadline.end();
 *   }
 */
import { setMaxListeners } from 'node:events';
import { FanoutError } from '../../src/errors/catalogue.js';

/** Raised by CallDeadline.within when the call's time ran out; `step` says what was awaited. */
export class DeadlineExceeded extends Error {
  constructor(
    readonly step: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer within ${timeoutMs} ms (${step})`);
    this.name = 'DeadlineExceeded';
  }
}

/** Raised by CallDeadline.within when the shutdown signal aborted first. */
export class ShutdownAbort extends Error {
  constructor(readonly step: string) {
    super(`abandoned at shutdown (${step})`);
    this.name = 'ShutdownAbort';
  }
}

/** One call's time budget, shared by every step of the call (connect, statements, commit...). */
export interface CallDeadline {
  readonly timeoutMs: number;
  /**
   * Waits for `work` until it settles, the deadline passes (DeadlineExceeded) or shutdown aborts
   * (ShutdownAbort). `work` is not cancelled: it goes on, and its late result or error is dropped.
   */
  within<T>(work: Promise<T>, step: string): Promise<T>;
  /** True once the deadline passed or shutdown aborted: whatever the call holds must be destroyed. */
  readonly over: boolean;
  /**
   * Aborted once the deadline passes or shutdown aborts (after within() has rejected), for SDKs
   * that cancel a request, and close its connection, on a signal. Made on first use.
   */
  readonly signal: AbortSignal;
  /** Stops the timer and the shutdown listener. Call it in `finally`; safe to call more than once. */
  end(): void;
}

interface Waiter {
  step: string;
  reject(error: Error): void;
}

const ignore = (): void => undefined;

/**
 * Starts a deadline `timeoutMs` from now; `shutdown` (a lane's send signal, and for example the
 * connector's own close signal) ends it early.
 */
export function startDeadline(timeoutMs: number, shutdown?: AbortSignal | readonly AbortSignal[]): CallDeadline {
  const shutdowns = shutdown === undefined ? [] : Array.isArray(shutdown) ? (shutdown as readonly AbortSignal[]) : [shutdown as AbortSignal];
  const waiters = new Set<Waiter>();
  let failure: ((step: string) => Error) | undefined;
  let controller: AbortController | undefined;
  const fail = (make: (step: string) => Error): void => {
    if (failure !== undefined) return;
    failure = make;
    for (const waiter of waiters) waiter.reject(make(waiter.step));
    waiters.clear();
    controller?.abort(make('aborted'));
  };
  const onShutdown = (): void => fail((step) => new ShutdownAbort(step));
  const timer = setTimeout(() => fail((step) => new DeadlineExceeded(step, timeoutMs)), timeoutMs);
  for (const signal of shutdowns) {
    if (signal.aborted) onShutdown();
    else signal.addEventListener('abort', onShutdown, { once: true });
  }

  return {
    timeoutMs,
    get over() {
      return failure !== undefined;
    },
    get signal() {
      if (controller === undefined) {
        controller = new AbortController();
        setMaxListeners(0, controller.signal);
        if (failure !== undefined) controller.abort(failure('aborted'));
      }
      return controller.signal;
    },
    within<T>(work: Promise<T>, step: string): Promise<T> {
      if (failure !== undefined) {
        work.catch(ignore); // abandoned: a late rejection must not become an unhandled one
        return Promise.reject(failure(step));
      }
      return new Promise<T>((resolve, reject) => {
        const waiter: Waiter = { step, reject };
        waiters.add(waiter);
        work.then(
          (value) => {
            waiters.delete(waiter);
            resolve(value);
          },
          (error: unknown) => {
            waiters.delete(waiter);
            reject(error);
          },
        );
      });
    },
    end() {
      clearTimeout(timer);
      for (const signal of shutdowns) signal.removeEventListener('abort', onShutdown);
      waiters.clear();
    },
  };
}

/** Runs `call` under a deadline that ends when the call does. */
export async function withDeadline<T>(timeoutMs: number, shutdown: AbortSignal | readonly AbortSignal[] | undefined, call: (deadline: CallDeadline) => Promise<T>): Promise<T> {
  const deadline = startDeadline(timeoutMs, shutdown);
  try {
    return await call(deadline);
  } finally {
    deadline.end();
  }
}

/**
 * The catalogue error for a DeadlineExceeded or ShutdownAbort (destination_timeout, or
 * destination_unavailable at shutdown, both retried); undefined for any other error.
 * `target` names the destination without credentials, e.g. `PostgreSQL 127.0.0.1:5432/app`.
 */
export function deadlineError(error: unknown, target: string): FanoutError | undefined {
  if (error instanceof DeadlineExceeded) {
    return new FanoutError('destination_timeout', `${target} did not answer in time: nothing within timeoutMs (${error.timeoutMs} ms) while waiting for: ${error.step}.`, {
      detail: { timeoutMs: error.timeoutMs, step: error.step },
    });
  }
  if (error instanceof ShutdownAbort) {
    return new FanoutError('destination_unavailable', `${target}: the call was aborted at shutdown (${error.step}).`, { detail: { shutdown: true, step: error.step } });
  }
  return undefined;
}

/**
 * The error for records a destination left alone because the worker is shutting down: retried
 * (read again) after the restart. `verb` keeps each connector's wording ("Not written"/"Not sent").
 */
export function shutdownError(verb: 'written' | 'sent'): FanoutError {
  return new FanoutError('destination_unavailable', `Not ${verb}: the worker is shutting down.`, { detail: { shutdown: true } });
}

/**
 * How long close() waits for a client to end politely (flush, say goodbye to the server) before it
 * destroys what is left. A server that hangs must not keep the worker from exiting.
 */
export const CLOSE_GRACE_MS = 2_000;

/**
 * Closes a client within `graceMs`: waits for `close()` (its error is ignored), then always calls
 * `destroy()`, which must drop every socket still open (idempotent, synchronous). Resolves within
 * `graceMs` whatever the server does.
 */
export async function closeWithin(close: () => Promise<unknown>, destroy: () => void, graceMs: number = CLOSE_GRACE_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  try {
    await Promise.race([close().then(ignore, ignore), grace]);
  } finally {
    clearTimeout(timer);
    destroy();
  }
}

const callSignals = new WeakMap<AbortSignal, AbortSignal>();

/**
 * The signal to hand to calls made under `parent` (a lane's shutdown signal): aborted with it,
 * but without a listener limit. Every in-flight request listens for abort; with `concurrency`
 * requests on the lane's own signal Node would print MaxListenersExceededWarning. One listener on
 * `parent`, for the parent's lifetime (kept in a WeakMap).
 */
export function sharedCallSignal(parent: AbortSignal): AbortSignal {
  const known = callSignals.get(parent);
  if (known !== undefined) return known;
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', () => controller.abort(parent.reason), { once: true });
  callSignals.set(parent, controller.signal);
  return controller.signal;
}
