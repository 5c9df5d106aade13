import {
  BSON,
  MongoBulkWriteError,
  MongoClient,
  MongoClientClosedError,
  MongoError,
  MongoInvalidArgumentError,
  MongoMissingCredentialsError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoParseError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
  type AnyBulkWriteOperation,
  type Document,
  type MongoClientOptions,
  type WriteConcernError,
  type WriteError,
} from 'mongodb';
import type { Secret } from '../../src/config/secret.js';
import { closeWithin, DeadlineExceeded, ShutdownAbort, withDeadline } from '../shared/call-deadline.js';
import type { MongodbConfig } from './config.js';
import { idKey, newerThanFilter, storedOrderingOf, type CollectionIndexes, type MongoId, type MongoWrite, type StoredOrdering } from './encode.js';

/** What went wrong, as the driver or server said it, without SDK types. The destination classifies it. */
export type MongoFailureKind =
  /** No answer: connection refused or reset, DNS, TLS handshake. */
  | 'network'
  /** An open connection gave no answer in time. */
  | 'timeout'
  /** No writable server was found within serverSelectionMs. */
  | 'no_server'
  /** The client was closed (shutdown). */
  | 'closed'
  /** The server answered with an error `code`. */
  | 'server'
  /** The write was applied but not acknowledged as the write concern asks. */
  | 'write_concern'
  /** The document is larger than MongoDB's 16 MiB limit; it was not sent. */
  | 'too_large'
  /** The document cannot be encoded as BSON (a NUL in a field name); it was not sent. */
  | 'unencodable'
  /** The connection string or options cannot work. */
  | 'config'
  /** The driver refused the call for another reason: a bug in terra-fanout. */
  | 'client';

export interface MongoFailure {
  kind: MongoFailureKind;
  code: number | null;
  codeName: string | null;
  /** Safe to log: no credentials, no document content. */
  message: string;
  /** The driver or server labelled it retryable (RetryableWriteError and kin). */
  retryableLabel: boolean;
}

/** Thrown by a MongoPort call that failed as a whole. */
export class MongoPortError extends Error {
  constructor(readonly failure: MongoFailure) {
    super(failure.message);
    this.name = 'MongoPortError';
  }
}

/** The outcome of one write of a bulkReplace call. */
export type WriteResult =
  | { status: 'written' }
  /** The upsert found no older document and its insert hit the existing `_id` (E11000): the stored copy is as new or newer, or another writer raced us. */
  | { status: 'not_newer' }
  | { status: 'failed'; failure: MongoFailure };

/**
 * The calls the MongoDB destination makes. Each call is bounded by the config's `timeoutMs` (a
 * failure of kind `timeout` past it) and, where it takes one, ends at once when `signal` (the
 * send's shutdown signal) aborts (kind `closed`).
 */
export interface MongoPort {
  /**
   * One unordered `bulkWrite` of newest-wins `replaceOne` upserts (filter: newerThanFilter) into
   * `collection`; the caller sends at most 500 writes per call. Resolves one result per write, in
   * order. Rejects with MongoPortError only when the call as a whole failed (no server, network,
   * auth): then none of the writes is known to have landed.
   */
  bulkReplace(collection: string, writes: readonly Omit<MongoWrite, 'collection'>[], signal?: AbortSignal): Promise<WriteResult[]>;
  /** The newest-wins fields of the stored documents with these `_id`s, in order (undefined: no such document). */
  readOrdering(collection: string, ids: readonly MongoId[], signal?: AbortSignal): Promise<Array<StoredOrdering | undefined>>;
  /** createIndexes for one collection; an index that exists under another name counts as created. */
  createIndexes(plan: CollectionIndexes): Promise<void>;
  /**
   * Closes the pool: waits at most CLOSE_GRACE_MS for the driver to end its sessions politely, then
   * closes every connection. Safe to call more than once.
   */
  close(): Promise<void>;
}

