import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SourcePosition } from '../../../src/records/record.js';
import type { DecodeOptions } from '../../../src/terra/decode-event.js';

/** Fixture files live in test/fixtures/terra (not compiled); tests run from dist/test/terra. */
export const fixtureDir = fileURLToPath(new URL('../../../../test/fixtures/terra/', import.meta.url));
export const samplesFile = fileURLToPath(new URL('../../../../config/samples/events.ndjson', import.meta.url));

export function validFixtureNames(): string[] {
  return readdirSync(`${fixtureDir}valid`)
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .sort();
}

export function validFixture(name: string): Buffer {
  return readFileSync(`${fixtureDir}valid/${name}.json`);
}

export function invalidFixture(file: string): Buffer {
  return readFileSync(`${fixtureDir}invalid/${file}`);
}

export interface InvalidManifest {
  fixtures: Record<string, { code: string; why: string }>;
}

export function invalidManifest(): InvalidManifest {
  const parsed: unknown = JSON.parse(readFileSync(`${fixtureDir}invalid/expected.json`, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || !('fixtures' in parsed)) throw new Error('expected.json has no fixtures');
  const fixtures: Record<string, { code: string; why: string }> = {};
  const entries = parsed.fixtures;
  if (typeof entries !== 'object' || entries === null) throw new Error('expected.json fixtures is not an object');
  for (const [file, value] of Object.entries(entries)) {
    if (typeof value === 'object' && value !== null && 'code' in value && typeof value.code === 'string') {
      fixtures[file] = { code: value.code, why: 'why' in value && typeof value.why === 'string' ? value.why : '' };
    }
  }
  return { fixtures };
}

export const NOW_MS = Date.parse('2026-07-02T12:00:00.000Z');

export function decodeOptions(overrides: Partial<DecodeOptions> = {}): DecodeOptions {
  return { maxMessageBytes: 1024 * 1024, headers: {}, nowMs: NOW_MS, ...overrides };
}

export function sourceAt(offset: string, headers: Record<string, string> = {}, timestampMs = NOW_MS - 5_000): SourcePosition {
  return { topic: 'terra.events', partition: 3, offset, timestampMs, headers };
}
