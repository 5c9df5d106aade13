import { createHash } from 'node:crypto';

/**
 * Deterministic ids: the same name always gives the same UUID, so a replayed record produces the
 * same resource ids and fullUrls. Name-based UUIDs in the RFC 9562 version-5 layout (SHA-1 over a
 * fixed namespace and the name).
 */

const NAMESPACE = Buffer.from('6f1c2b0e9a4d4e5fb0c3a1d2e3f40516', 'hex');

export function deterministicUuid(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The identifier systems the mapping writes, under the configured base. */
export interface FhirSystems {
  userId: string;
  referenceId: string;
  device: string;
  observation: string;
  record: string;
}

/** `urn:` bases are joined with `:`, others (https://...) with `/`. */
export function fhirSystems(base: string): FhirSystems {
  const join = (name: string): string => (base.startsWith('urn:') ? `${base.replace(/:$/, '')}:${name}` : `${base.replace(/\/$/, '')}/${name}`);
  return { userId: join('user-id'), referenceId: join('reference-id'), device: join('device'), observation: join('observation'), record: join('record') };
}
