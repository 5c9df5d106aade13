import type { ConnectorContext, Destination, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError, type ErrorCode } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { MongoPortError, type MongoFailure, type MongoPort, type WriteResult } from './client.js';
import type { MongodbConfig } from './config.js';
import { checkCollection, encodeWrite, indexPlan, replacesStored, type MongoWrite } from './encode.js';
import { shutdownError } from '../shared/call-deadline.js';

/** Most writes in one bulkWrite call. */
export const MAX_WRITES_PER_BULK = 500;

/**
 * How many times a write whose upsert met an existing `_id` that is older than it is sent again.
 * That only happens when another writer inserted the same `_id` between our match and our insert.
 */
const RACE_ROUNDS = 3;

/** Server error codes, by what they mean for a write (MongoDB's error_codes.yml). */
const AUTH_CODES = new Set([18 /* AuthenticationFailed */, 13 /* Unauthorized */, 11 /* UserNotFound */, 31 /* RoleNotFound */]);
const TOO_LARGE_CODES = new Set([10334 /* BSONObjectTooLarge */, 17419 /* DocTooLargeForCapped */, 17420, 17280 /* KeyTooLong */]);
const TIMEOUT_CODES = new Set([50 /* MaxTimeMSExpired */, 64 /* WriteConcernFailed (wtimeout) */, 89 /* NetworkTimeout */, 202 /* NetworkInterfaceExceededTimeLimit */, 262 /* ExceededTimeLimit */]);
const THROTTLE_CODES = new Set([16500 /* Azure Cosmos DB: TooManyRequests */, 462 /* IngressRequestRateLimitExceeded */]);
const UNAVAILABLE_CODES = new Set([
  6 /* HostUnreachable */, 7 /* HostNotFound */, 24 /* LockTimeout */, 46 /* LockBusy */, 91 /* ShutdownInProgress */, 112 /* WriteConflict */,
  117 /* ConflictingOperationInProgress */, 133 /* FailedToSatisfyReadPreference */, 134 /* ReadConcernMajorityNotAvailableYet */,
  189 /* PrimarySteppedDown */, 9001 /* SocketException */, 10107 /* NotWritablePrimary */, 11600 /* InterruptedAtShutdown */,
  11601 /* Interrupted */, 11602 /* InterruptedDueToReplStateChange */, 13435 /* NotPrimaryNoSecondaryOk */, 13436 /* NotPrimaryOrSecondary */,
  14031 /* OutOfDiskSpace */, 12586 /* BackgroundOperationInProgressForDatabase */, 12587 /* BackgroundOperationInProgressForNamespace */,
]);
const MISCONFIGURED_CODES = new Set([
  20 /* IllegalOperation: a view or read-only collection */, 72 /* InvalidOptions */, 79 /* UnknownReplWriteConcern */, 86 /* IndexKeySpecsConflict */,
  100 /* UnsatisfiableWriteConcern */, 166 /* CommandNotSupportedOnView */, 263 /* OperationNotSupportedInTransaction */,
]);

/** Which catalogue code a failure the port reported means, and what to say about it. */
function codeOf(failure: MongoFailure): { code: ErrorCode; why: string } {
  switch (failure.kind) {
    case 'network':
      return { code: 'destination_unavailable', why: 'could not be reached' };
    case 'timeout':
      return { code: 'destination_timeout', why: 'did not answer in time' };
    case 'no_server':
      return { code: 'destination_unavailable', why: 'has no writable server right now (server selection failed)' };
    case 'closed':
      return { code: 'destination_unavailable', why: 'client is closed (shutting down)' };
    case 'too_large':
      return { code: 'destination_record_too_large', why: 'refused the document as too large' };
    case 'unencodable':
      return { code: 'destination_rejected', why: 'cannot store the document' };
    case 'config':
      return { code: 'destination_misconfigured', why: 'connection settings cannot work; fix url, auth or tls' };
    case 'client':
      return { code: 'internal_error', why: 'driver refused the call' };
    case 'write_concern':
      if (failure.code !== null && MISCONFIGURED_CODES.has(failure.code)) return { code: 'destination_misconfigured', why: 'cannot satisfy the configured writeConcern' };
      if (failure.code === 64) return { code: 'destination_timeout', why: 'applied the write but the write concern was not satisfied in time (it is retried; the retry is a no-op if it had landed)' };
      return { code: 'destination_unavailable', why: 'applied the write but could not acknowledge it with the configured write concern' };
    case 'server':
      return serverCodeOf(failure);
  }
}

