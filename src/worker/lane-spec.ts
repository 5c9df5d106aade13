import { createHash } from 'node:crypto';
import type { AnyConnectorDefinition } from '../connector/contract.js';
import { resolveDestinationSettings, type DestinationConfig, type DestinationSettings, type TenantConfig } from '../config/tenant-schema.js';
import { Secret } from '../config/secret.js';

/** Everything a lane is built from, resolved: what a reload compares to decide whether it changed. */
export interface LaneSpec {
  /** `tenant/destination`. */
  name: string;
  tenant: TenantConfig;
  destination: DestinationConfig;
  connector: AnyConnectorDefinition;
  settings: DestinationSettings;
  /**
   * A digest of every input of the lane (topics, dead-letter topic, signature settings, the
   * destination's type, filters, resolved batch and retry settings, and its config with secrets
   * revealed), so a changed secret restarts the lane too. Never printed.
   */
  fingerprint: string;
}

/** The lanes the tenants describe, by name. Throws for a destination type no connector provides. */
export function laneSpecs(tenants: readonly TenantConfig[], connectors: readonly AnyConnectorDefinition[]): Map<string, LaneSpec> {
  const specs = new Map<string, LaneSpec>();
  for (const tenant of tenants) {
    for (const destination of tenant.destinations) {
      const connector = connectors.find((candidate) => candidate.type === destination.type);
      if (connector === undefined) throw new Error(`Unknown destination type ${destination.type}; known: ${connectors.map((c) => c.type).join(', ')}`);
      const settings = resolveDestinationSettings(tenant, destination, connector.batchDefaults);
      const name = `${tenant.tenant}/${destination.name}`;
      // The destination's own batch and retry blocks are left out: `settings` holds them resolved, so
      // spelling out a default (or moving it to the tenant's defaults) does not restart the lane.
      const { batch: _batch, retry: _retry, ...own } = destination;
      const inputs = { topics: tenant.topics, deadLetterTopic: tenant.deadLetterTopic, source: tenant.source ?? null, destination: own, settings };
      specs.set(name, { name, tenant, destination, connector, settings, fingerprint: configFingerprint(inputs) });
    }
  }
  return specs;
}

/** The parts of a tenant every one of its lanes shares: a change here rebuilds its decoder. */
export function tenantDecodeFingerprint(tenant: TenantConfig): string {
  return configFingerprint({ topics: tenant.topics, source: tenant.source ?? null });
}

/** A digest of a config value with its secrets' values included and object keys sorted. Never printed. */
export function configFingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(revealed(value))).digest('hex');
}

/** A plain copy with every Secret as its value (Secret.toJSON would hide a changed secret), keys sorted. */
function revealed(value: unknown): unknown {
  if (value instanceof Secret) return { secret: value.reveal() };
  if (Array.isArray(value)) return value.map(revealed);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, item]) => [key, revealed(item)]),
    );
  }
  return value;
}
