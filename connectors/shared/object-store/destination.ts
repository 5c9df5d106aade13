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
import type { ObjectPut, ObjectStorePort } from './port.js';
import { closeWithin, deadlineError, withDeadline } from '../call-deadline.js';

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

  /** Writes the probe object within timeoutMs. */
  async check(): Promise<void> {
    try {
      await withDeadline(this.layout.timeoutMs, undefined, (deadline) => deadline.within(this.port.probe(probeKey(this.layout), deadline.signal), 'probe object'));
    } catch (error) {
      throw deadlineError(error, this.port.label) ?? toFanoutError(error);
    }
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

  /** Releases the client within CLOSE_GRACE_MS, whatever the store does. */
  async close(): Promise<void> {
    await closeWithin(
      () => this.port.close(),
      () => undefined,
    );
  }

  /**
   * One object within timeoutMs: past it (or at shutdown) the upload is aborted through the
   * deadline's signal, which the SDK turns into a closed connection.
   */
  private async upload(object: PlannedObject, signal: AbortSignal): Promise<RecordOutcome> {
    try {
      const body = object.compress ? await gzipAsync(object.body) : object.body;
      const put: ObjectPut = { key: object.key, body, contentType: object.contentType, metadata: object.metadata };
      if (object.contentEncoding !== undefined) put.contentEncoding = object.contentEncoding;
      await withDeadline(this.layout.timeoutMs, signal, (deadline) => deadline.within(this.port.put(put, deadline.signal), 'upload'));
      return { ok: true };
    } catch (error) {
      return { ok: false, error: deadlineError(error, this.port.label) ?? toFanoutError(error) };
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
