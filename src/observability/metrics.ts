import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric terra-fanout exports, declared in one place. Names follow
 * `terra_fanout_<thing>_<unit>`. Labels come from bounded sets only: tenant and destination
 * names from config, connector type from the registry, error codes from the catalogue,
 * outcome from a fixed list. Never a user id, topic offset or anything from a payload.
 */
export interface Metrics {
  registry: Registry;
  messagesReceived: Counter<'tenant' | 'destination'>;
  recordsReceived: Counter<'tenant' | 'destination' | 'connector'>;
  recordsDelivered: Counter<'tenant' | 'destination' | 'connector'>;
  recordsFiltered: Counter<'tenant' | 'destination'>;
  recordsFailed: Counter<'tenant' | 'destination' | 'connector' | 'code'>;
  recordsDeadLettered: Counter<'tenant' | 'destination' | 'code'>;
  retries: Counter<'tenant' | 'destination' | 'code'>;
  batchSize: Histogram<'tenant' | 'destination' | 'connector'>;
  sendDuration: Histogram<'tenant' | 'destination' | 'connector' | 'outcome'>;
  laneLag: Gauge<'tenant' | 'destination' | 'topic' | 'partition'>;
  lanePaused: Gauge<'tenant' | 'destination'>;
  laneReady: Gauge<'tenant' | 'destination'>;
  inFlightBytes: Gauge<'tenant' | 'destination'>;
  processInFlightBytes: Gauge;
  commits: Counter<'tenant' | 'destination'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'terra_fanout_' });
  const lane = ['tenant', 'destination'] as const;
  const laneConnector = ['tenant', 'destination', 'connector'] as const;
  return {
    registry,
    messagesReceived: new Counter({ name: 'terra_fanout_messages_received_total', help: 'Kafka messages read by a lane.', labelNames: lane, registers: [registry] }),
    recordsReceived: new Counter({ name: 'terra_fanout_records_received_total', help: 'Records produced from decoded events, after the event filter.', labelNames: laneConnector, registers: [registry] }),
    recordsDelivered: new Counter({ name: 'terra_fanout_records_delivered_total', help: 'Records the destination confirmed.', labelNames: laneConnector, registers: [registry] }),
    recordsFiltered: new Counter({ name: 'terra_fanout_records_filtered_total', help: 'Events skipped by the destination event/provider filter (committed, not delivered).', labelNames: lane, registers: [registry] }),
    recordsFailed: new Counter({ name: 'terra_fanout_records_failed_total', help: 'Failed delivery attempts and rejected input, by error code.', labelNames: [...laneConnector, 'code'], registers: [registry] }),
    recordsDeadLettered: new Counter({ name: 'terra_fanout_records_dead_lettered_total', help: 'Records and messages parked in the dead-letter topic, by error code.', labelNames: [...lane, 'code'], registers: [registry] }),
    retries: new Counter({ name: 'terra_fanout_retries_total', help: 'Records scheduled for another attempt, by error code.', labelNames: [...lane, 'code'], registers: [registry] }),
    batchSize: new Histogram({ name: 'terra_fanout_batch_size_records', help: 'Records per send() call.', labelNames: laneConnector, buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 5000], registers: [registry] }),
    sendDuration: new Histogram({ name: 'terra_fanout_send_duration_seconds', help: 'Duration of one send() call.', labelNames: [...laneConnector, 'outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] }),
    laneLag: new Gauge({ name: 'terra_fanout_lane_lag_messages', help: 'High watermark minus the last committed offset, per assigned partition.', labelNames: [...lane, 'topic', 'partition'], registers: [registry] }),
    lanePaused: new Gauge({ name: 'terra_fanout_lane_paused', help: '1 while a lane has paused fetching (destination retrying or budget full).', labelNames: lane, registers: [registry] }),
    laneReady: new Gauge({ name: 'terra_fanout_lane_ready', help: '1 once a lane has joined its group and its destination check passed.', labelNames: lane, registers: [registry] }),
    inFlightBytes: new Gauge({ name: 'terra_fanout_lane_in_flight_bytes', help: 'Bytes of messages read but not yet committed, per lane.', labelNames: lane, registers: [registry] }),
    processInFlightBytes: new Gauge({ name: 'terra_fanout_process_in_flight_bytes', help: 'Bytes of messages read but not yet committed, all lanes.', registers: [registry] }),
    commits: new Counter({ name: 'terra_fanout_offset_commits_total', help: 'Offset commits made by a lane.', labelNames: lane, registers: [registry] }),
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
    adminRequests: new Counter({ name: 'terra_fanout_admin_requests_total', help: 'Admin API requests, by route and HTTP status.', labelNames: ['route', 'status'], registers: [registry] }),
  };
}
