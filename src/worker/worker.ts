import type { Logger } from 'pino';
import { connectorRegistry } from '../../connectors/registry.js';
import type { AnyConnectorDefinition } from '../connector/contract.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import { createKafkaClient, type KafkaAdmin, type KafkaClient } from '../kafka/kafka-client.js';
import { moveLaneOffsets } from './lane-offsets.js';
import { ByteBudget } from '../lane/byte-budget.js';
import { Lane, tenantLaneReader } from '../lane/lane.js';
import { startHttpServer, type HttpServer } from '../observability/http-server.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { destinationFormatWarnings } from '../formats/destination-format.js';
import { createFormatDropReport, reportFormatDrops } from '../formats/report-format-drops.js';
import { destinationFilter, tenantDecoderSettings } from '../pipeline/destination-reader.js';
import { TenantDecoder } from '../pipeline/tenant-decoder.js';
import { buildDestination } from './build-destination.js';
import { laneSpecs, tenantDecodeFingerprint, type LaneSpec } from './lane-spec.js';
import { createOperations } from './operations.js';
import { planReload } from './reload-plan.js';
import { LaneNotFoundError, type LaneStatus, type OperatorPause, type ReloadResult, type TapSink, type WorkerControl } from './worker-control.js';

export interface WorkerInput {
  worker: WorkerConfig;
  tenants: readonly TenantConfig[];
}

export interface WorkerOptions {
  logger: Logger;
  /** Injected in tests; built from worker.kafka otherwise. */
  kafka?: KafkaClient;
  metrics?: Metrics;
  /** Overrides worker.http.port (0 = any free port). */
  httpPort?: number;
  fetch?: typeof fetch;
  /** The destination types available; the registry unless a test or benchmark adds its own. */
  connectors?: readonly AnyConnectorDefinition[];
  /** Receives records as lanes deliver or park them; the worker's own tap hub (the admin API's) otherwise. */
  tap?: TapSink;
  /**
   * Operator pauses in force from the start: their lanes start paused (a worker process of
   * `run --processes N` gets them from its primary). Like any pause, kept until resumed, across reloads.
   */
  operatorPauses?: readonly OperatorPause[];
  /** Loads the tenants again for reload(); without it reload() reports that it cannot reload. */
  loadTenants?: () => Promise<{ ok: true; tenants: readonly TenantConfig[] } | { ok: false; problems: string[] }>;
  now?: () => number;
}

export interface RunningWorker {
  /** The lanes running now (a reload changes the set). */
  readonly lanes: readonly Lane[];
  http: HttpServer;
  metrics: Metrics;
  /** What the admin API and reload steer. */
  control: WorkerControl;
  /**
   * Resolves with the error when a lane cannot go on (its consumer crashed for good, or it could
   * not start). The caller should stop() the worker and exit non-zero so it is restarted.
   */
  fatal: Promise<Error>;
  /**
   * Drains a lane and keeps it stopped until releaseLane(), or until `maxHoldMs` passed (then it
   * starts again by itself, with a warning): the primary of `run --processes` moves a lane's
   * offsets once every process holds it. A reload meanwhile updates what the lane will run with.
   */
  holdLane(tenant: string, destination: string, maxHoldMs: number): Promise<void>;
  /** Starts a held lane again (a lane that is running is left as it is); its status. */
  releaseLane(tenant: string, destination: string): LaneStatus;
  /** Applies a new set of tenants: starts, restarts and stops only the lanes that changed (logged by reload(), not here). */
  apply(tenants: readonly TenantConfig[]): Promise<ReloadResult>;
  /**
   * Reloads the tenant files through `loadTenants` (SIGHUP; the tenants watcher and POST
   * /admin/reload come the same way): one at a time, counted and logged.
   */
  reload(reason: string): Promise<ReloadResult>;
  /**
   * Drains every lane within worker.shutdown.drainTimeoutMs, commits, and closes. Resolves by
   * the deadline plus a short margin whatever a destination or the brokers do.
   */
  stop(): Promise<void>;
}

const MiB = 1024 * 1024;
const KiB = 1024;
/**
 * How long a lane stays held for a move of its offsets before it starts again by itself: the drain,
 * joining the group (which waits out a rebalance) and the commit take far less.
 */