function serverCodeOf(failure: MongoFailure): { code: ErrorCode; why: string } {
  const code = failure.code ?? -1;
  if (code === 18) return { code: 'destination_auth_failed', why: 'refused the credentials (check auth.username/auth.password or the credentials in url)' };
  if (AUTH_CODES.has(code)) return { code: 'destination_auth_failed', why: 'refused the write: the user lacks a privilege (grant readWrite on the database)' };
  if (code === 8000) {
    return /auth/i.test(failure.message)
      ? { code: 'destination_auth_failed', why: 'refused the credentials (Atlas)' }
      : { code: 'destination_rejected', why: 'refused the write (Atlas)' };
  }
  if (TOO_LARGE_CODES.has(code)) return { code: 'destination_record_too_large', why: 'refused the document as too large' };
  if (code === 121) return { code: 'destination_rejected', why: "refused the document: the collection's validator rejected it (DocumentValidationFailure)" };
  if (code === 11000) return { code: 'destination_rejected', why: 'refused the document: a unique index other than _id already holds its value' };
  if (code === 26) return { code: 'destination_not_found', why: 'has no such database or collection' };
  if (TIMEOUT_CODES.has(code)) return { code: 'destination_timeout', why: 'timed out' };
  if (THROTTLE_CODES.has(code)) return { code: 'destination_throttled', why: 'asked us to slow down' };
  if (UNAVAILABLE_CODES.has(code) || failure.retryableLabel) return { code: 'destination_unavailable', why: 'is not able to take writes right now' };
  if (MISCONFIGURED_CODES.has(code)) return { code: 'destination_misconfigured', why: 'cannot take these writes as configured' };
  return { code: 'destination_rejected', why: 'refused the document' };
}

/** Translates a failure the port reported into the catalogue. Messages carry no credentials and no document content. */
export function classifyMongoFailure(failure: MongoFailure, target: string): FanoutError {
  const { code, why } = codeOf(failure);
  const detail: Record<string, string | number | boolean> = { kind: failure.kind };
  if (failure.code !== null) detail['mongoCode'] = failure.code;
  if (failure.codeName !== null) detail['codeName'] = failure.codeName;
  const codeText = failure.code === null ? '' : ` (code ${failure.code}${failure.codeName === null ? '' : ` ${failure.codeName}`})`;
  return new FanoutError(code, `${target} ${why}${codeText}: ${failure.message}`, { detail });
}

/** Anything a port call threw, in the catalogue. */
function classifyThrown(error: unknown, target: string): FanoutError {
  if (error instanceof FanoutError) return error;
  if (error instanceof MongoPortError) return classifyMongoFailure(error.failure, target);
  const message = error instanceof Error ? error.message : String(error);
  return new FanoutError('internal_error', `Unexpected error while writing to ${target}: ${message}`, { cause: error });
}

interface Slot {
  index: number;
  write: MongoWrite;
}

/** Runs `tasks` with at most `limit` at a time. */
async function runLimited(tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let task = tasks[next++]; task !== undefined; task = tasks[next++]) await task();
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
}

class MongodbDestination implements Destination {
  private readonly target: string;
  private indexesCreated = false;
  private closed = false;

  constructor(
    private readonly config: MongodbConfig,
    private readonly client: MongoPort,
    private readonly context: ConnectorContext,
  ) {
    this.target = `MongoDB database ${config.database}`;
  }

  /**
   * Creates Terra's indexes (once; createIndexes needs the createIndex privilege unless
   * `createIndexes: false`), then replace-upserts a probe document into the check collection,
   * which needs the same insert and update privileges as send().
   */
  async check(): Promise<void> {
    try {
      if (this.config.createIndexes && !this.indexesCreated) {
        const plans = indexPlan(this.config);
        for (const plan of plans) await this.client.createIndexes(plan);
        this.indexesCreated = true;
        this.context.logger.info({ collections: plans.length }, "Terra's MongoDB indexes are in place.");
      }
      const now = Date.now();
      const id = `${this.context.tenant}/${this.context.destination}`;
      const document = { _id: id, checked_at: new Date(now).toISOString(), _terra: { ordering_timestamp: now, identity: 'check', type: 'check' } };
      const [result] = await this.client.bulkReplace(checkCollection(this.config), [{ id, orderingTimestamp: now, identity: 'check', document }]);
      if (result?.status === 'failed') throw classifyMongoFailure(result.failure, this.target);
    } catch (error) {
      throw classifyThrown(error, this.target);
    }
  }

