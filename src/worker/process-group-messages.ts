import { z } from 'zod';
import type { TapFilter } from '../tap/tap-filter.js';
import type { LaneStatus, OperatorPause, ReloadResult, TapEvent } from './worker-control.js';

/**
 * The IPC messages between `run --processes N` (the primary) and its worker processes. Both
 * sides parse what they receive with these schemas; anything else is ignored. The schemas of
 * shared types are checked against those types at compile time (`z.ZodType<LaneStatus>`...).
 *
 * A worker process says `hello` as soon as it listens, before it reads its config; the primary
 * answers `start` with the state the process must start with (operator pauses, tap readers), and
 * sends every later change of that state as it happens. IPC keeps the order of messages, so a
 * process never misses a change between the two.
 */

const isoTime = z.string();

const partitionLagSchema = z.object({ topic: z.string(), partition: z.number().int(), messages: z.number(), seconds: z.number(), process: z.number().int().optional() });

export const laneStatusSchema: z.ZodType<LaneStatus> = z.object({
  tenant: z.string(),
  destination: z.string(),
  connector: z.string(),
  group: z.string(),
  state: z.enum(['checking', 'running', 'retrying', 'paused', 'stopping', 'stopped']),
  ready: z.boolean(),
  stalled: z.object({ reason: z.enum(['destination_unavailable', 'pointer_retry', 'budget', 'check_failed', 'dead_letter_unavailable']), since: isoTime }).nullable(),
  pausedByOperator: z.object({ by: z.string(), at: isoTime }).nullable(),
  lag: z.object({ messages: z.number(), seconds: z.number(), partitions: z.array(partitionLagSchema) }),
  lastDeliveryAt: isoTime.nullable(),
  lastErrorCode: z.string().nullable(),
  delivered: z.number(),
  parked: z.number(),
});

export const reloadResultSchema: z.ZodType<ReloadResult> = z.object({
  ok: z.boolean(),
  problems: z.array(z.string()),
  started: z.array(z.string()),
  restarted: z.array(z.string()),
  stopped: z.array(z.string()),
  unchanged: z.array(z.string()),
  missingProcesses: z.array(z.number().int()).optional(),
});

export const operatorPauseSchema: z.ZodType<OperatorPause> = z.object({ tenant: z.string(), destination: z.string(), by: z.string(), atMs: z.number() });

const tapFilterSchema: z.ZodType<TapFilter> = z.object({
  tenant: z.string().nullable(),
  destination: z.string().nullable(),
  type: z.string().nullable(),
  userId: z.string().nullable(),
  outcome: z.enum(['delivered', 'parked', 'filtered']).nullable(),
  bodies: z.boolean(),
});

/** An `/admin/tap` reader of the primary: its hub's subscription id and its filter. */
const tapSubscriptionSchema = z.object({ id: z.number().int(), filter: tapFilterSchema });

const tapEventSchema: z.ZodType<TapEvent> = z.object({
  at: isoTime,
  tenant: z.string(),
  destination: z.string(),
  outcome: z.enum(['delivered', 'parked', 'filtered']),
  code: z.string().optional(),
  type: z.string().nullable(),
  userId: z.string().nullable(),
  identity: z.string().nullable(),
  location: z.string().optional(),
  source: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }),
  body: z.string().optional(),
});

/** What the primary asks a worker process on behalf of the admin API. */
export const workerRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('lanes') }),
  z.object({ kind: z.literal('pause'), tenant: z.string(), destination: z.string(), by: z.string() }),
  z.object({ kind: z.literal('resume'), tenant: z.string(), destination: z.string(), by: z.string() }),
  z.object({ kind: z.literal('reload'), reason: z.string() }),
  /** Drain the lane and keep it stopped (answer `held`) until `release`, or `maxHoldMs`: its offsets are being moved. */
  z.object({ kind: z.literal('hold'), tenant: z.string(), destination: z.string(), maxHoldMs: z.number().int().positive() }),
  /** Start a held lane again (answer `lane`). */
  z.object({ kind: z.literal('release'), tenant: z.string(), destination: z.string() }),
]);
export type WorkerRequest = z.infer<typeof workerRequestSchema>;

/** A worker process's answer: what was asked for, or why not. */
export const workerAnswerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('lanes'), lanes: z.array(laneStatusSchema) }),
  z.object({ kind: z.literal('lane'), lane: laneStatusSchema }),
  z.object({ kind: z.literal('reloaded'), result: reloadResultSchema }),
  /** The lane is drained and stays stopped until released. */
  z.object({ kind: z.literal('held') }),
  /** The process runs no such lane. */
  z.object({ kind: z.literal('lane_not_found'), message: z.string() }),
  /** Anything else went wrong (the process logged it). */
  z.object({ kind: z.literal('failed'), message: z.string() }),
]);
export type WorkerAnswer = z.infer<typeof workerAnswerSchema>;

/** Primary -> worker process. */
export const toWorkerProcessSchema = z.discriminatedUnion('type', [
  /** Answer with a `metrics` message carrying `id` and the registry as prom-client JSON. */
  z.object({ type: z.literal('collect-metrics'), id: z.number().int() }),
  /** Drain and exit 0 (the same as SIGTERM). */
  z.object({ type: z.literal('stop') }),
  /** The answer to `hello`: start the lanes with these operator pauses in force, and tap for these readers. */
  z.object({ type: z.literal('start'), pauses: z.array(operatorPauseSchema), tapSubscriptions: z.array(tapSubscriptionSchema) }),
  /** Answer with an `answer` message carrying `id` (once the worker started, if it has not yet). */
  z.object({ type: z.literal('request'), id: z.number().int(), request: workerRequestSchema }),
  /** The primary's tap readers now (empty: nobody reads, stop tapping). */
  z.object({ type: z.literal('tap-subscriptions'), subscriptions: z.array(tapSubscriptionSchema) }),
]);
export type ToWorkerProcess = z.infer<typeof toWorkerProcessSchema>;
export type StartMessage = Extract<ToWorkerProcess, { type: 'start' }>;

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
  /** Sent first, as soon as the process listens; the primary answers `start`. */
  z.object({ type: z.literal('hello') }),
  z.object({ type: z.literal('metrics'), id: z.number().int(), metrics: z.array(metricJsonSchema) }),
  /**
   * Sent once the worker started, then whenever its `/readyz` changes: whether it is ready, what
   * it waits for (empty when ready), the lanes stalled and why, and the lanes paused by an operator.
   */
  readinessSchema.extend({ type: z.literal('readiness') }),
  /** The answer to a `request` with the same id. */
  z.object({ type: z.literal('answer'), id: z.number().int(), answer: workerAnswerSchema }),
  /** Tap events for the primary's readers, and per reader how many were dropped since the last batch (tap-forwarder.ts). */
  z.object({ type: z.literal('tap'), events: z.array(tapEventSchema), dropped: z.array(z.object({ subscription: z.number().int(), count: z.number().int() })) }),
]);
export type FromWorkerProcess = z.infer<typeof fromWorkerProcessSchema>;
