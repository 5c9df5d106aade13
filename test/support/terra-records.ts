import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InboundMessage } from '../../src/kafka/kafka-client.js';
import { createMessageReader } from '../../src/pipeline/read-message.js';
import type { DeliveryUnit, TerraRecord } from '../../src/records/record.js';

/** Terra events as a lane decodes them (decode, explode), for format and connector tests. */

export const validFixturesDir = fileURLToPath(new URL('../../../test/fixtures/terra/valid/', import.meta.url));

export function messageOf(value: Buffer, offset = '0', timestampMs = Date.parse('2026-07-02T08:00:00Z')): InboundMessage {
  return { topic: 'terra-events', partition: 0, offset, timestampMs, key: null, value, headers: {}, sizeBytes: value.length };
}

/** The records a `record`-unit (or `event`-unit) destination gets from these event bytes. */
export async function recordsOf(value: Buffer, unit: DeliveryUnit = 'record'): Promise<TerraRecord[]> {
  const read = createMessageReader({
    maxMessageBytes: 64 * 1024 * 1024,
    s3Payload: { allowedHosts: [], allowHttp: false, maxBytes: 1024, timeoutMs: 1000, maxExpiresInSeconds: 3600 },
    unit,
    events: null,
    providers: null,
  });
  const outcome = await read(messageOf(value));
  if (!outcome.ok) throw new Error(`fixture rejected: ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.records;
}

/** The records of a fixture in test/fixtures/terra/valid/ (e.g. `activity.json`). */
export async function fixtureRecords(name: string, unit: DeliveryUnit = 'record'): Promise<TerraRecord[]> {
  return recordsOf(await readFile(join(validFixturesDir, name)), unit);
}