  /**
   * Encodes every record, groups the writes by collection in chunks of at most 500, and runs up to
   * `concurrency` bulkWrite calls at once. Newest wins in the database itself, so chunks need no
   * order between them; a write that meets a newer or equal stored copy is a success.
   */
  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const outcomes: RecordOutcome[] = new Array<RecordOutcome>(batch.length);
    const byCollection = new Map<string, Slot[]>();
    batch.forEach((record, index) => {
      try {
        const write = encodeWrite(this.config, record);
        const slots = byCollection.get(write.collection);
        if (slots === undefined) byCollection.set(write.collection, [{ index, write }]);
        else slots.push({ index, write });
      } catch (error) {
        outcomes[index] = { ok: false, error: classifyThrown(error, this.target) };
      }
    });
    const chunks: Slot[][] = [];
    for (const slots of byCollection.values()) {
      for (let start = 0; start < slots.length; start += MAX_WRITES_PER_BULK) chunks.push(slots.slice(start, start + MAX_WRITES_PER_BULK));
    }
    const tasks = chunks.map((chunk) => async () => {
      if (signal.aborted) {
        const error = shutdownError('sent');
        for (const slot of chunk) outcomes[slot.index] = { ok: false, error };
        return;
      }
      await this.writeChunk(chunk, outcomes, signal);
    });
    await runLimited(tasks, this.config.concurrency);
    return outcomes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  /**
   * One bulkWrite for the chunk. Writes whose upsert met an existing `_id` (E11000) are checked
   * against what is stored: as new or newer means "already delivered" (success); older means
   * another writer inserted it between our match and our insert, so the write goes again.
   */
  private async writeChunk(chunk: readonly Slot[], outcomes: RecordOutcome[], signal: AbortSignal): Promise<void> {
    let pending = chunk;
    for (let round = 1; round <= RACE_ROUNDS && pending.length > 0; round += 1) {
      const collection = pending[0]?.write.collection ?? '';
      let results: WriteResult[];
      try {
        results = await this.client.bulkReplace(collection, pending.map((slot) => slot.write), signal);
      } catch (error) {
        const classified = classifyThrown(error, this.target);
        for (const slot of pending) outcomes[slot.index] = { ok: false, error: classified };
        return;
      }
      const notNewer: Slot[] = [];
      pending.forEach((slot, position) => {
        const result = results[position];
        if (result === undefined) outcomes[slot.index] = { ok: false, error: new FanoutError('internal_error', `${this.target}: the bulk write reported fewer results than writes.`) };
        else if (result.status === 'written') outcomes[slot.index] = { ok: true };
        else if (result.status === 'failed') outcomes[slot.index] = { ok: false, error: classifyMongoFailure(result.failure, this.target) };
        else notNewer.push(slot);
      });
      pending = await this.settleNotNewer(collection, notNewer, outcomes, signal);
    }
    const raced = new FanoutError('destination_unavailable', `${this.target}: another writer kept replacing these documents while we wrote them; retrying.`, { detail: { raced: true } });
    for (const slot of pending) outcomes[slot.index] = { ok: false, error: raced };
  }

  /** Marks the writes the stored copy already covers as delivered; returns the ones to send again. */
  private async settleNotNewer(collection: string, slots: readonly Slot[], outcomes: RecordOutcome[], signal: AbortSignal): Promise<Slot[]> {
    if (slots.length === 0) return [];
    let stored;
    try {
      stored = await this.client.readOrdering(collection, slots.map((slot) => slot.write.id), signal);
    } catch (error) {
      const classified = classifyThrown(error, this.target);
      for (const slot of slots) outcomes[slot.index] = { ok: false, error: classified };
      return [];
    }
    const again: Slot[] = [];
    slots.forEach((slot, position) => {
      const found = stored[position];
      if (found !== undefined && !replacesStored(found, slot.write)) outcomes[slot.index] = { ok: true };
      else again.push(slot);
    });
    return again;
  }
}

/** A MongoDB destination over `client`. Performs no I/O until check() or send(). */
export function createMongodbDestination(config: MongodbConfig, client: MongoPort, context: ConnectorContext): Destination {
  return new MongodbDestination(config, client, context);
}
