import { createHash } from 'node:crypto';
import { resolveDestinationSettings, type DestinationConfig, type TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import { Secret } from '../config/secret.js';

/**
 * What a reload of the tenant files changes, decided from the last good config and the newly
 * loaded one, before anything is touched. Pure: the worker applies the plan (drain and restart
 * `restarted`, start `started`, drain and stop `stopped`, leave `unchanged` alone).
 *
 * A lane restarts when anything it runs with differs: its destination's type, connector config
 * (secrets included, compared by value, never printed), event and provider filters, resolved batch
 * and retry settings, or its tenant's topics, dead-letter topic or signature check.
 */

/** One lane as the new config describes it. */
export interface PlannedLane {
  /** `tenant/destination`, as WorkerControl and the admin API name lanes. */
  name: string;
  tenant: TenantConfig;
  destination: DestinationConfig;
}

/** The parts of a lane's settings; a restarted lane lists the ones that changed (names only, no values). */
export type LanePart = 'type' | 'config' | 'events' | 'providers' | 'batch' | 'retry' | 'topics' | 'deadLetterTopic' | 'source';

export interface ReloadPlan {
  unchanged: PlannedLane[];
  restarted: Array<PlannedLane & { changed: LanePart[] }>;
  started: PlannedLane[];
  /** Lanes of the last good config that the new one no longer has. Their consumer groups are kept. */
  stopped: Array<{ name: string; tenant: string; destination: string }>;
}

export function laneName(tenant: string, destination: string): string {
  return `${tenant}/${destination}`;
}

/**
 * A stable text for a config value: object keys sorted, undefined left out, a Secret as the
 * SHA-256 of its value (so two secrets compare by value and the text never holds one).
 */
function canonical(value: unknown): string {
  if (value instanceof Secret) return JSON.stringify({ $secret: createHash('sha256').update(value.reveal()).digest('hex') });
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Everything a lane runs with, by part. */
function laneParts(tenant: TenantConfig, destination: DestinationConfig): Record<LanePart, string> {
  const { batch, retry } = resolveDestinationSettings(tenant, destination);
  return {
    type: canonical(destination.type),
    config: canonical(destination.config),
    events: canonical(destination.events === undefined ? null : [...destination.events].sort()),
    providers: canonical(destination.providers === undefined ? null : [...destination.providers].map((provider) => provider.toUpperCase()).sort()),
    batch: canonical(batch),
    retry: canonical(retry),
    topics: canonical([...tenant.topics].sort()),
    deadLetterTopic: canonical(tenant.deadLetterTopic),
    source: canonical(tenant.source ?? null),
  };
}

function lanesOf(tenants: readonly TenantConfig[]): Map<string, PlannedLane> {
  const lanes = new Map<string, PlannedLane>();
  for (const tenant of tenants) {
    for (const destination of tenant.destinations) {
      const name = laneName(tenant.tenant, destination.name);
      lanes.set(name, { name, tenant, destination });
    }
  }
  return lanes;
}

export function planReload(current: readonly TenantConfig[], next: readonly TenantConfig[]): ReloadPlan {
  const before = lanesOf(current);
  const after = lanesOf(next);
  const plan: ReloadPlan = { unchanged: [], restarted: [], started: [], stopped: [] };
  for (const [name, lane] of after) {
    const previous = before.get(name);
    if (previous === undefined) {
      plan.started.push(lane);
      continue;
    }
    const was = laneParts(previous.tenant, previous.destination);
    const is = laneParts(lane.tenant, lane.destination);
    const changed = (Object.keys(is) as LanePart[]).filter((part) => was[part] !== is[part]);
    if (changed.length === 0) plan.unchanged.push(lane);
    else plan.restarted.push({ ...lane, changed });
  }
  for (const [name, lane] of before) {
    if (!after.has(name)) plan.stopped.push({ name, tenant: lane.tenant.tenant, destination: lane.destination.name });
  }
  return plan;
}

/**
 * Top-level sections of the worker file that differ between two loads (`kafka`, `budgets`, ...).
 * A reload applies tenant files only; a worker that sees these should log that they take effect at
 * the next restart.
 */
export function workerChanges(current: WorkerConfig, next: WorkerConfig): string[] {
  const was: Readonly<Record<string, unknown>> = current;
  const is: Readonly<Record<string, unknown>> = next;
  const sections = new Set([...Object.keys(was), ...Object.keys(is)]);
  return [...sections].filter((section) => canonical(was[section]) !== canonical(is[section])).sort();
}
