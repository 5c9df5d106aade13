/**
 * `validate --check-connections`: builds every destination of the given tenant files (and of the
 * tenants of the given worker files) and runs its check(): the same check a lane runs before it
 * is ready. A check proves the target is reachable and writable with the rights sending needs; it
 * may write and remove a probe, and with autoCreate the sql destination creates missing tables,
 * exactly as `run` would at start.
 */
import type { Logger } from 'pino';
import { connectorRegistry } from '../../connectors/registry.js';
import { buildDestination } from '../worker/build-destination.js';
import type { AnyConnectorDefinition, Destination } from '../connector/contract.js';
import { loadTenantFile, loadWorkerWithTenants } from '../config/load-config.js';
import type { ConfigProblem } from '../config/config-problem.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import { readYamlSource } from '../config/yaml-source.js';
import { FanoutError, toFanoutError } from '../errors/catalogue.js';
import { isPlainObject } from '../json/json-value.js';

export interface TenantSource {
  file: string;
  tenant: TenantConfig;
}

export type ConnectionResult =
  | { tenant: string; destination: string; type: string; ok: true; durationMs: number }
  | { tenant: string; destination: string; type: string; ok: false; durationMs: number; error: FanoutError };

export interface CheckConnectionsOptions {
  logger: Logger;
  /** A check still running after this long fails as destination_timeout. Default 60 s. */
  timeoutMs?: number;
  /** Checks running at the same time. Default 4. */
  concurrency?: number;
  connectors?: readonly AnyConnectorDefinition[];
}

/**
 * The tenants of already validated files: each tenant file's own, and each worker file's tenants
 * folder. Files that are neither are skipped. Problems come back rather than being thrown.
 */
export async function tenantsOf(files: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ tenants: TenantSource[]; problems: ConfigProblem[] }> {
  const tenants: TenantSource[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (file: string, tenant: TenantConfig): void => {
    if (seen.has(file)) return;
    seen.add(file);
    tenants.push({ file, tenant });
  };
  for (const file of files) {
    const source = await readYamlSource(file, env);
    if (!source.usable || !isPlainObject(source.data)) continue;
    if ('kafka' in source.data) {
      const loaded = await loadWorkerWithTenants(file, env);
      if (!loaded.ok) problems.push(...loaded.problems);
      else loaded.value.tenants.forEach((tenant, index) => add(loaded.value.tenantFiles[index] ?? file, tenant));
    } else if ('tenant' in source.data || 'destinations' in source.data) {
      const loaded = await loadTenantFile(file, env);
      if (loaded.ok) add(file, loaded.value);
      else problems.push(...loaded.problems);
    }
  }
  return { tenants, problems };
}

async function withDeadline<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new FanoutError('destination_timeout', `${what} did not finish within ${timeoutMs} ms.`)), timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Checks every destination of `tenants`; one result per destination, in file and destination order. */
export async function checkConnections(tenants: readonly TenantSource[], options: CheckConnectionsOptions): Promise<ConnectionResult[]> {
  const connectors = options.connectors ?? connectorRegistry;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const jobs = tenants.flatMap(({ tenant }) => tenant.destinations.map((destination) => ({ tenant: tenant.tenant, destination })));
  const results: ConnectionResult[] = new Array<ConnectionResult>(jobs.length);

  const runJob = async (index: number): Promise<void> => {
    const job = jobs[index];
    if (job === undefined) return;
    const { tenant, destination: config } = job;
    const base = { tenant, destination: config.name, type: config.type };
    const started = Date.now();
    let destination: Destination | undefined;
    try {
      const connector = connectors.find((candidate) => candidate.type === config.type);
      if (connector === undefined) throw new FanoutError('destination_misconfigured', `Unknown destination type ${config.type}.`);
      const context = { tenant, destination: config.name, logger: options.logger.child({ tenant, destination: config.name }) };
      destination = buildDestination(connector, config.config, context);
      await withDeadline(destination.check(), timeoutMs, 'The check');
      results[index] = { ...base, ok: true, durationMs: Date.now() - started };
    } catch (error) {
      results[index] = { ...base, ok: false, durationMs: Date.now() - started, error: toFanoutError(error) };
    } finally {
      await destination?.close().catch(() => undefined);
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await runJob(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, jobs.length)) }, worker));
  return results;
}

/** One line per result: `OK      acme/warehouse (sql) 120 ms` or `FAILED  acme/hook (webhook): destination_unavailable (retryable): ...`. */
export function formatConnectionResult(result: ConnectionResult): string {
  const name = `${result.tenant}/${result.destination} (${result.type})`;
  if (result.ok) return `OK      ${name} ${result.durationMs} ms`;
  return `FAILED  ${name}: ${result.error.code}${result.error.retryable ? ' (retryable)' : ''}: ${result.error.message}`;
}
