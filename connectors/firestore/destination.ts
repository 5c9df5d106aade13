import type { ConnectorContext, Destination, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError, type ErrorCode } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { deadlineError, shutdownError, withDeadline } from '../shared/call-deadline.js';
import { classifyNetworkError } from '../shared/http-errors.js';
import type { FirestorePort } from './client.js';
import type { FirestoreConfig } from './config.js';
import { encodeCheckWrite, encodeDocumentWrite, type DocumentWrite } from './encode.js';

/** Firestore refuses requests over 10 MiB; commits stay under this many document bytes. */
export const MAX_COMMIT_BYTES = 9 * 1024 * 1024;

/** How long close() waits for in-flight calls before it abandons the client. */
const CLOSE_WAIT_MS = 5_000;

/** gRPC status names by code, for messages and `detail.grpcStatus`. */
const grpcStatusNames: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export interface FirestoreClassifyOptions {
  /** Names the database in messages, e.g. `Firestore database (default) of project acme`. */
  target: string;
  serviceAccountFile?: string | undefined;
}

function grpcCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = error.code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code < grpcStatusNames.length ? code : undefined;
}

/** The server's explanation: gRPC `details`, else the message without its `3 INVALID_ARGUMENT: ` prefix; at most 300 characters. */
function serverDetail(error: unknown): string {
  let text = '';
  if (typeof error === 'object' && error !== null && 'details' in error && typeof error.details === 'string' && error.details !== '') text = error.details;
  else if (error instanceof Error) text = error.message.replace(/^\d+ [A-Z_]+: /, '');
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

function fromGrpc(code: number, error: unknown, target: string): FanoutError {
  const status = grpcStatusNames[code] ?? String(code);
  const detail = serverDetail(error);
  const said = detail === '' ? status : `${status}: ${detail}`;
  const make = (errorCode: ErrorCode, message: string): FanoutError => new FanoutError(errorCode, message, { detail: { grpcStatus: status }, cause: error });
  switch (status) {
    case 'INVALID_ARGUMENT':
      if (/entity size|document size|too large|too big|longer than|exceeds the maximum/i.test(detail)) {
        return make('destination_record_too_large', `${target} refused the document as too large (${said}).`);
      }
      return make('destination_rejected', `${target} refused the document (${said}).`);
    case 'ALREADY_EXISTS':
    case 'OUT_OF_RANGE':
      return make('destination_rejected', `${target} refused the write (${said}).`);
    case 'NOT_FOUND':
      return make('destination_not_found', `${target} was not found (${said}). Create the database (Firestore in Native mode) or fix projectId and databaseId.`);
    case 'PERMISSION_DENIED':
      return make(
        'destination_auth_failed',
        `${target} denied access (${said}). Grant the service account roles/datastore.user on the project, and check that the Firestore API is enabled.`,
      );
    case 'UNAUTHENTICATED':
      return make('destination_auth_failed', `${target} did not accept the credentials (${said}). Check the service-account key or application default credentials.`);
    case 'FAILED_PRECONDITION':
      return make('destination_misconfigured', `${target} cannot take the write (${said}). A database in Datastore mode cannot be used; it must be Firestore in Native mode.`);
    case 'UNIMPLEMENTED':
      return make('destination_misconfigured', `${target} does not support the call (${said}).`);
    case 'RESOURCE_EXHAUSTED':
      return make('destination_throttled', `${target} is over a quota or rate limit (${said}).`);
    case 'ABORTED':
      return make('destination_unavailable', `${target} aborted the write on contention (${said}).`);
    case 'DEADLINE_EXCEEDED':
      return make('destination_timeout', `${target} did not answer in time (${said}).`);
    default:
      // CANCELLED, UNKNOWN, INTERNAL, UNAVAILABLE, DATA_LOSS (and OK, which never arrives as an error).
      return make('destination_unavailable', `${target} is unavailable (${said}).`);
  }
}

const FILE_ERRNOS = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR']);

/**
 * Translates what the Firestore client throws into the catalogue: gRPC status codes (see the
 * README's table), documents the client refuses before sending (destination_rejected), unreadable
 * key files, missing or refused credentials, and network failures of the token endpoint.
 * Messages name the database and the server's explanation, never credentials or document data.
 */
export function classifyFirestoreError(error: unknown, options: FirestoreClassifyOptions): FanoutError {
  const { target } = options;
  if (error instanceof FanoutError) return error;
  const abandoned = deadlineError(error, target);
  if (abandoned !== undefined) return abandoned;
  const code = grpcCode(error);
  if (code !== undefined) return fromGrpc(code, error, target);

  const errno = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (errno !== undefined && FILE_ERRNOS.has(errno) && options.serviceAccountFile !== undefined) {
    return new FanoutError('destination_misconfigured', `Cannot read serviceAccountFile ${options.serviceAccountFile} (${errno}).`, { detail: { errno }, cause: error });
  }
  if (/not a valid Firestore (document|value)|^Value for argument|^Element at index|Path must be a non-empty string|must point to a document/.test(message)) {
    return new FanoutError('destination_rejected', `The Firestore client refused the document before sending it: ${serverDetail(error)}`, { detail: { clientSide: true }, cause: error });
  }
  if (/Could not load the default credentials/i.test(message)) {
    return new FanoutError(
      'destination_auth_failed',
      `No credentials for ${target}: set serviceAccountFile or serviceAccountJson, or provide application default credentials.`,
      { cause: error },
    );
  }
  if (/invalid_grant|invalid_client|unauthorized_client|account not found|private key|DECODER routines|PEM/i.test(message)) {
    return new FanoutError('destination_auth_failed', `The credentials for ${target} were refused or cannot be used (revoked, deleted or malformed service-account key).`, {
      cause: error,
    });
  }
  const httpStatus = typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' ? error.status : undefined;
  if (httpStatus === 401 || httpStatus === 403) {
    return new FanoutError('destination_auth_failed', `Getting an access token for ${target} failed with HTTP ${httpStatus}.`, { detail: { status: httpStatus }, cause: error });
  }
  if (httpStatus !== undefined && httpStatus >= 500) {
    return new FanoutError('destination_unavailable', `Getting an access token for ${target} failed with HTTP ${httpStatus}.`, { detail: { status: httpStatus }, cause: error });
  }
  return classifyNetworkError(error, { target });
}

/** Failures that belong to one document rather than to the commit: splitting the commit finds it. */
function isDocumentFailure(error: FanoutError): boolean {
  return error.code === 'destination_rejected' || error.code === 'destination_record_too_large';
}

interface PlannedWrite {
  /** Position in the batch. */
  index: number;
  write: DocumentWrite;
}

/**
 * Cuts planned writes into rounds: round n holds the n-th write of every path, in batch order. A
 * round never holds a path twice, so its commits can run in parallel; rounds run one after another,
 * so writes to the same document land in batch order.
 */
function rounds(planned: readonly PlannedWrite[]): PlannedWrite[][] {
  const seen = new Map<string, number>();
  const result: PlannedWrite[][] = [];
  for (const item of planned) {
    const round = seen.get(item.write.path) ?? 0;
    seen.set(item.write.path, round + 1);
    (result[round] ??= []).push(item);
  }
  return result;
}

/** Cuts a round into commits of at most `maxWrites` documents and MAX_COMMIT_BYTES. */
function chunks(items: readonly PlannedWrite[], maxWrites: number): PlannedWrite[][] {
  const result: PlannedWrite[][] = [];
  let current: PlannedWrite[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length >= maxWrites || bytes + item.write.bytes > MAX_COMMIT_BYTES)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.write.bytes;
  }
  if (current.length > 0) result.push(current);
  return result;
}

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) {
      const item = items[index];
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function heldBack(blocker: FanoutError): FanoutError {
  const detail = { heldBack: true, blockedBy: blocker.code };
  const message = `Not sent: an earlier record for the same document failed (${blocker.code}).`;
  return new FanoutError(blocker.code, message, blocker.retryAfterMs === undefined ? { detail } : { detail, retryAfterMs: blocker.retryAfterMs });
}

const shuttingDown = (): RecordOutcome => ({
  ok: false,
  error: shutdownError('sent'),
});

class FirestoreDestination implements Destination {
  private readonly target: string;
  private closed = false;

  constructor(
    private readonly config: FirestoreConfig,
    private readonly client: FirestorePort,
    private readonly context: ConnectorContext,
  ) {
    this.target = `Firestore database ${config.databaseId} of project ${config.projectId}`;
  }

  /** Writes this lane's check document the way send() writes (a transaction with a read when newestWins). */
  async check(): Promise<void> {
    const write = encodeCheckWrite(this.config, this.context, new Date());
    try {
      await this.write([write], new AbortController().signal);
    } catch (error) {
      throw this.classify(error);
    }
  }

  /**
   * Encodes every record (a record that can never be stored fails alone, before anything is sent),
   * then writes round by round (see rounds()), each round in commits of at most maxBatchWrites
   * documents, `concurrency` commits at a time. A commit refused because of one document is split
   * in halves until that document is found, so it fails alone.
   */
  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const outcomes = new Array<RecordOutcome>(batch.length);
    const planned: PlannedWrite[] = [];
    batch.forEach((record, index) => {
      try {
        planned.push({ index, write: encodeDocumentWrite(this.config, record, this.context.tenant) });
      } catch (error) {
        outcomes[index] = { ok: false, error: this.classify(error) };
      }
    });

    const blockers = new Map<string, FanoutError>();
    let skipped = 0;
    for (const round of rounds(planned)) {
      const ready: PlannedWrite[] = [];
      for (const item of round) {
        const blocker = blockers.get(item.write.path);
        if (blocker === undefined) ready.push(item);
        else outcomes[item.index] = { ok: false, error: heldBack(blocker) };
      }
      await forEachLimited(chunks(ready, this.config.maxBatchWrites), this.config.concurrency, async (chunk) => {
        const results = await this.writeChunk(chunk, signal);
        chunk.forEach((item, position) => {
          const result = results[position] ?? { written: false, outcome: shuttingDown() };
          outcomes[item.index] = result.outcome;
          if (result.outcome.ok && !result.written) skipped += 1;
          if (!result.outcome.ok && result.outcome.error.retryable) blockers.set(item.write.path, result.outcome.error);
        });
      });
    }
    if (skipped > 0) this.context.logger.debug({ count: skipped }, 'Kept newer stored documents; older records were not written.');
    return outcomes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await withDeadline(CLOSE_WAIT_MS, undefined, (deadline) => deadline.within(this.client.close(), 'close'));
    } catch (error) {
      this.context.logger.warn({ err: this.classify(error) }, 'The Firestore client did not close in time; abandoning its calls.');
    }
  }

  /** One commit (or newest-wins transaction); on a document failure, halves until the bad document fails alone. */
  private async writeChunk(chunk: readonly PlannedWrite[], signal: AbortSignal): Promise<Array<{ outcome: RecordOutcome; written: boolean }>> {
    if (signal.aborted) return chunk.map(() => ({ outcome: shuttingDown(), written: false }));
    try {
      const written = await this.write(
        chunk.map((item) => item.write),
        signal,
      );
      return chunk.map((_, position) => ({ outcome: { ok: true }, written: written[position] ?? false }));
    } catch (error) {
      const failure = this.classify(error);
      if (chunk.length > 1 && isDocumentFailure(failure)) {
        const middle = Math.ceil(chunk.length / 2);
        return [...(await this.writeChunk(chunk.slice(0, middle), signal)), ...(await this.writeChunk(chunk.slice(middle), signal))];
      }
      return chunk.map(() => ({ outcome: { ok: false, error: failure }, written: false }));
    }
  }

  /** Resolves with one flag per write (true written, false kept a newer stored copy). */
  private write(writes: readonly DocumentWrite[], signal: AbortSignal): Promise<boolean[]> {
    const work = this.config.newestWins ? this.client.commitNewest(writes) : this.client.commit(writes).then(() => writes.map(() => true));
    // The SDK call cannot be cancelled: when we stop waiting it goes on (and may still land, which
    // is safe: writes are idempotent by path, and newest-wins compares timestamps in its transaction).
    return withDeadline(this.config.timeoutMs, signal, (deadline) => deadline.within(work, 'commit'));
  }

  private classify(error: unknown): FanoutError {
    return classifyFirestoreError(error, { target: this.target, serviceAccountFile: this.config.serviceAccountFile });
  }
}

/** A Firestore destination over `client`. Performs no I/O until check() or send(). */
export function createFirestoreDestination(config: FirestoreConfig, client: FirestorePort, context: ConnectorContext): Destination {
  return new FirestoreDestination(config, client, context);
}
