import type { TerraRecord } from '../records/record.js';

/**
 * The contract every format meets (DESIGN.md, "A format step"). A format turns one record into
 * the bytes a body-storing destination writes (an object, a file, a message, a request body),
 * with the content type and file extension that go with them. Formats are pure: no I/O, no
 * clock, no randomness; the same record always gives the same bytes, so a replay writes the same
 * object again.
 */

/** The formats a destination can choose (`format:` in the tenant file). */
export const formatNames = ['terra', 'fhir', 'fit'] as const;
export type FormatName = (typeof formatNames)[number];

/** Settings of the `fhir` format (the destination's `fhir:` block), resolved. */
export interface FhirFormatOptions {
  /**
   * Base of every identifier system the mapping writes (`{base}:user-id`, `{base}:observation`...
   * for a `urn:` base, `{base}/user-id`... otherwise).
   */
  identifierSystemBase: string;
  /** Most individual Observations one irregular time series becomes; the rest are counted in a note. */
  maxSampleObservations: number;
  /**
   * `collection` for stores (the default); `transaction` or `batch` for a FHIR server, with
   * conditional requests so a replay updates rather than duplicates (set by the fhir destination).
   */
  bundleType: FhirBundleType;
}

export type FhirBundleType = 'collection' | 'transaction' | 'batch';

/** What a connector's own config decides about its format's output (ConnectorDefinition.formatSettings). */
export interface ConnectorFormatSettings {
  fhirBundleType: FhirBundleType;
}

/** Everything a format may be configured with; each format reads its own part. */
export interface FormatOptions {
  fhir: FhirFormatOptions;
}

/** What a format made of a record. */
export interface EncodedBody {
  body: Buffer;
  /** The media type of `body`, e.g. `application/fhir+json`. */
  contentType: string;
  /** The file extension without the leading dot, e.g. `fhir.json`, `fit`. */
  extension: string;
}

/** Whether a format can express a record, and if not, why (a sentence for logs and check-event). */
export type Acceptance = { ok: true } | { ok: false; reason: string };

/** How records of this format are written one per line (ndjson objects), or null when they cannot be. */
export interface LineFraming {
  contentType: string;
  extension: string;
}

export interface Format {
  name: FormatName;
  /** One sentence for the JSON Schema and the README. */
  description: string;
  contentType: string;
  extension: string;
  /** Newline-delimited framing (object stores' `format: ndjson`); null for binary formats. */
  lines: LineFraming | null;
  /** The Terra event types this format can express at all (null: every type). For `validate` warnings. */
  eventTypes: ReadonlySet<string> | null;
  /** Pure: whether `record` can be expressed. A record it refuses is filtered (counted, logged), never parked. */
  accepts(record: TerraRecord): Acceptance;
  /**
   * Pure: the body for an accepted record. Throws only for a programming error; the format step
   * turns that into an `internal_error` rejection of the message.
   */
  encode(record: TerraRecord, options: FormatOptions): EncodedBody;
}
