import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { version as workerVersion } from '../cli/version.js';

/**
 * Every metric terra-fanout exports, declared in one place; docs/metrics.md says what each counts
 * (a test keeps the two in step). Names follow `terra_fanout_<thing>_<unit>`. Labels come from
 * bounded sets only: tenant and destination names from config, connector type from the registry,
 * error codes from the catalogue, reasons and outcomes from fixed lists. Never a user id, topic
 * offset or anything from a payload. Every lane series carries tenant, destination and connector.
 */
export type LaneLabel = 'tenant' | 'destination' | 'connector';

export interface Metrics {
  registry: Registry;
  messagesReceived: Counter<LaneLabel>;
  messagesFiltered: Counter<LaneLabel | 'reason'>;
  recordsFiltered: Counter<LaneLabel | 'reason'>;
  recordsReceived: Counter<LaneLabel>;
  recordsDelivered: Counter<LaneLabel>;
  deliveryFailures: Counter<LaneLabel | 'code'>;
  messagesRejected: Counter<LaneLabel | 'code'>;
  recordsDeadLettered: Counter<LaneLabel | 'code'>;
  retries: Counter<LaneLabel | 'code'>;
  commits: Counter<LaneLabel>;
  batchSize: Histogram<LaneLabel>;
  sendDuration: Histogram<LaneLabel | 'outcome'>;
  laneLag: Gauge<LaneLabel | 'topic' | 'partition'>;
  laneLagSeconds: Gauge<LaneLabel | 'topic' | 'partition'>;
  laneReady: Gauge<LaneLabel>;
  lanePaused: Gauge<LaneLabel>;
  laneStalled: Gauge<LaneLabel | 'reason'>;
  laneLastProgress: Gauge<LaneLabel>;
  inFlightBytes: Gauge<LaneLabel>;
  processInFlightBytes: Gauge;
  processBudgetBytes: Gauge;
  decodeCacheBytes: Gauge;
  decodeCacheRequests: Counter<'tenant' | 'result'>;
  buildInfo: Gauge<'version' | 'node'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  // Unprefixed, as prom-client names them, so stock Node.js dashboards work.
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const lane = ['tenant', 'destination', 'connector'] as const;
  const registers = [registry];
  const buildInfo = new Gauge({ name: 'terra_fanout_build_info', help: 'Always 1; the worker version and the Node.js version.', labelNames: ['version', 'node'] as const, registers });
  buildInfo.set({ version: workerVersion, node: process.versions.node }, 1);
  return {
    registry,
    messagesReceived: new Counter({ name: 'terra_fanout_messages_received_total', help: 'Kafka messages a lane read.', labelNames: lane, registers }),
    messagesFiltered: new Counter({
      name: 'terra_fanout_messages_filtered_total',
      help: 'Messages that gave the destination nothing to write (committed, not sent), by reason: event_type, provider, format, empty.',
      labelNames: [...lane, 'reason'],
      registers,
    }),
    recordsFiltered: new Counter({ name: 'terra_fanout_records_filtered_total', help: 'Records dropped by the destination filter from a message that still gave others, by reason.', labelNames: [...lane, 'reason'], registers }),
    recordsReceived: new Counter({ name: 'terra_fanout_records_received_total', help: 'Records a lane took for delivery, after filters.', labelNames: lane, registers }),
    recordsDelivered: new Counter({ name: 'terra_fanout_records_delivered_total', help: 'Records the destination confirmed.', labelNames: lane, registers }),
    deliveryFailures: new Counter({ name: 'terra_fanout_delivery_failures_total', help: 'Failed delivery attempts, one per record per attempt, by error code.', labelNames: [...lane, 'code'], registers }),
    messagesRejected: new Counter({ name: 'terra_fanout_messages_rejected_total', help: 'Messages the decoder refused (each is parked), by error code.', labelNames: [...lane, 'code'], registers }),
    recordsDeadLettered: new Counter({ name: 'terra_fanout_records_dead_lettered_total', help: 'Records and rejected messages written to the dead-letter topic, by error code.', labelNames: [...lane, 'code'], registers }),
    retries: new Counter({ name: 'terra_fanout_retries_total', help: 'Attempts scheduled again after a retryable failure (delivery or pointer fetch), by error code.', labelNames: [...lane, 'code'], registers }),
    commits: new Counter({ name: 'terra_fanout_offset_commits_total', help: 'Offset commits a lane made.', labelNames: lane, registers }),
    batchSize: new Histogram({ name: 'terra_fanout_batch_size_records', help: 'Records per send() call.', labelNames: lane, buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 5000], registers }),
    sendDuration: new Histogram({
      name: 'terra_fanout_send_duration_seconds',
      help: 'Duration of one send() call; outcome failed when any record failed.',
      labelNames: [...lane, 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    laneLag: new Gauge({
      name: 'terra_fanout_lane_lag_messages',
      help: 'High watermark minus the committed offset, per partition assigned to this process; refreshed on a timer.',
      labelNames: [...lane, 'topic', 'partition'],
      registers,
    }),
    laneLagSeconds: new Gauge({ name: 'terra_fanout_lane_lag_seconds', help: 'Age of the oldest message not yet committed, per partition; 0 when caught up.', labelNames: [...lane, 'topic', 'partition'], registers }),
    laneReady: new Gauge({ name: 'terra_fanout_lane_ready', help: '1 once a lane joined its group and its destination check passed.', labelNames: lane, registers }),
    lanePaused: new Gauge({ name: 'terra_fanout_lane_paused', help: '1 while an operator has paused the lane.', labelNames: lane, registers }),
    laneStalled: new Gauge({
      name: 'terra_fanout_lane_stalled',
      help: '1 while the lane cannot make progress, by reason: destination_unavailable, pointer_retry, budget, check_failed, dead_letter_unavailable.',
      labelNames: [...lane, 'reason'],
      registers,
    }),
    laneLastProgress: new Gauge({ name: 'terra_fanout_lane_last_progress_timestamp_seconds', help: 'Unix time of the lane\'s last commit, or of the last moment it had nothing to do.', labelNames: lane, registers }),
    inFlightBytes: new Gauge({ name: 'terra_fanout_lane_in_flight_bytes', help: 'Bytes a lane holds: messages read but not committed, with their decoded estimate.', labelNames: lane, registers }),
    processInFlightBytes: new Gauge({ name: 'terra_fanout_process_in_flight_bytes', help: 'Bytes held by all lanes (the process budget in use).', registers }),
    processBudgetBytes: new Gauge({ name: 'terra_fanout_process_budget_bytes', help: 'The configured process budget (budgets.processInFlightBytes).', registers }),
    decodeCacheBytes: new Gauge({ name: 'terra_fanout_decode_cache_bytes', help: 'Estimated bytes held by the per-tenant decode caches.', registers }),
    decodeCacheRequests: new Counter({ name: 'terra_fanout_decode_cache_requests_total', help: 'Decode cache lookups, by result: hit or miss.', labelNames: ['tenant', 'result'] as const, registers }),
    buildInfo,
  };
}

/**
 * Metrics of the operations surface: live reload of tenant files and the admin API. A group of its
 * own, registered on the worker's registry: `createOperationsMetrics(metrics.registry)`.
 */
export interface OperationsMetrics {
  /** `outcome`: `applied` (valid, changes applied), `unchanged` (valid, nothing to do), `invalid` (problems; the last good config stays), `failed` (applying failed). */
  configReloads: Counter<'outcome'>;
  /** Problems found by the last reload attempt; 0 once the files are valid again. */
  configProblems: Gauge;
  /** `route` is the route template (`/admin/lanes/{tenant}/{destination}/pause`...), `status` the HTTP status. */
  adminRequests: Counter<'route' | 'status'>;
}

export const reloadOutcomes = ['applied', 'unchanged', 'invalid', 'failed'] as const;
export type ReloadOutcome = (typeof reloadOutcomes)[number];

export function createOperationsMetrics(registry: Registry): OperationsMetrics {
  const configReloads = new Counter({ name: 'terra_fanout_config_reloads_total', help: 'Reloads of the tenant files, by outcome.', labelNames: ['outcome'], registers: [registry] });
  for (const outcome of reloadOutcomes) configReloads.inc({ outcome }, 0);
  return {
    configReloads,
    configProblems: new Gauge({ name: 'terra_fanout_config_problems', help: 'Problems in the tenant files found by the last reload (the last good config stays while above 0).', registers: [registry] }),
    ...createAdminMetrics(registry),
  };
}

/**
 * The admin API's own metric alone, for the primary of `run --processes N`: it serves the admin API
 * while its worker processes reload (and count reloads) themselves, so it registers nothing else
 * that /metrics would add to theirs.
 */
export function createAdminMetrics(registry: Registry): Pick<OperationsMetrics, 'adminRequests'> {
  return { adminRequests: new Counter({ name: 'terra_fanout_admin_requests_total', help: 'Admin API requests, by route and HTTP status.', labelNames: ['route', 'status'], registers: [registry] }) };
}

/**
 * The ingest gateway's metrics (`terra-fanout ingest`, or `run` with `ingest.enabled`), a group
 * of their own beside the lane metrics. `tenant` is a configured tenant name, or `_unknown` for a
 * path that names none (never the path itself); `status` is the HTTP status answered, or
 * `aborted` when the client went away first.
 */
export interface IngestMetrics {
  registry: Registry;
  requests: Counter<'tenant' | 'status'>;
  produceDuration: Histogram<'tenant' | 'outcome'>;
  receivedBytes: Counter<'tenant'>;
  producedBytes: Counter<'tenant'>;
  signatureFailures: Counter<'tenant' | 'code'>;
  healthchecks: Counter<'tenant'>;
  producerReady: Gauge;
  inFlightBytes: Gauge;
}

/** Registers the ingest metrics in `registry` (the worker's, when one process does both), or in a new one with the process metrics. */
export function createIngestMetrics(registry?: Registry): IngestMetrics {
  const target = registry ?? new Registry();
  if (registry === undefined) collectDefaultMetrics({ register: target });
  const registers = [target];
  return {
    registry: target,
    requests: new Counter({ name: 'terra_fanout_ingest_requests_total', help: 'Webhook requests answered by the ingest gateway, by tenant and HTTP status.', labelNames: ['tenant', 'status'], registers }),
    produceDuration: new Histogram({
      name: 'terra_fanout_ingest_produce_duration_seconds',
      help: 'From handing an event to the producer to Kafka\'s acknowledgement (acks=all) or the failure; outcome ok or the error code.',
      labelNames: ['tenant', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    receivedBytes: new Counter({ name: 'terra_fanout_ingest_received_bytes_total', help: 'Request body bytes received in full by the ingest gateway.', labelNames: ['tenant'], registers }),
    producedBytes: new Counter({ name: 'terra_fanout_ingest_produced_bytes_total', help: 'Body bytes Kafka acknowledged.', labelNames: ['tenant'], registers }),
    signatureFailures: new Counter({ name: 'terra_fanout_ingest_signature_failures_total', help: 'Requests refused with 401: signature_missing or signature_invalid.', labelNames: ['tenant', 'code'], registers }),
    healthchecks: new Counter({ name: 'terra_fanout_ingest_healthchecks_total', help: 'Terra healthcheck events answered without producing them.', labelNames: ['tenant'], registers }),
    producerReady: new Gauge({ name: 'terra_fanout_ingest_producer_ready', help: '1 while the ingest producer is connected to Kafka and its last produce succeeded.', registers }),
    inFlightBytes: new Gauge({ name: 'terra_fanout_ingest_in_flight_bytes', help: 'Request body bytes held by the gateway (being read or waiting for Kafka).', registers }),
  };
}
