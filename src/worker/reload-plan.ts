import type { WorkerConfig } from '../config/worker-schema.js';
import { configFingerprint } from './lane-spec.js';

/**
 * What a reload of the tenant files changes, decided from the lanes running now and the lanes the
 * newly loaded tenants describe (`laneSpecs`), before anything is touched. Pure: the worker applies
 * the plan (drain `stopped` and `restarted`, then start `restarted` and `started`; leave `unchanged`
 * alone, so those lanes never pause).
 *
 * A lane restarts when its fingerprint differs: anything it runs with (its destination's type,
 * connector config with secrets compared by value, event and provider filters, batch and retry
 * settings after defaults, its tenant's topics, dead-letter topic and signature check).
 */
export interface PlannableLane {
  /** `tenant/destination`. */
  name: string;
  fingerprint: string;
}

export interface ReloadPlan<Lane extends PlannableLane> {
  /** The new specs of lanes that stay as they are. */
  unchanged: Lane[];
  /** The new specs of lanes whose settings changed. */
  restarted: Lane[];
  /** Lanes only the new config has. */
  started: Lane[];
  /** The current specs of lanes the new config no longer has (their consumer groups are kept). */
  stopped: Lane[];
}

export function planReload<Lane extends PlannableLane>(current: ReadonlyMap<string, Lane>, next: ReadonlyMap<string, Lane>): ReloadPlan<Lane> {
  const plan: ReloadPlan<Lane> = { unchanged: [], restarted: [], started: [], stopped: [] };
  for (const [name, lane] of next) {
    const previous = current.get(name);
    if (previous === undefined) plan.started.push(lane);
    else if (previous.fingerprint === lane.fingerprint) plan.unchanged.push(lane);
    else plan.restarted.push(lane);
  }
  for (const [name, lane] of current) if (!next.has(name)) plan.stopped.push(lane);
  return plan;
}

/**
 * Top-level sections of the worker file that differ between two loads (`kafka`, `budgets`, ...).
 * A reload applies tenant files only; these take effect at the next restart.
 */
export function workerChanges(current: WorkerConfig, next: WorkerConfig): string[] {
  const was: Readonly<Record<string, unknown>> = current;
  const is: Readonly<Record<string, unknown>> = next;
  const sections = new Set([...Object.keys(was), ...Object.keys(is)]);
  return [...sections].filter((section) => configFingerprint(was[section] ?? null) !== configFingerprint(is[section] ?? null)).sort();
}
