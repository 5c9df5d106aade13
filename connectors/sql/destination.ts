import type { ConnectorContext, Destination, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { ddlObjects } from '../shared/sql-rows/ddl.js';
import { planWrites } from '../shared/sql-rows/plan-writes.js';
import type { TableLayout } from '../shared/sql-rows/tables.js';
import { planRecords, writeRecords } from '../shared/sql-rows/write-records.js';
import type { SqlPort } from './client.js';
import { sqlLayout, type SqlConfig } from './config.js';
import { classifySqlError, targetLabel, type SqlErrorContext } from './sql-errors.js';
import { probeWrites } from '../shared/sql-rows/probe.js';

class SqlDestination implements Destination {
  private readonly layout: TableLayout;
  private readonly errorContext: SqlErrorContext;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly config: SqlConfig,
    private readonly client: SqlPort,
    private readonly context: ConnectorContext,
  ) {
    this.layout = sqlLayout(config);
    this.errorContext = { dialect: config.dialect, target: targetLabel(config.dialect, config.url.reveal()) };
  }

  /**
   * With autoCreate, creates what is missing of the schema, tables and indexes; then writes one row
   * into every table and re-keys a user, in a transaction it rolls back: the rights send() needs.
   */
  async check(): Promise<void> {
    try {
      if (this.config.autoCreate) {
        const created = await this.client.ensureObjects(ddlObjects(this.config.dialect, this.layout.all));
        if (created.length > 0) this.context.logger.info({ created }, 'Created missing database objects.');
      }
      await this.client.write(planWrites(probeWrites(this.layout)), { signal: new AbortController().signal, rollback: true });
    } catch (error) {
      throw this.classify(error);
    }
  }

  /**
   * One transaction of multi-row upserts for the whole batch; when it fails permanently, each record
   * again on its own so only the records the database refuses are dead-lettered.
   */
  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const planned = planRecords(this.layout, batch);
    return writeRecords(planned, { write: (plan, writeSignal) => this.client.write(plan, { signal: writeSignal }), classify: (error) => this.classify(error) }, signal);
  }

  close(): Promise<void> {
    this.closed ??= this.client.close();
    return this.closed;
  }

  private classify(error: unknown): FanoutError {
    return classifySqlError(error, this.errorContext);
  }
}

/** A SQL destination over `client`. Performs no I/O until check() or send(). */
export function createSqlDestination(config: SqlConfig, client: SqlPort, context: ConnectorContext): Destination {
  return new SqlDestination(config, client, context);
}
