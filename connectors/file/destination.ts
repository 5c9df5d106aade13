import type { ConnectorContext, Destination, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError, type ErrorCode } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { deadlineError, shutdownError } from '../shared/call-deadline.js';
import { OUTSIDE_DIRECTORY, type FilePort, type FileSystemFailure, type FileWriteResult } from './client.js';
import type { FileConfig } from './config.js';
import { encodeFileWrite, type FileWrite } from './encode.js';

const codeByErrno: Readonly<Record<string, { code: ErrorCode; what: string }>> = {
  EACCES: { code: 'destination_auth_failed', what: 'permission denied' },
  EPERM: { code: 'destination_auth_failed', what: 'operation not permitted' },
  ENOTDIR: { code: 'destination_misconfigured', what: 'a path component is not a directory' },
  EEXIST: { code: 'destination_misconfigured', what: 'the path exists and is not a directory' },
  EROFS: { code: 'destination_misconfigured', what: 'the file system is read-only' },
  EISDIR: { code: 'destination_rejected', what: 'the target path is a directory' },
  ENAMETOOLONG: { code: 'destination_rejected', what: 'the file name is too long' },
  EFBIG: { code: 'destination_record_too_large', what: 'the file is too large' },
  ENOSPC: { code: 'destination_unavailable', what: 'no space left on device' },
  EDQUOT: { code: 'destination_unavailable', what: 'disk quota exceeded' },
};

/**
 * Translates a file-system error into the catalogue. Unknown system errors (EIO, EMFILE, ...)
 * are destination_unavailable; an error without a `code` is a programming error.
 */
export function classifyFileError(error: unknown, directory: string): FanoutError {
  if (error instanceof FanoutError) return error;
  const errno = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  if (errno === undefined) {
    return new FanoutError('internal_error', `Unexpected error while writing to directory ${directory}.`, { cause: error });
  }
  const known = codeByErrno[errno];
  const code = known?.code ?? 'destination_unavailable';
  const what = known?.what ?? 'file-system error';
  return new FanoutError(code, `Cannot write to directory ${directory}: ${what} (${errno}).`, { detail: { errno }, cause: error });
}

/** The catalogue error of a file the port could not write. */
function classifyFailure(failure: FileSystemFailure, directory: string): FanoutError {
  if (failure.code === OUTSIDE_DIRECTORY) return new FanoutError('destination_misconfigured', failure.message);
  const error = classifyFileError(Object.assign(new Error(failure.message), { code: failure.code }), directory);
  if (!failure.heldBack) return error;
  const detail = { heldBack: true, blockedBy: error.code };
  return new FanoutError(error.code, `Not written: an earlier record with the same file path failed (${error.code}).`, error.retryAfterMs === undefined ? { detail } : { detail, retryAfterMs: error.retryAfterMs });
}

class FileDestination implements Destination {
  constructor(
    private readonly config: FileConfig,
    private readonly client: FilePort,
    private readonly context: ConnectorContext,
  ) {}

  async check(): Promise<void> {
    try {
      await this.client.probe();
    } catch (error) {
      throw deadlineError(error, `Directory ${this.config.directory}`) ?? classifyFileError(error, this.config.directory);
    }
  }

  /**
   * One call to the port for the whole batch (files written in batch order, so writes to one path
   * keep their order); per-record outcomes. Within timeoutMs: past it every record of the batch
   * fails as destination_timeout and none of them is renamed into place later.
   */
  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const outcomes: RecordOutcome[] = new Array<RecordOutcome>(batch.length);
    const writes: FileWrite[] = [];
    const positions: number[] = [];
    for (let index = 0; index < batch.length; index += 1) {
      const record = batch[index];
      if (record === undefined) continue;
      try {
        writes.push(encodeFileWrite(this.config, record, { tenant: this.context.tenant }));
        positions.push(index);
      } catch (error) {
        outcomes[index] = { ok: false, error: classifyFileError(error, this.config.directory) };
      }
    }
    if (writes.length === 0) return outcomes;
    if (signal.aborted) {
      const error = shutdownError('written');
      for (const index of positions) outcomes[index] = { ok: false, error };
      return outcomes;
    }
    let results: FileWriteResult[];
    try {
      results = await this.client.writeBatch(writes, signal);
    } catch (thrown) {
      const error = deadlineError(thrown, `Directory ${this.config.directory}`) ?? classifyFileError(thrown, this.config.directory);
      for (const index of positions) outcomes[index] = { ok: false, error };
      return outcomes;
    }
    positions.forEach((index, position) => {
      const result = results[position];
      outcomes[index] = result === undefined ? { ok: false, error: new FanoutError('internal_error', 'The file port gave fewer results than writes.') } : result.ok ? { ok: true } : { ok: false, error: classifyFailure(result.error, this.config.directory) };
    });
    return outcomes;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** A file destination over `client`. Performs no I/O until check() or send(). */
export function createFileDestination(config: FileConfig, client: FilePort, context: ConnectorContext): Destination {
  return new FileDestination(config, client, context);
}