/** MongoDB's document size limit (maxBsonObjectSize of every server). */
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;

const INDEX_OPTIONS_CONFLICT = 85;
const DUPLICATE_KEY = 11000;

export interface MongoClientHooks {
  /** Called for every command the driver sends (driver command monitoring). For tests and benchmarks. */
  onCommandStarted?: (event: { commandName: string; command: Document }) => void;
}

/** A driver timeout capped by timeoutMs; 0 (the driver's "no limit") becomes timeoutMs. */
function capped(ms: number, timeoutMs: number): number {
  return ms === 0 ? timeoutMs : Math.min(ms, timeoutMs);
}

function driverOptions(config: MongodbConfig, hooks: MongoClientHooks): MongoClientOptions {
  // The driver's own timeouts end a stuck call at about timeoutMs and close the connection it was
  // waiting on; the port's deadline (withDeadline) is the bound whatever the driver does.
  const options: MongoClientOptions = {
    appName: 'terra-fanout',
    maxPoolSize: config.pool.maxSize,
    minPoolSize: config.pool.minSize,
    maxIdleTimeMS: config.pool.maxIdleTimeMs,
    waitQueueTimeoutMS: capped(config.pool.waitQueueTimeoutMs, config.timeoutMs),
    connectTimeoutMS: capped(config.timeouts.connectMs, config.timeoutMs),
    serverSelectionTimeoutMS: capped(config.timeouts.serverSelectionMs, config.timeoutMs),
    socketTimeoutMS: capped(config.timeouts.socketMs, config.timeoutMs),
    retryWrites: true,
    writeConcern: {
      w: config.writeConcern.w,
      ...(config.writeConcern.journal === undefined ? {} : { journal: config.writeConcern.journal }),
      ...(config.writeConcern.timeoutMs === undefined ? {} : { wtimeoutMS: config.writeConcern.timeoutMs }),
    },
    monitorCommands: hooks.onCommandStarted !== undefined,
  };
  const { auth, tls } = config;
  if (auth !== undefined) {
    options.auth = { username: auth.username, ...(auth.password === undefined ? {} : { password: auth.password.reveal() }) };
    if (auth.source !== undefined) options.authSource = auth.source;
    if (auth.mechanism !== 'DEFAULT') options.authMechanism = auth.mechanism;
  }
  if (tls !== undefined) {
    options.tls = tls.enabled;
    if (tls.caFile !== undefined) options.tlsCAFile = tls.caFile;
    if (tls.certificateKeyFile !== undefined) options.tlsCertificateKeyFile = tls.certificateKeyFile;
    if (tls.certificateKeyFilePassword !== undefined) options.tlsCertificateKeyFilePassword = tls.certificateKeyFilePassword.reveal();
    if (tls.allowInvalidCertificates) options.tlsAllowInvalidCertificates = true;
  }
  return options;
}

/** Removes every configured secret, and any `user:password@` part, from a driver message. */
function createRedactor(config: MongodbConfig): (text: string) => string {
  const secrets: Secret[] = [config.url, config.auth?.password, config.tls?.certificateKeyFilePassword].filter((secret): secret is Secret => secret !== undefined);
  const values = secrets.map((secret) => secret.reveal()).filter((value) => value.length >= 3);
  return (text) => {
    let safe = text.replace(/\/\/[^@/\s]*@/g, '//[redacted]@');
    for (const value of values) safe = safe.split(value).join('[redacted]');
    return safe.length > 300 ? `${safe.slice(0, 297)}...` : safe;
  };
}

