import type { Secret } from '../config/secret.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';

/** One tenant's route on the gateway: `POST /terra/<name>`. */
export interface IngestTenant {
  name: string;
  /** Where its events are produced: `ingest.topic`, else the first of the tenant's topics. */
  topic: string;
  /** The tenant's `source.signature.secret`; revealed only to verify a signature. */
  secret: Secret;
  /** The tenant's `source.signature.toleranceSeconds`: the same window its lanes verify with. */
  toleranceSeconds: number;
  rejectInvalid: boolean;
}

/** Everything the gateway needs, read from the worker file's `ingest:` section and the tenant files. */
export interface GatewaySettings {
  host: string;
  port: number;
  bodyLimit: number;
  maxInFlightBytes: number;
  headersTimeoutMs: number;
  readTimeoutMs: number;
  keepAliveTimeoutMs: number;
  produceTimeoutMs: number;
  retryAfterSeconds: number;
  healthcheck: 'answer' | 'produce';
  /** On SIGTERM, how long requests in flight may take to finish (`shutdown.drainTimeoutMs`). */
  drainTimeoutMs: number;
  tenants: ReadonlyMap<string, IngestTenant>;
}

/**
 * The gateway's settings. Only tenants with `ingest.enabled` get a route; the tenant schema
 * guarantees each of them has a signing secret.
 */
export function gatewaySettings(worker: WorkerConfig, tenants: readonly TenantConfig[]): GatewaySettings {
  const routes = new Map<string, IngestTenant>();
  for (const tenant of tenants) {
    const signature = tenant.source?.signature;
    const topic = tenant.ingest?.topic ?? tenant.topics[0];
    if (tenant.ingest?.enabled !== true || signature === undefined || topic === undefined) continue;
    routes.set(tenant.tenant, { name: tenant.tenant, topic, secret: signature.secret, toleranceSeconds: signature.toleranceSeconds, rejectInvalid: tenant.ingest.rejectInvalid });
  }
  const { ingest } = worker;
  return {
    host: ingest.host,
    port: ingest.port,
    bodyLimit: ingest.bodyLimit,
    maxInFlightBytes: ingest.maxInFlightBytes,
    headersTimeoutMs: ingest.headersTimeoutMs,
    readTimeoutMs: ingest.readTimeoutMs,
    keepAliveTimeoutMs: ingest.keepAliveTimeoutMs,
    produceTimeoutMs: ingest.produceTimeoutMs,
    retryAfterSeconds: ingest.retryAfterSeconds,
    healthcheck: ingest.healthcheck,
    drainTimeoutMs: worker.shutdown.drainTimeoutMs,
    tenants: routes,
  };
}