export const MAX_HOLD_MS = 120_000;
/** What stop() allows past the drain deadline for leaving groups and closing clients. */
export const SHUTDOWN_MARGIN_MS = 3_000;

/** The Kafka consumer group of a lane: `<groupPrefix>.<tenant>.<destination>`. */
export function laneGroupId(groupPrefix: string, tenant: string, destination: string): string {
  return `${groupPrefix}.${tenant}.${destination}`;
}

interface RunningLane {
  spec: LaneSpec;
  lane: Lane;
}

interface TenantDecoding {
  fingerprint: string;
  decoder: TenantDecoder;
}

/** Builds one lane per (tenant, destination), starts them and the HTTP endpoints. */
export async function startWorker(input: WorkerInput, options: WorkerOptions): Promise<RunningWorker> {
  const { worker } = input;
  const logger = options.logger;
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? createMetrics();
  const kafka = options.kafka ?? createKafkaClient(worker.kafka, logger);
  const deadLetters = kafka.createProducer();
  const admin = kafka.createAdmin();
  const processBudget = new ByteBudget(worker.budgets.processInFlightBytes);
  metrics.processBudgetBytes.set(worker.budgets.processInFlightBytes);
  const laneBudgetBytes = Math.min(worker.budgets.laneInFlightBytes, worker.budgets.processInFlightBytes);
  const cacheBytes = worker.budgets.decodeCacheBytes ?? Math.min(32 * MiB, Math.floor(worker.budgets.processInFlightBytes / 8));
  const connectors = options.connectors ?? connectorRegistry;
  const operations = createOperations({ worker, registry: metrics.registry, logger });
  const tap = options.tap ?? operations.tap;

  let reportFatal: (error: Error) => void = () => undefined;
  const fatal = new Promise<Error>((resolve) => {
    reportFatal = resolve;
  });
  const running = new Map<string, RunningLane>();
  const decoders = new Map<string, TenantDecoding>();
  /** Operator pauses by lane name: they survive a reload and a lane restart. */
  const pauses = new Map<string, { by: string; atMs: number }>((options.operatorPauses ?? []).map(({ tenant, destination, by, atMs }) => [`${tenant}/${destination}`, { by, atMs }]));
  let stopping = false;

  const decoderFor = (tenant: TenantConfig): TenantDecoder => {
    const fingerprint = tenantDecodeFingerprint(tenant);
    const known = decoders.get(tenant.tenant);
    if (known !== undefined && known.fingerprint === fingerprint) return known.decoder;
    const decoder = new TenantDecoder({ ...tenantDecoderSettings(worker, tenant, options.fetch), cacheBytes });
    decoders.set(tenant.tenant, { fingerprint, decoder });
    return decoder;
  };

  /**
   * Fetch limits for a lane's consumer: a fetch never brings more than a quarter of what the lane
   * may hold (nor of the process budget shared by every lane), so the Kafka client's buffers stay
   * inside the budgets. A single message larger than the limit is still fetched, alone.
   */
  const consumerLimits = (laneCount: number) => {
    const share = Math.min(laneBudgetBytes, Math.floor(worker.budgets.processInFlightBytes / Math.max(1, laneCount)));
    return { maxBytes: clamp(Math.floor(share / 32), 64 * KiB, 10 * MiB), maxBytesPerPartition: clamp(Math.floor(share / 64), 64 * KiB, MiB) };
  };

  const createLane = (spec: LaneSpec, laneCount: number): Lane => {
    const { tenant, destination: destinationConfig, connector, settings } = spec;
    const context = { tenant: tenant.tenant, destination: destinationConfig.name, logger: logger.child({ tenant: tenant.tenant, destination: destinationConfig.name }) };
    const destination = buildDestination(connector, destinationConfig.config, context);
    const groupId = laneGroupId(worker.kafka.groupPrefix, tenant.tenant, destinationConfig.name);
    for (const warning of destinationFormatWarnings(destinationConfig, connector)) context.logger.warn({ field: warning.path.join('.') }, warning.message);
    const reader = reportFormatDrops(
      tenantLaneReader(decoderFor(tenant), destinationFilter(connector, destinationConfig)),
      createFormatDropReport(metrics, context.logger, { tenant: tenant.tenant, destination: destinationConfig.name, connector: connector.type }),
    );
    return new Lane({
      tenant: tenant.tenant,
      destinationName: destinationConfig.name,
      connectorType: connector.type,
      groupId,
      destination,
      consumer: kafka.createLaneConsumer(groupId, tenant.topics, consumerLimits(laneCount)),
      deadLetters,
      deadLetterTopic: tenant.deadLetterTopic,
      reader,
      batch: settings.batch,
      retry: settings.retry,
      pointerMaxRetryMs: worker.s3Payload.maxRetryMs,
      laneBudgetBytes,
      processBudget,
      metrics,
      logger,
      locate: (record) => connector.locate(destinationConfig.config, record, tenant.tenant),
      tap,
      stallWarningMs: worker.lanes.stallWarningMs,
      progressIntervalMs: worker.lanes.progressIntervalMs,
      pausedBy: pauses.get(spec.name),
      onFatal: reportFatal,
    });
  };

  const launch = (spec: LaneSpec, laneCount: number): void => {
    const lane = createLane(spec, laneCount);
    running.set(spec.name, { spec, lane });
    lane.start().catch((error: unknown) => {
      logger.error({ err: error, lane: lane.name }, 'Lane could not start.');
      reportFatal(error instanceof Error ? error : new Error(String(error)));
    });
  };

  /** Tells each tenant's decoder how many lanes read through it (it caches only when shared). */
  const countReaders = (tenants: readonly TenantConfig[]): void => {
    for (const tenant of tenants) decoders.get(tenant.tenant)?.decoder.setReaders(tenant.destinations.length);
  };
  const initial = laneSpecs(input.tenants, connectors);
  for (const spec of initial.values()) launch(spec, initial.size);
  countReaders(input.tenants);

  const laneList = (): Lane[] => [...running.values()].map(({ lane }) => lane);
  const http = await startHttpServer({
    host: worker.http.host,
    port: options.httpPort ?? worker.http.port,
    registry: metrics.registry,
    health: {
      notReady: () => laneList().filter((lane) => !lane.ready && lane.pausedByOperator === null).map((lane) => lane.name),
      stalled: () => laneList().flatMap((lane) => {
        const { stalled } = lane.status();
        return stalled === null ? [] : [{ lane: lane.name, reason: stalled.reason, since: stalled.since }];
      }),
      paused: () => laneList().filter((lane) => lane.pausedByOperator !== null).map((lane) => lane.name),
    },
    extraRoutes: operations.routes,
  });
  logger.info({ lanes: [...running.keys()], http: http.url }, 'Worker started.');

  const ticker = startLagTicker({ admin, intervalMs: worker.lanes.lagIntervalMs, lanes: laneList, logger, metrics, decoders: () => [...decoders].map(([tenant, { decoder }]) => ({ tenant, decoder })), now });

  const drain = async (lanes: readonly RunningLane[], deadlineMs: number): Promise<void> => {
    await Promise.all(lanes.map(({ lane }) => lane.stop(deadlineMs)));
  };

  /** The tenants in force (the last good set applied), for the dead-letter tools. */
  let currentTenants: readonly TenantConfig[] = input.tenants;

  const apply = async (tenants: readonly TenantConfig[]): Promise<ReloadResult> => {
    const wanted = laneSpecs(tenants, connectors);
    const plan = planReload(new Map([...[...running].map(([name, { spec }]) => [name, spec] as const), ...[...held].map(([name, { spec }]) => [name, spec] as const)]), wanted);
    const leaving = [...plan.stopped, ...plan.restarted].flatMap(({ name }) => {
      const current = running.get(name);
      return current === undefined ? [] : [current];
    });
    // Drained first, so a restarted lane's new consumer never shares the group with its old one.
    await drain(leaving, worker.shutdown.drainTimeoutMs);
    for (const gone of leaving) {
      running.delete(gone.spec.name);
      if (!wanted.has(gone.spec.name)) {
        gone.lane.forgetMetrics();
        pauses.delete(gone.spec.name);
      }
    }
    currentTenants = tenants;
    for (const tenant of decoders.keys()) if (!tenants.some((candidate) => candidate.tenant === tenant)) decoders.delete(tenant);
    for (const spec of [...plan.restarted, ...plan.started]) {
      // A held lane starts with its new settings when it is released.
      const hold = held.get(spec.name);
      if (hold === undefined) launch(spec, wanted.size);
      else hold.spec = spec;
    }
    for (const { name } of plan.stopped) {
      const hold = held.get(name);
      if (hold !== undefined) clearTimeout(hold.timer);
      held.delete(name);
    }
    countReaders(tenants);
    const names = (specs: readonly LaneSpec[]): string[] => specs.map(({ name }) => name);
    const result: ReloadResult = { ok: true, problems: [], started: names(plan.started), restarted: names(plan.restarted), stopped: names(plan.stopped), unchanged: names(plan.unchanged) };
    return result;
  };

  const find = (tenant: string, destination: string): RunningLane => {
    const found = running.get(`${tenant}/${destination}`);
    if (found === undefined) throw new LaneNotFoundError(tenant, destination);
    return found;
  };

  /** Lanes drained and kept stopped while their offsets move (holdLane). */
  const held = new Map<string, { spec: LaneSpec; timer: NodeJS.Timeout }>();
  const releaseLane = (tenant: string, destination: string): LaneStatus => {
    const name = `${tenant}/${destination}`;
    const hold = held.get(name);
    if (hold !== undefined) {
      clearTimeout(hold.timer);
      held.delete(name);
      if (!stopping) launch(hold.spec, running.size + 1);
    }
    return find(tenant, destination).lane.status();
  };
  const holdLane = async (tenant: string, destination: string, maxHoldMs: number): Promise<void> => {
    const current = find(tenant, destination);
    await drain([current], worker.shutdown.drainTimeoutMs);
    running.delete(current.spec.name);
    const timer = setTimeout(() => {
      logger.warn({ lane: current.spec.name, maxHoldMs }, 'A lane held for a move of its offsets was not released in time; starting it again.');
      releaseLane(tenant, destination);
    }, maxHoldMs);
    timer.unref();
    held.set(current.spec.name, { spec: current.spec, timer });
  };

  const control: WorkerControl = {
    lanes: () => ({ lanes: laneList().map((lane) => lane.status()) }),
    async pause(tenant, destination, by) {
      const { spec, lane } = find(tenant, destination);
      pauses.set(spec.name, pauses.get(spec.name) ?? { by, atMs: now() });
      lane.pause(by);
      return { lane: lane.status() };
    },
    async resume(tenant, destination, by) {
      const { spec, lane } = find(tenant, destination);
      pauses.delete(spec.name);
      lane.resume(by);
      return { lane: lane.status() };
    },
    async setOffsets(tenant, destination, target, { by, force }) {
      const { spec } = find(tenant, destination);
      logger.warn({ lane: spec.name, by, target, force }, 'Moving a lane\'s committed offsets on request.');
      await holdLane(tenant, destination, MAX_HOLD_MS);
      try {
        await moveLaneOffsets({ admin, lane: spec.name, groupId: laneGroupId(worker.kafka.groupPrefix, tenant, destination), topics: spec.tenant.topics, target, force, by, logger });
      } finally {
        releaseLane(tenant, destination);
      }
      return { lane: find(tenant, destination).lane.status() };
    },
    async reload(reason) {
      if (options.loadTenants === undefined) return { ok: false, problems: ['this worker was started without a config file to reload'], started: [], restarted: [], stopped: [], unchanged: [] };
      // The reload trigger (operations.reload) logs and counts the outcome.
      logger.debug({ reason }, 'Reloading tenants.');
      const loaded = await options.loadTenants();
      if (!loaded.ok) {
        return { ok: false, problems: loaded.problems, started: [], restarted: [], stopped: [], unchanged: [...running.keys()] };
      }
      return apply(loaded.tenants);
    },
    tap,
  };
  operations.attach(control, {
    deadLetters: { kafka, worker: () => worker, tenant: (name) => currentTenants.find((tenant) => tenant.tenant === name), connectors, logger, fetch: options.fetch },
    watch: options.loadTenants !== undefined && worker.tenants.watch,
  });

  let stopped: Promise<void> | undefined;
  return {
    get lanes() {
      return laneList();
    },
    http,
    metrics,
    control,
    fatal,
    holdLane,
    releaseLane,
    apply,
    reload: (reason) => operations.reload(reason),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const deadlineMs = worker.shutdown.drainTimeoutMs;
        logger.info({ deadlineMs }, 'Draining lanes.');
        ticker.stop();
        // Alongside the drain: the watcher stops, redrive jobs stop after the dead letter in hand, tap streams end.
        const closingOperations = operations.close().catch((error: unknown) => logger.warn({ err: error }, 'Stopping the operations surface failed.'));
        const drained = drain([...running.values()], deadlineMs);
        const closeAll = (async () => {
          await drained;
          await closingOperations;
          await deadLetters.close().catch((error: unknown) => logger.warn({ err: error }, 'Closing the dead-letter producer failed.'));
          await admin.close().catch(() => undefined);
        })();
        const inTime = await within(closeAll, deadlineMs + SHUTDOWN_MARGIN_MS);
        if (!inTime) logger.warn({ deadlineMs, marginMs: SHUTDOWN_MARGIN_MS }, 'Some lanes or clients did not stop by the deadline; stopping anyway (their offsets stay uncommitted).');
        await http.close();
        logger.info('Worker stopped.');
      })();
      return stopped;
    },
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}