function labelled(error: MongoError): boolean {
  return ['RetryableWriteError', 'ResetPool', 'PoolRequestedRetry', 'RetryableError', 'SystemOverloadedError'].some((label) => error.hasErrorLabel(label));
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** E11000 messages name the index; our newest-wins inserts can only collide on `_id_`. */
function isIdDuplicate(message: string | undefined): boolean {
  const index = / index: (\S+)/.exec(message ?? '');
  return index === null || index[1] === '_id_';
}

/** A server message without document content (E11000 messages quote the duplicate key). */
function serverMessage(code: number | null, message: string): string {
  if (code === DUPLICATE_KEY) return message.replace(/ dup key: .*$/s, '');
  return message;
}

function toFailure(error: unknown, redact: (text: string) => string): MongoFailure {
  if (error instanceof MongoPortError) return error.failure;
  const base = { code: null, codeName: null, retryableLabel: false };
  if (error instanceof DeadlineExceeded) return { ...base, kind: 'timeout', message: `no answer within timeoutMs (${error.timeoutMs} ms)`, retryableLabel: true };
  if (error instanceof ShutdownAbort) return { ...base, kind: 'closed', message: 'the call was abandoned at shutdown' };
  const message = redact(error instanceof Error ? error.message : String(error));
  if (error instanceof MongoBulkWriteError && error.errorResponse instanceof Error) return toFailure(error.errorResponse, redact);
  if (error instanceof MongoNetworkTimeoutError || error instanceof MongoOperationTimeoutError) return { ...base, kind: 'timeout', message, retryableLabel: true };
  if (error instanceof MongoNetworkError) return { ...base, kind: 'network', message, retryableLabel: true };
  if (error instanceof MongoServerSelectionError) {
    const reason = error.cause instanceof MongoServerError ? error.cause : undefined;
    if (reason !== undefined) return toFailure(reason, redact);
    return { ...base, kind: 'no_server', message, retryableLabel: labelled(error) };
  }
  if (error instanceof MongoTopologyClosedError || error instanceof MongoClientClosedError || error instanceof MongoNotConnectedError || error instanceof MongoServerClosedError) {
    return { ...base, kind: 'closed', message };
  }
  if (error instanceof MongoWriteConcernError) {
    const code = numberOrNull(error.result?.writeConcernError?.code) ?? numberOrNull(error.code);
    return { kind: 'write_concern', code, codeName: stringOrNull(error.result?.writeConcernError?.codeName), message, retryableLabel: labelled(error) };
  }
  if (error instanceof MongoServerError) {
    const code = numberOrNull(error.code);
    return { kind: 'server', code, codeName: stringOrNull(error.codeName), message: redact(serverMessage(code, error.message)), retryableLabel: labelled(error) };
  }
  if (error instanceof MongoParseError || error instanceof MongoMissingCredentialsError) return { ...base, kind: 'config', message };
  if (typeof error === 'object' && error !== null && Reflect.get(error, 'code') === 'ENOENT') return { ...base, kind: 'config', message };
  return { ...base, kind: 'client', message };
}

function writeErrorFailure(writeError: WriteError, redact: (text: string) => string): MongoFailure {
  const code = numberOrNull(writeError.code);
  return { kind: 'server', code, codeName: null, message: redact(serverMessage(code, writeError.errmsg ?? `write error ${code}`)), retryableLabel: false };
}

function writeConcernFailure(error: WriteConcernError, redact: (text: string) => string): MongoFailure {
  return { kind: 'write_concern', code: numberOrNull(error.code), codeName: null, message: redact(error.errmsg ?? 'write concern error'), retryableLabel: false };
}

/**
 * Why one replace statement cannot be sent, checked the way the driver does before sending
 * anything: not encodable as BSON, or at least 16 MiB. Undefined when it can be sent.
 */
function unsendable(filter: Document, replacement: Document): MongoFailure | undefined {
  const base = { code: null, codeName: null, retryableLabel: false };
  const statement = { q: filter, u: replacement, upsert: true, multi: false };
  const size = BSON.calculateObjectSize(statement);
  if (size >= MAX_BSON_OBJECT_SIZE) return { ...base, kind: 'too_large', message: `The document is ${size} bytes as BSON; MongoDB documents must be smaller than ${MAX_BSON_OBJECT_SIZE} bytes (16 MiB).` };
  try {
    BSON.serialize(statement, { checkKeys: false });
  } catch {
    return { ...base, kind: 'unencodable', message: 'The document cannot be encoded as BSON (a field name contains a NUL character, or a value has no BSON type).' };
  }
  return undefined;
}

/** A port whose every call fails the same way: for a connection string the driver refused. */
function failingPort(failure: MongoFailure): MongoPort {
  const fail = async (): Promise<never> => {
    throw new MongoPortError(failure);
  };
  return { bulkReplace: fail, readOrdering: fail, createIndexes: fail, close: async () => undefined };
}

/**
 * The real port over the official driver. It connects on its first call (and again on the next
 * call after a failed attempt); one pool serves every call. A connection string the driver cannot parse gives a port whose calls fail with
 * kind `config` (check() reports it), rather than a throw at start.
 */
export function createMongoClient(config: MongodbConfig, hooks: MongoClientHooks = {}): MongoPort {
  const redact = createRedactor(config);
  let client: MongoClient;
  try {
    client = new MongoClient(config.url.reveal(), driverOptions(config, hooks));
  } catch (error) {
    const failure = toFailure(error, redact);
    return failingPort({ ...failure, kind: failure.kind === 'client' ? 'config' : failure.kind });
  }
  const onCommandStarted = hooks.onCommandStarted;
  if (onCommandStarted !== undefined) client.on('commandStarted', (event) => onCommandStarted({ commandName: event.commandName, command: event.command }));
  const db = client.db(config.database);
  let closed: Promise<void> | undefined;
  let connecting: Promise<unknown> | undefined;
  /**
   * Connects explicitly, once, and again after a failed attempt. The driver's implicit connect on
   * first use closes its topology when that first attempt fails (server down at start, bad
   * credentials) and then answers every later call with "Topology is closed"; an explicit
   * connect() builds a new topology each time.
   */
  const connected = async (): Promise<void> => {
    if (closed !== undefined) throw new MongoPortError({ kind: 'closed', code: null, codeName: null, message: 'The MongoDB client is closed.', retryableLabel: false });
    connecting ??= client.connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    await connecting;
  };

  const bulkReplace = async (collection: string, writes: readonly Omit<MongoWrite, 'collection'>[], signal: AbortSignal | undefined, isolated = false): Promise<WriteResult[]> => {
    const operations: AnyBulkWriteOperation[] = writes.map((write) => ({ replaceOne: { filter: newerThanFilter(write), replacement: write.document, upsert: true } }));
    try {
      await withDeadline(config.timeoutMs, signal, async (deadline) => {
        await deadline.within(connected(), 'connecting');
        await deadline.within(db.collection(collection).bulkWrite(operations, { ordered: false }), 'bulkWrite');
      });
      return writes.map(() => ({ status: 'written' }));
    } catch (error) {
      if (error instanceof MongoBulkWriteError) {
        const results = resultsOf(error, writes.length, redact);
        if (results !== undefined) return results;
      }
      // The driver encodes every statement before it sends any: a document it cannot encode
      // (BSONError), that is over 16 MiB (MongoInvalidArgumentError) or over the encoder's 17 MiB
      // buffer (RangeError) fails the whole call untouched. Set those aside and send the others.
      if (!isolated && (error instanceof MongoInvalidArgumentError || error instanceof RangeError || BSON.BSONError.isBSONError(error))) {
        const refused = operations.map((operation) => ('replaceOne' in operation ? unsendable(operation.replaceOne.filter, operation.replaceOne.replacement) : undefined));
        if (refused.some((failure) => failure !== undefined)) return sendAllBut(collection, writes, refused, signal);
      }
      throw new MongoPortError(toFailure(error, redact));
    }
  };

  const sendAllBut = async (collection: string, writes: readonly Omit<MongoWrite, 'collection'>[], refused: ReadonlyArray<MongoFailure | undefined>, signal: AbortSignal | undefined): Promise<WriteResult[]> => {
    const sendable = writes.filter((_, index) => refused[index] === undefined);
    const sent = sendable.length === 0 ? [] : await bulkReplace(collection, sendable, signal, true);
    let next = 0;
    return writes.map((_, index): WriteResult => {
      const failure = refused[index];
      if (failure !== undefined) return { status: 'failed', failure };
      const result = sent[next];
      next += 1;
      return result ?? { status: 'failed', failure: { kind: 'client', code: null, codeName: null, message: 'No result for a write.', retryableLabel: false } };
    });
  };

  return {
    bulkReplace: (collection, writes, signal) => bulkReplace(collection, writes, signal),

    async readOrdering(collection, ids, signal) {
      try {
        const filter: Document = { _id: { $in: [...ids] } };
        const found = await withDeadline(config.timeoutMs, signal, async (deadline) => {
          await deadline.within(connected(), 'connecting');
          return deadline.within(db.collection(collection).find(filter, { projection: { '_terra.ordering_timestamp': 1, '_terra.identity': 1 } }).toArray(), 'find');
        });
        // Keyed like idKey: the driver gives `_id` fields back in their stored order.
        const byId = new Map(found.map((document) => [JSON.stringify(document['_id']), storedOrderingOf(document)]));
        return ids.map((id) => byId.get(idKey(id)));
      } catch (error) {
        throw new MongoPortError(toFailure(error, redact));
      }
    },

    async createIndexes(plan) {
      if (plan.indexes.length === 0) return;
      try {
        await withDeadline(config.timeoutMs, undefined, async (deadline) => {
          await deadline.within(connected(), 'connecting');
          await deadline.within(db.collection(plan.collection).createIndexes(plan.indexes.map((index) => ({ key: { ...index.key } }))), 'createIndexes');
        });
      } catch (error) {
        if (error instanceof MongoServerError && error.code === INDEX_OPTIONS_CONFLICT) return; // the same keys exist under another name
        throw new MongoPortError(toFailure(error, redact));
      }
    },

    close() {
      closed ??= closeWithin(
        () => client.close(),
        () => closeTopology(client),
      );
      return closed;
    },
  };
}

/**
 * Closes every connection of the client at once, without the endSessions round trip that
 * client.close() makes first (which a frozen server never answers). The driver keeps its topology
 * out of its public types; it is looked up, not cast. A no-op once close() has finished.
 */
function closeTopology(client: MongoClient): void {
  const topology: unknown = Reflect.get(client, 'topology');
  if (typeof topology !== 'object' || topology === null) return;
  const close: unknown = Reflect.get(topology, 'close');
  if (typeof close === 'function') Reflect.apply(close, topology, []);
}

/**
 * Per-write results of a bulkWrite that reported write errors or a write concern error. Undefined
 * when the error is about the call as a whole (the driver wraps those in MongoBulkWriteError too).
 */
function resultsOf(error: MongoBulkWriteError, count: number, redact: (text: string) => string): WriteResult[] | undefined {
  const writeErrors: WriteError[] = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  const concern = error.result?.getWriteConcernError();
  const failed = writeErrors.filter((writeError): writeError is WriteError => writeError !== undefined && writeError !== null && typeof writeError.index === 'number');
  if (failed.length === 0 && concern === undefined) return undefined;
  const byIndex = new Map(failed.map((writeError) => [writeError.index, writeError]));
  return Array.from({ length: count }, (_, index): WriteResult => {
    const writeError = byIndex.get(index);
    if (writeError === undefined) return concern === undefined ? { status: 'written' } : { status: 'failed', failure: writeConcernFailure(concern, redact) };
    if (writeError.code === DUPLICATE_KEY && isIdDuplicate(writeError.errmsg)) return { status: 'not_newer' };
    return { status: 'failed', failure: writeErrorFailure(writeError, redact) };
  });
}
