import type { Logger } from 'pino';
import { z } from 'zod';
import type { AnyConnectorDefinition } from '../connector/contract.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import type { KafkaClient } from '../kafka/kafka-client.js';
import { deadLetterSelectionSchema, filterOf, type DeadLetterSelection } from './dead-letter-filter.js';
import { inspectDeadLetters, type InspectResult } from './inspect-dead-letters.js';
import { redriveDeadLetters } from './redrive-dead-letters.js';
import { createRedriveJobs, type RedriveJobs, type RedriveJobView } from './redrive-jobs.js';

/**
 * Dead-letter inspect and redrive as the admin API offers them inside a running worker, always
 * against the config in force now (after any reload), so a fixed destination config applies.
 */
export interface DeadLetterContext {
  kafka: KafkaClient;
  /** The worker config in force. */
  worker(): WorkerConfig;
  /** The tenant's config in force, or undefined when the worker has no such tenant. */
  tenant(name: string): TenantConfig | undefined;
  connectors: readonly AnyConnectorDefinition[];
  logger: Logger;
  fetch?: typeof globalThis.fetch | undefined;
}

/** Default and ceiling of attempts per record in one redrive (the destination's own retry policy applies under it). */
export const defaultRedriveMaxAttempts = 5;

/** `POST /admin/dlq/redrive` and `dlq redrive` options beyond the selection. */
export const redriveOptionsShape = {
  dry_run: z.boolean().optional(),
  rate: z.coerce.number().positive().max(1_000_000).optional(),
  max_attempts: z.coerce.number().int().min(1).max(100).optional(),
};

export const redriveRequestSchema = deadLetterSelectionSchema.extend({
  destination: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a destination name'),
  ...redriveOptionsShape,
});

export type RedriveApiRequest = z.output<typeof redriveRequestSchema>;

export class TenantNotFoundError extends Error {
  constructor(tenant: string) {
    super(`This worker has no tenant ${tenant}.`);
    this.name = 'TenantNotFoundError';
  }
}

export interface DeadLetterOperations {
  inspect(selection: DeadLetterSelection, signal: AbortSignal): Promise<InspectResult>;
  /** Starts a redrive job; throws TenantNotFoundError or RedriveConflictError. */
  redrive(request: RedriveApiRequest, by: string): RedriveJobView;
  jobs: RedriveJobs;
}

/** How many records `GET /admin/dlq` lists when the request does not say. */
const DEFAULT_LIST_LIMIT = 100;

export function createDeadLetterOperations(context: DeadLetterContext): DeadLetterOperations {
  const jobs = createRedriveJobs({ logger: context.logger });
  const tenantOf = (name: string): TenantConfig => {
    const tenant = context.tenant(name);
    if (tenant === undefined) throw new TenantNotFoundError(name);
    return tenant;
  };
  return {
    jobs,
    inspect(selection, signal) {
      const tenant = tenantOf(selection.tenant);
      const worker = context.worker();
      return inspectDeadLetters(
        { tenant: tenant.tenant, deadLetterTopic: tenant.deadLetterTopic, filter: filterOf(selection), limit: selection.limit ?? DEFAULT_LIST_LIMIT },
        { kafka: context.kafka, groupPrefix: worker.kafka.groupPrefix, sessionTimeoutMs: worker.kafka.sessionTimeoutMs, logger: context.logger, signal },
      );
    },
    redrive(request, by) {
      const tenant = tenantOf(request.tenant);
      const dryRun = request.dry_run ?? false;
      return jobs.start({ tenant: tenant.tenant, destination: request.destination, by, dryRun }, (signal, onProgress) =>
        redriveDeadLetters(
          {
            tenant,
            destination: request.destination,
            filter: filterOf(request),
            limit: request.limit ?? null,
            dryRun,
            ratePerSecond: request.rate ?? null,
            maxAttempts: request.max_attempts ?? defaultRedriveMaxAttempts,
          },
          { kafka: context.kafka, worker: context.worker(), connectors: context.connectors, logger: context.logger, signal, fetch: context.fetch, onProgress, progressIntervalMs: 0 },
        ),
      );
    },
  };
}
