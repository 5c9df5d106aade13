import type { ConnectorContext, Destination, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { createObjectStoreDestination } from '../shared/object-store/destination.js';
import type { ReauthWrite } from '../shared/sql-rows/encode-rows.js';
import { chunkRows, type BatchWrites } from '../shared/sql-rows/plan-writes.js';
import { markerColumn, probeId, probeRow } from '../shared/sql-rows/probe.js';
import type { TableLayout, TableSpec } from '../shared/sql-rows/tables.js';
import { planRecords, writeRecords } from '../shared/sql-rows/write-records.js';
import type { JsonRow, SupabaseAnswer, SupabaseClients, SupabasePort } from './client.js';
import { supabaseLayout, supabaseStorageS3Config, type SupabaseConfig } from './config.js';
import { rowToJson } from './encode.js';
import { classifySupabaseAnswer, supabaseTarget } from './supabase-errors.js';
import { shutdownError } from '../shared/call-deadline.js';

type Failure = Extract<SupabaseAnswer, { ok: false }>;

/** A failed API answer on its way from apply() to classify(). */
class ApiFailure extends Error {
  constructor(readonly failure: Failure) {
    super(`Supabase API failure ${failure.status}`);
  }
}

function orThrow<Rows>(answer: SupabaseAnswer<Rows>): Rows {
  if (!answer.ok) throw new ApiFailure(answer);
  return answer.rows;
}

/** Columns the user re-key carries over from the old row when the event lacks them. */
const CARRIED = ['reference_id', 'provider', 'granted_scopes', 'created_at'] as const;

class SupabaseDestination implements Destination {
  private readonly layout: TableLayout;
  private readonly target: string;
  private readonly client: SupabasePort;
  /** Uploads each record's body to the Storage bucket; undefined without `storage`. */
  private readonly storage: Destination | undefined;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly config: SupabaseConfig,
    clients: SupabaseClients,
    context: ConnectorContext,
  ) {
    this.layout = supabaseLayout(config);
    this.target = supabaseTarget(config.url);
    this.client = clients.api;
    const storage = supabaseStorageS3Config(config);
    this.storage = storage === undefined || clients.storage === undefined ? undefined : createObjectStoreDestination(storage, clients.storage, context);
  }

  /**
   * For every table: reads its columns (the table exists, with the columns written, in an exposed
   * schema), upserts a probe row, upserts an older copy of it and reads it back (the newest-wins
   * trigger from the DDL files is in place: PostgREST alone would let the older copy win), then
   * deletes it. With `storage`, also writes (and deletes) a probe object in the bucket. Needs the
   * rights send() needs.
   */
  async check(): Promise<void> {
    const signal = new AbortController().signal;
    try {
      await Promise.all([...this.layout.all.map((table) => this.checkTable(table, signal)), this.storage?.check()]);
    } catch (error) {
      throw this.classify(error);
    }
  }

  /**
   * With `storage`, uploads every record's body first; a record whose upload failed keeps that
   * outcome and is not written to the tables. The rest are upserted.
   */
  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    if (this.storage === undefined) return this.writeRows(batch, signal);
    const uploads = await this.storage.send(batch, signal);
    const uploaded = batch.filter((_, index) => uploads[index]?.ok === true);
    const written = uploaded.length === 0 ? [] : await this.writeRows(uploaded, signal);
    let next = 0;
    return batch.map((_, index): RecordOutcome => {
      const upload = uploads[index] ?? { ok: false, error: new FanoutError('internal_error', 'The Storage upload gave no outcome for this record.') };
      if (!upload.ok) return upload;
      return written[next++] ?? { ok: false, error: new FanoutError('internal_error', 'The row write gave no outcome for this record.') };
    });
  }

  close(): Promise<void> {
    this.closed ??= Promise.all([this.client.close(), this.storage?.close()]).then(() => undefined);
    return this.closed;
  }

  /** Upserts per table (in requests of maxRowsPerRequest), then re-keys; each record again on its own when that fails permanently. */
  private async writeRows(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const planned = planRecords(this.layout, batch);
    return writeRecords(planned, { write: (plan, writeSignal) => this.apply(plan, writeSignal), classify: (error) => this.classify(error) }, signal);
  }

  private async apply(plan: BatchWrites, signal: AbortSignal): Promise<void> {
    for (const { table, rows } of plan.upserts) {
      for (const chunk of chunkRows(rows, this.config.maxRowsPerRequest, Number.POSITIVE_INFINITY, () => 0)) {
        if (signal.aborted) throw shutdownError('written');
        orThrow(await this.client.upsert(table.name, chunk.map(rowToJson), table.key, signal));
      }
    }
    for (const reauth of plan.reauths) await this.rekey(reauth, signal);
  }

  /**
   * user_reauth over PostgREST (no transaction across calls, but each step is idempotent): read the
   * old row, upsert the new one with what it carries over (the trigger keeps newest-wins), then
   * delete the old row unless a newer event for it was stored.
   */
  private async rekey(reauth: ReauthWrite, signal: AbortSignal): Promise<void> {
    const users = reauth.row.table;
    const [old] = orThrow(await this.client.select(users.name, CARRIED, [{ column: 'user_id', op: 'eq', value: reauth.oldUserId }], 1, signal));
    const row: JsonRow = rowToJson(reauth.row);
    if (old !== undefined) {
      for (const column of CARRIED) if (row[column] === null || row[column] === undefined) row[column] = old[column] ?? null;
    }
    orThrow(await this.client.upsert(users.name, [row], users.key, signal));
    const ordering = reauth.row.cells['ordering_ts'];
    const filters = [
      { column: 'user_id', op: 'eq' as const, value: reauth.oldUserId },
      { column: 'ordering_ts', op: 'lte' as const, value: typeof ordering === 'number' ? ordering : 0 },
    ];
    orThrow(await this.client.delete(users.name, filters, signal));
  }

  private async checkTable(table: TableSpec, signal: AbortSignal): Promise<void> {
    orThrow(await this.client.select(table.name, [...table.columns.map((column) => column.name), 'created_at', 'updated_at'], [], 0, signal));
    const id = probeId();
    const marker = markerColumn(table);
    const key = [{ column: table.key, op: 'eq' as const, value: id }];
    try {
      orThrow(await this.client.upsert(table.name, [rowToJson(probeRow(table, id, 2))], table.key, signal));
      orThrow(await this.client.upsert(table.name, [rowToJson(probeRow(table, id, 1, 'terra-fanout-stale'))], table.key, signal));
      const [stored] = orThrow(await this.client.select(table.name, [marker], key, 1, signal));
      if (stored?.[marker] === 'terra-fanout-stale') {
        throw new FanoutError(
          'destination_misconfigured',
          `${this.target}: table ${table.name} lets an older copy overwrite a newer one: its newest-wins trigger is missing. To fix: run connectors/supabase/ddl/*.sql in the project's SQL editor.`,
        );
      }
    } finally {
      await this.client.delete(table.name, key, signal);
    }
  }

  private classify(error: unknown): FanoutError {
    if (error instanceof FanoutError) return error;
    if (error instanceof ApiFailure) return classifySupabaseAnswer(error.failure, this.target);
    const message = error instanceof Error ? error.message : String(error);
    return new FanoutError('internal_error', `Unexpected error talking to ${this.target}: ${message}`);
  }
}

/** A Supabase destination over `client`. Performs no I/O until check() or send(). */
export function createSupabaseDestination(config: SupabaseConfig, clients: SupabaseClients, context: ConnectorContext): Destination {
  return new SupabaseDestination(config, clients, context);
}
