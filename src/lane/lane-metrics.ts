import type { Counter, Gauge, Histogram } from 'prom-client';
import type { LaneLabel, Metrics } from '../observability/metrics.js';
import { stallReasons, type StallReason } from '../worker/worker-control.js';

/** A lane's metric series, bound to its labels once (label hashing per increment is not free). */
export interface LaneMetrics {
  messagesReceived: Counter.Internal;
  recordsReceived: Counter.Internal;
  recordsDelivered: Counter.Internal;
  commits: Counter.Internal;
  batchSize: Histogram.Internal<LaneLabel>;
  sendOk: Histogram.Internal<LaneLabel | 'outcome'>;
  sendFailed: Histogram.Internal<LaneLabel | 'outcome'>;
  ready: Gauge.Internal<LaneLabel>;
  paused: Gauge.Internal<LaneLabel>;
  lastProgress: Gauge.Internal<LaneLabel>;
  inFlightBytes: Gauge.Internal<LaneLabel>;
  stalled: Record<StallReason, Gauge.Internal<LaneLabel | 'reason'>>;
  messagesFiltered(reason: string, count: number): void;
  recordsFiltered(reason: string, count: number): void;
  deliveryFailure(code: string): void;
  messageRejected(code: string): void;
  deadLettered(code: string): void;
  retry(code: string, count?: number): void;
  lag(topic: string, partition: number, messages: number, seconds: number): void;
  dropLag(topic: string, partition: number): void;
  /** Removes every series of the lane (it was removed by a reload). */
  remove(): void;
}

export function bindLaneMetrics(metrics: Metrics, tenant: string, destination: string, connector: string): LaneMetrics {
  const labels = { tenant, destination, connector };
  const values = [tenant, destination, connector] as const;
  const stalled = Object.fromEntries(stallReasons.map((reason) => [reason, metrics.laneStalled.labels(...values, reason)])) as Record<StallReason, Gauge.Internal<LaneLabel | 'reason'>>;
  for (const gauge of Object.values(stalled)) gauge.set(0);
  const lagged = new Set<string>();
  const bound: LaneMetrics = {
    messagesReceived: metrics.messagesReceived.labels(...values),
    recordsReceived: metrics.recordsReceived.labels(...values),
    recordsDelivered: metrics.recordsDelivered.labels(...values),
    commits: metrics.commits.labels(...values),
    batchSize: metrics.batchSize.labels(...values),
    sendOk: metrics.sendDuration.labels(...values, 'ok'),
    sendFailed: metrics.sendDuration.labels(...values, 'failed'),
    ready: metrics.laneReady.labels(...values),
    paused: metrics.lanePaused.labels(...values),
    lastProgress: metrics.laneLastProgress.labels(...values),
    inFlightBytes: metrics.inFlightBytes.labels(...values),
    stalled,
    messagesFiltered: (reason, count) => metrics.messagesFiltered.inc({ ...labels, reason }, count),
    recordsFiltered: (reason, count) => metrics.recordsFiltered.inc({ ...labels, reason }, count),
    deliveryFailure: (code) => metrics.deliveryFailures.inc({ ...labels, code }),
    messageRejected: (code) => metrics.messagesRejected.inc({ ...labels, code }),
    deadLettered: (code) => metrics.recordsDeadLettered.inc({ ...labels, code }),
    retry: (code, count = 1) => metrics.retries.inc({ ...labels, code }, count),
    lag(topic, partition, messages, seconds) {
      const where = { ...labels, topic, partition: String(partition) };
      lagged.add(`${topic}\u0000${partition}`);
      metrics.laneLag.set(where, messages);
      metrics.laneLagSeconds.set(where, seconds);
    },
    dropLag(topic, partition) {
      if (!lagged.delete(`${topic}\u0000${partition}`)) return;
      const where = { ...labels, topic, partition: String(partition) };
      metrics.laneLag.remove(where);
      metrics.laneLagSeconds.remove(where);
    },
    remove() {
      for (const key of [...lagged]) {
        const [topic = '', partition = '0'] = key.split('\u0000');
        bound.dropLag(topic, Number(partition));
      }
      for (const gauge of [metrics.laneReady, metrics.lanePaused, metrics.laneLastProgress, metrics.inFlightBytes]) gauge.remove(labels);
      for (const reason of stallReasons) metrics.laneStalled.remove({ ...labels, reason });
    },
  };
  bound.ready.set(0);
  bound.paused.set(0);
  bound.inFlightBytes.set(0);
  return bound;
}
