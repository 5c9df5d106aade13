import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { ConnectorContext, Destination, RecordOutcome } from '../../../src/connector/contract.js';
import { toFanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { joinKeyPrefix } from '../object-key.js';
import { sendInKeyOrder } from '../ordered-send.js';
import type { ObjectLayout } from './config.js';
import { planObjects, type PlannedObject } from './encode.js';
import type { ObjectStorePort } from './port.js';

const gzipAsync = promisify(gzip);

/** Where check() writes its probe object, under the destination's prefix. */
export function probeKey(layout: Pick<ObjectLayout, 'prefix'>): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
  return joinKeyPrefix(layout.prefix, `.terra-fanout-probe/${host}-${process.pid}.json`);
}

class ObjectStoreDestination implements Destination {
  constructor(
    private readonly layout: ObjectLayout,
    private readonly port: ObjectStorePort,
    private readonly context: ConnectorContext,
  ) {}

  async check(): Promise<void> {
    await this.port.probe(probeKey(this.layout), AbortSignal.timeout(30_000));
  }

  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    let objects: PlannedObject[];
    try {
      objects = planObjects(this.layout, batch, { tenant: this.context.tenant });
    } catch (error) {
      const failure = toFanoutError(error);
      return batch.map(() => ({ ok: false, error: failure }));
    }
    const results = await sendInKeyOrder(
      objects,
      { keyOf: (object) => object.key, concurrency: this.layout.concurrency, signal },
      async (object) => this.upload(object, signal),
    );
    const outcomes: RecordOutcome[] = batch.map(() => ({ ok: true }));
    objects.forEach((object, index) => {
      const result = results[index];
      if (result === undefined || result.ok) return;
      for (const record of object.records) outcomes[record] = { ok: false, error: result.error };
    });
    return outcomes;
  }

  async close(): Promise<void> {
    await this.port.close();
  }

  private async upload(object: PlannedObject, signal: AbortSignal): Promise<RecordOutcome> {
    try {
      const body = object.compress ? await gzipAsync(object.body) : object.body;
      await this.port.put({ ...object, body }, signal);
      return { ok: true };
    } catch (error) {
      return { ok: false, error: toFanoutError(error) };
    }
  }
}

/**
 * The destination every object-store connector returns from createDestination: plans objects
 * (pure, ./encode.ts), gzips when asked, uploads through the connector's port with bounded
 * parallelism (writes to one key in batch order), and reports per record. An ndjson object's
 * outcome is the outcome of every record in it.
 */
export function createObjectStoreDestination(layout: ObjectLayout, port: ObjectStorePort, context: ConnectorContext): Destination {
  return new ObjectStoreDestination(layout, port, context);
}
