import type { ConnectorContext, Destination, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError, type ErrorCode } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { sendInKeyOrder } from '../shared/ordered-send.js';
import type { FilePort } from './client.js';
import type { FileConfig } from './config.js';
import { encodeFileWrite, type FileWrite } from './encode.js';

/** How many files are written at the same time; writes to the same path stay in batch order. */
const PARALLEL_WRITES = 8;

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

type PlannedWrite = { ok: true; write: FileWrite } | { ok: false; error: FanoutError };

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
      throw classifyFileError(error, this.config.directory);
    }
  }

  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const planned = batch.map((record) => this.plan(record));
    return sendInKeyOrder(
      planned,
      { keyOf: (item, index) => (item.ok ? item.write.key : `#unplanned-${index}`), concurrency: PARALLEL_WRITES, signal },
      async (item) => {
        if (!item.ok) return { ok: false, error: item.error };
        try {
          await this.client.writeAtomic(item.write.key, item.write.body);
          return { ok: true };
        } catch (error) {
          return { ok: false, error: classifyFileError(error, this.config.directory) };
        }
      },
    );
  }

  async close(): Promise<void> {
    // Nothing is held open between writes.
  }

  private plan(record: TerraRecord): PlannedWrite {
    try {
      return { ok: true, write: encodeFileWrite(this.config, record, { tenant: this.context.tenant }) };
    } catch (error) {
      return { ok: false, error: classifyFileError(error, this.config.directory) };
    }
  }
}

/** A file destination over `client`. Performs no I/O until check() or send(). */
export function createFileDestination(config: FileConfig, client: FilePort, context: ConnectorContext): Destination {
  return new FileDestination(config, client, context);
}
