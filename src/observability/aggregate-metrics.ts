import { AggregatorRegistry, Registry } from 'prom-client';
import type { MetricJson } from '../worker/process-group-messages.js';

/**
 * How `run --processes N` shows N worker processes on one `/metrics`:
 * - counters and histograms are summed (records delivered by the deployment, all sends' durations);
 * - a `terra_fanout_*` gauge describes one process's state (a lane ready or stalled in that
 *   process, the lag of the partitions that process holds, the bytes held against that process's
 *   budget), so summing would be wrong: each value gets a `process` label, the worker process's
 *   slot ("1".."N", kept across restarts);
 * - except the gauges in `SUMMED_GAUGES`, whose sum is the deployment's total;
 * - Node.js and process metrics use prom-client's own cluster rules (CPU and memory summed, event
 *   loop lag averaged, version taken once).
 */
const SUMMED_GAUGES: ReadonlySet<string> = new Set(['terra_fanout_lane_in_flight_bytes', 'terra_fanout_decode_cache_bytes']);

/** The label that tells worker processes apart on per-process gauges. */
export const PROCESS_LABEL = 'process';

function isPerProcess(metric: MetricJson): boolean {
  return metric.type === 'gauge' && metric.aggregator === 'sum' && metric.name.startsWith('terra_fanout_') && !SUMMED_GAUGES.has(metric.name);
}

/** One process's metrics, its per-process gauges labelled with `process`. */
export function labelProcess(metrics: readonly MetricJson[], process: string): MetricJson[] {
  return metrics.map((metric) =>
    isPerProcess(metric) ? { ...metric, values: metric.values.map((value) => ({ ...value, labels: { ...value.labels, [PROCESS_LABEL]: process } })) } : metric,
  );
}

/** Aggregates the metrics of several processes (each already passed through labelProcess). */
export function aggregateMetrics(perProcess: readonly (readonly MetricJson[])[]): Registry {
  return AggregatorRegistry.aggregate([...perProcess]);
}

/**
 * A registry whose text is gathered on every scrape: `gather` collects each process's metrics,
 * and they are aggregated as above. It serves `/metrics` through the ordinary HTTP server.
 */
export class AggregatedRegistry extends Registry {
  readonly #gather: () => Promise<MetricJson[][]>;

  constructor(gather: () => Promise<MetricJson[][]>) {
    super();
    this.#gather = gather;
  }

  override async metrics(): Promise<string> {
    return aggregateMetrics(await this.#gather()).metrics();
  }
}
