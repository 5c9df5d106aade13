import type { Logger } from 'pino';
import type { z } from 'zod';
import type { FanoutError } from '../errors/catalogue.js';
import type { ConnectorFormatSettings, FormatName } from '../formats/format.js';
import type { DeliveryUnit, TerraRecord } from '../records/record.js';

/** What the engine tells a connector about where it runs. */
export interface ConnectorContext {
  tenant: string;
  destination: string;
  logger: Logger;
}

/** The outcome of one record in a batch, in the same order as the batch. */
export type RecordOutcome = { ok: true } | { ok: false; error: FanoutError };

/**
 * A configured destination. The engine owns retries, dead letters and metrics; a destination
 * only writes and classifies.
 */
export interface Destination {
  /**
   * Proves the destination is reachable with the rights `send()` needs (a write, not a list).
   * Called once before the lane is ready. Throws a FanoutError with a catalogued code.
   */
  check(): Promise<void>;
  /**
   * Writes a batch and reports one outcome per record, in batch order. Must be idempotent by
   * `record.identity`: sending the same record twice leaves one copy. Must not throw for a
   * per-record failure; a thrown FanoutError fails the whole batch with that error.
   * `signal` aborts in-flight work at shutdown.
   */
  send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]>;
  /** Releases clients. Safe to call more than once. */
  close(): Promise<void>;
}

/**
 * The in-memory stand-in a connector provides for the contract suite and unit tests:
 * the same port the real client implements, with a view of what was stored and a switch
 * to make it fail like the real service does.
 */
export interface MemoryPort<Port> {
  client: Port;
  /** Everything stored, by the location `locate()` returns for each record. */
  stored(): ReadonlyMap<string, Buffer>;
  /** Makes the next calls fail as the service would when down (`unavailable`) or refusing (`rejected`). */
  breakWith(mode: 'unavailable' | 'rejected' | null): void;
}

/**
 * One destination type. Listed explicitly in connectors/registry.ts.
 * `createClient` is the only place the vendor SDK is constructed; everything else receives the port.
 */
export interface ConnectorDefinition<Config, Port> {
  type: string;
  /** One sentence for `--help`, the JSON Schema and the README. */
  description: string;
  configSchema: z.ZodType<Config>;
  /** Whether the destination receives one record per data item or the whole event. */
  unit(config: Config): DeliveryUnit;
  /**
   * The formats (src/formats/) this connector can write, its default first. Absent: `terra`
   * only (it stores rows or documents no format could change). A body-storing connector takes
   * `record.body` as the encoded bytes and `record.encoding` for the content type and extension.
   */
  formats?: readonly FormatName[];
  /** Why this config cannot carry `format` (for example fit with ndjson objects), or null. Used by validate. */
  formatProblem?(config: Config, format: FormatName): string | null;
  /** What this config decides about the format's output (the fhir destination: transaction or batch Bundles). */
  formatSettings?(config: Config): Partial<ConnectorFormatSettings>;
  /**
   * Batch settings this type prefers over the built-in ones (a tenant or destination setting still
   * wins): e.g. a short linger for a destination that sends each record on its own request.
   */
  batchDefaults?: { maxRecords?: number; maxBytes?: number; lingerMs?: number };
  /** Pure: where a record lands (object key, file path, URL...) for `tenant`. Used by check-event and tests. */
  locate(config: Config, record: TerraRecord, tenant: string): string;
  createClient(config: Config, context: ConnectorContext): Port;
  createDestination(config: Config, client: Port, context: ConnectorContext): Destination;
  /** What the contract suite needs to run this connector without a network. */
  contract: {
    /** A valid config; `workdir` is a fresh temporary directory the test may use. */
    exampleConfig(workdir: string): Config;
    memoryPort(config: Config): MemoryPort<Port>;
  };
}

/** A connector definition with its config type erased, as the registry holds them. */
export type AnyConnectorDefinition = ConnectorDefinition<unknown, unknown>;