/** True when `work` settled within `ms`; false (and `work` left running) otherwise. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}


interface LagTickerOptions {
  admin: KafkaAdmin;
  intervalMs: number;
  lanes: () => readonly Lane[];
  decoders: () => Array<{ tenant: string; decoder: TenantDecoder }>;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
}

/**
 * Every `intervalMs`: the brokers' high and low watermarks of every topic a lane reads and each
 * lane's committed offsets (one request per topic and per lane), handed to the lanes to refresh
 * their lag, stall warnings and progress lines; and the decode caches' figures. A failed refresh is
 * logged once until one succeeds; the lanes keep their last figures meanwhile.
 */
function startLagTicker(options: LagTickerOptions): { stop(): void } {
  const { admin, logger, metrics } = options;
  let failing = false;
  let busy = false;
  let stopped = false;
  const cacheCounts = new WeakMap<TenantDecoder, { hits: number; misses: number }>();
  const tick = async (): Promise<void> => {
    if (busy || stopped) return;
    busy = true;
    try {
      const lanes = options.lanes();
      const topics = new Set<string>();
      for (const lane of lanes) for (const { topic } of lane.assignment) topics.add(topic);
      const high = new Map<string, bigint>();
      const low = new Map<string, bigint>();
      await Promise.all(
        [...topics].map(async (topic) => {
          for (const { partition, low: earliest, high: latest } of await admin.topicOffsets(topic)) {
            high.set(`${topic}\u0000${partition}`, BigInt(latest));
            low.set(`${topic}\u0000${partition}`, BigInt(earliest));
          }
        }),
      );
      for (const lane of lanes) {
        if (stopped) return;
        const assigned = lane.assignment;
        const committed = new Map<string, bigint>();
        if (assigned.length > 0) {
          const status = lane.status();
          for (const { topic, partition, offset } of await admin.groupOffsets(status.group, assigned.map(({ topic }) => topic))) committed.set(`${topic}\u0000${partition}`, BigInt(offset));
        }
        lane.tick({ high, low, committed });
      }
      if (failing) logger.info('Lag refresh works again.');
      failing = false;
    } catch (error) {
      if (!failing) logger.warn({ err: error }, 'Refreshing lane lag from the brokers failed; lag figures are from the last commit until it works again.');
      failing = true;
      for (const lane of options.lanes()) lane.tick({ high: new Map(), low: new Map(), committed: new Map() });
    } finally {
      busy = false;
    }
    let cached = 0;
    for (const { tenant, decoder } of options.decoders()) {
      cached += decoder.cachedBytes;
      const seen = cacheCounts.get(decoder) ?? { hits: 0, misses: 0 };
      if (decoder.hits > seen.hits) metrics.decodeCacheRequests.inc({ tenant, result: 'hit' }, decoder.hits - seen.hits);
      if (decoder.misses > seen.misses) metrics.decodeCacheRequests.inc({ tenant, result: 'miss' }, decoder.misses - seen.misses);
      cacheCounts.set(decoder, { hits: decoder.hits, misses: decoder.misses });
    }
    metrics.decodeCacheBytes.set(cached);
  };
  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
