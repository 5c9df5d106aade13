import { z } from 'zod';

/**
 * The IPC messages between `run --processes N` (the primary) and its worker processes. Both
 * sides parse what they receive with these schemas; anything else is ignored.
 */

/** Primary -> worker process. */
export const toWorkerProcessSchema = z.discriminatedUnion('type', [
  /** Answer with a `metrics` message carrying `id` and the registry as prom-client JSON. */
  z.object({ type: z.literal('collect-metrics'), id: z.number().int() }),
  /** Drain and exit 0 (the same as SIGTERM). */
  z.object({ type: z.literal('stop') }),
]);
export type ToWorkerProcess = z.infer<typeof toWorkerProcessSchema>;

/** One metric of `Registry.getMetricsAsJSON()`, as far as aggregation reads it. */
export const metricJsonSchema = z.object({
  name: z.string(),
  help: z.string(),
  type: z.string(),
  aggregator: z.string(),
  values: z.array(
    z.object({
      // NaN is a valid sample (an event-loop statistic before its first measurement); over a JSON channel it arrives as null.
      value: z.union([z.number(), z.nan(), z.null()]).transform((value) => value ?? Number.NaN),
      labels: z.record(z.string(), z.union([z.string(), z.number()])),
      metricName: z.string().optional(),
    }),
  ),
});
export type MetricJson = z.output<typeof metricJsonSchema>;

/** `registry.getMetricsAsJSON()` as plain data (prom-client's types call `type` an enum; it is a string). */
export async function metricsAsJson(registry: { getMetricsAsJSON(): Promise<unknown> }): Promise<MetricJson[]> {
  return z.array(metricJsonSchema).parse(await registry.getMetricsAsJSON());
}

/** What a worker's `/readyz` says, as its body lists it. */
export const readinessSchema = z.object({
  ready: z.boolean(),
  waiting: z.array(z.string()),
  stalled: z.array(z.object({ lane: z.string(), reason: z.string(), since: z.string() })).default([]),
  paused: z.array(z.string()).default([]),
});
export type Readiness = z.output<typeof readinessSchema>;

/** Worker process -> primary. */
export const fromWorkerProcessSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('metrics'), id: z.number().int(), metrics: z.array(metricJsonSchema) }),
  /**
   * Sent once the worker started, then whenever its `/readyz` changes: whether it is ready, what
   * it waits for (empty when ready), the lanes stalled and why, and the lanes paused by an operator.
   */
  readinessSchema.extend({ type: z.literal('readiness') }),
]);
export type FromWorkerProcess = z.infer<typeof fromWorkerProcessSchema>;
