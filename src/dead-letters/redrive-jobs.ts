import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RedriveProgress } from './redrive-dead-letters.js';

/**
 * Redrives running inside the worker process, started by `POST /admin/dlq/redrive`. One job per
 * (tenant, destination) at a time; each job's progress is readable while it runs and for a while
 * after (the last `keepFinished` finished jobs). Stopping the worker cancels running jobs: each
 * stops after the dead letter in hand, and the next redrive with the same filters resumes there.
 */
export type RedriveJobState = 'running' | 'finished' | 'failed' | 'cancelled';

export interface RedriveJobView {
  id: string;
  tenant: string;
  destination: string;
  /** Who asked (the X-Operator header, or the remote address). */
  by: string;
  state: RedriveJobState;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string | null;
  progress: RedriveProgress | null;
  error: string | null;
}

/** Runs one redrive; reports progress through `onProgress` and stops when `signal` aborts. */
export type RedriveRunner = (signal: AbortSignal, onProgress: (progress: RedriveProgress) => void) => Promise<RedriveProgress>;

export interface RedriveJobs {
  /** Starts a job, or throws RedriveConflictError when that lane's redrive already runs here. */
  start(job: { tenant: string; destination: string; by: string; dryRun: boolean }, run: RedriveRunner): RedriveJobView;
  list(): RedriveJobView[];
  get(id: string): RedriveJobView | undefined;
  /** Asks a running job to stop; undefined when there is no such job. */
  cancel(id: string, by: string): RedriveJobView | undefined;
  /** Cancels every running job and waits for them to stop. */
  stopAll(): Promise<void>;
}

export class RedriveConflictError extends Error {
  constructor(readonly existing: RedriveJobView) {
    super(`A redrive of ${existing.tenant}/${existing.destination} is already running (job ${existing.id}).`);
    this.name = 'RedriveConflictError';
  }
}

interface Job {
  view: RedriveJobView;
  abort: AbortController;
  done: Promise<void>;
}

export function createRedriveJobs(options: { logger: Logger; keepFinished?: number }): RedriveJobs {
  const keep = options.keepFinished ?? 20;
  const jobs = new Map<string, Job>();
  const snapshot = (job: Job): RedriveJobView => ({ ...job.view, progress: job.view.progress === null ? null : { ...job.view.progress } });

  const prune = (): void => {
    const finished = [...jobs.values()].filter((job) => job.view.state !== 'running');
    for (const job of finished.slice(0, Math.max(0, finished.length - keep))) jobs.delete(job.view.id);
  };

  return {
    start(request, run) {
      const existing = [...jobs.values()].find((job) => job.view.state === 'running' && job.view.tenant === request.tenant && job.view.destination === request.destination);
      if (existing !== undefined) throw new RedriveConflictError(snapshot(existing));
      const abort = new AbortController();
      const view: RedriveJobView = {
        id: randomUUID().slice(0, 8),
        tenant: request.tenant,
        destination: request.destination,
        by: request.by,
        state: 'running',
        dryRun: request.dryRun,
        startedAt: new Date().toISOString(),
        finishedAt: null,
        progress: null,
        error: null,
      };
      const log = options.logger.child({ job: view.id, tenant: view.tenant, destination: view.destination });
      const done = run(abort.signal, (progress) => {
        view.progress = progress;
      }).then(
        (progress) => {
          view.progress = progress;
          view.state = abort.signal.aborted ? 'cancelled' : 'finished';
        },
        (error: unknown) => {
          view.state = 'failed';
          view.error = error instanceof Error ? error.message : String(error);
          log.error({ err: error }, 'Redrive job failed.');
        },
      ).finally(() => {
        view.finishedAt = new Date().toISOString();
        prune();
      });
      jobs.set(view.id, { view, abort, done });
      return snapshot({ view, abort, done });
    },
    list() {
      return [...jobs.values()].map(snapshot);
    },
    get(id) {
      const job = jobs.get(id);
      return job === undefined ? undefined : snapshot(job);
    },
    cancel(id, by) {
      const job = jobs.get(id);
      if (job === undefined) return undefined;
      if (job.view.state === 'running') {
        options.logger.info({ job: id, by }, 'Redrive job cancelled; it stops after the dead letter in hand.');
        job.abort.abort();
      }
      return snapshot(job);
    },
    async stopAll() {
      const running = [...jobs.values()].filter((job) => job.view.state === 'running');
      for (const job of running) job.abort.abort();
      await Promise.all(running.map((job) => job.done));
    },
  };
}
