import { z } from 'zod';
import { strictObject } from '../config/strict-object.js';
import type { AnyConnectorDefinition } from '../connector/contract.js';
import { deliverableEventTypes } from '../terra/event-types.js';
import { formats } from './formats.js';
import type { Format, FormatName, FormatOptions } from './format.js';

/**
 * A destination's `format:` and `fhir:` fields in the tenant file (beside `events:`), what they
 * resolve to, and the checks `validate` runs on them. The engine reads them; a connector only
 * says which formats it can store (ConnectorDefinition.formats) and which configs cannot carry
 * one (formatProblem).
 */

export const DEFAULT_FHIR_IDENTIFIER_SYSTEM_BASE = 'urn:terra-fanout';
export const DEFAULT_MAX_SAMPLE_OBSERVATIONS = 1000;

/** The formats a connector can write; the first is its default. */
export function connectorFormats(connector: AnyConnectorDefinition): readonly [FormatName, ...FormatName[]] {
  const [first, ...rest] = connector.formats ?? [];
  return first === undefined ? ['terra'] : [first, ...rest];
}

/** The `format:` field of a destination of this connector type: only the formats it can write. */
export function formatFieldSchema(connector: AnyConnectorDefinition) {
  const supported = connectorFormats(connector);
  const described = supported.map((name) => `${name} (${formats[name].description})`).join(' ');
  return z
    .enum(supported, { error: () => `the ${connector.type} destination cannot write this format; expected one of: ${supported.join(', ')}` })
    .meta({
      description: `How each record is encoded before it is written. Default: ${supported[0]}. A record the format cannot express (a sleep record for fit) is filtered, counted and logged, not dead-lettered. ${described}`,
      examples: [...supported],
    });
}

const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;

export const fhirOptionsSchema = strictObject({
  identifierSystemBase: z
    .string()
    .regex(URI, 'expected an absolute URI such as urn:terra-fanout or https://example.org/fhir/terra')
    .default(DEFAULT_FHIR_IDENTIFIER_SYSTEM_BASE)
    .meta({
      description:
        'Base of the identifier systems the FHIR mapping writes: {base}:user-id (Patient, the Terra user id), {base}:reference-id, {base}:device, {base}:observation (record identity and role), {base}:record (Bundle). A urn: base is joined with ":", any other with "/". Changing it makes a FHIR server see new identifiers, so set it once.',
      examples: [DEFAULT_FHIR_IDENTIFIER_SYSTEM_BASE, 'https://example.org/fhir/terra'],
    }),
  maxSampleObservations: z
    .int()
    .min(1)
    .max(100_000)
    .default(DEFAULT_MAX_SAMPLE_OBSERVATIONS)
    .meta({
      description:
        'Evenly spaced samples become one Observation with SampledData; unevenly spaced ones become one Observation each, at most this many per series (the last one kept notes how many were left out).',
      examples: [DEFAULT_MAX_SAMPLE_OBSERVATIONS],
    }),
}).meta({ description: 'Settings of the fhir format (format: fhir, and every fhir destination). See docs/fhir-mapping.md.' });

export type FhirOptionsInput = z.output<typeof fhirOptionsSchema>;

/** The format fields of a parsed destination, whatever its type. */
export interface DestinationFormatFields {
  type: string;
  format?: FormatName | undefined;
  fhir?: FhirOptionsInput | undefined;
  events?: readonly string[] | undefined;
  config: unknown;
}

export interface ResolvedFormat {
  format: Format;
  options: FormatOptions;
}

/** The format a destination writes (its own, else its connector's default) and its options. */
export function resolveDestinationFormat(destination: DestinationFormatFields, connector: AnyConnectorDefinition): ResolvedFormat {
  const name = destination.format ?? connectorFormats(connector)[0];
  return {
    format: formats[name],
    options: {
      fhir: {
        identifierSystemBase: destination.fhir?.identifierSystemBase ?? DEFAULT_FHIR_IDENTIFIER_SYSTEM_BASE,
        maxSampleObservations: destination.fhir?.maxSampleObservations ?? DEFAULT_MAX_SAMPLE_OBSERVATIONS,
        bundleType: connector.formatSettings?.(destination.config).fhirBundleType ?? 'collection',
      },
    },
  };
}

export interface FormatFinding {
  /** Path under the destination, e.g. ['format'] or ['events']. */
  path: (string | number)[];
  message: string;
}

/** Combinations that cannot work: `validate` and `run` refuse them. */
export function destinationFormatProblems(destination: DestinationFormatFields, connector: AnyConnectorDefinition): FormatFinding[] {
  const { format } = resolveDestinationFormat(destination, connector);
  const problems: FormatFinding[] = [];
  if (destination.fhir !== undefined && format.name !== 'fhir') problems.push({ path: ['fhir'], message: `fhir: settings apply to format: fhir only; this destination writes ${format.name}` });
  if (format.name === 'terra') return problems;
  if (connector.unit(destination.config) === 'event') {
    problems.push({ path: ['format'], message: `format: ${format.name} encodes one data item per record; set config.unit: record (unit: event delivers whole events with several items)` });
  }
  const own = connector.formatProblem?.(destination.config, format.name) ?? null;
  if (own !== null) problems.push({ path: ['format'], message: own });
  return problems;
}

/** Settings that work but lose data quietly: `validate` prints them as warnings, `run` logs them. */
export function destinationFormatWarnings(destination: DestinationFormatFields, connector: AnyConnectorDefinition): FormatFinding[] {
  const { format } = resolveDestinationFormat(destination, connector);
  const encodable = format.eventTypes;
  if (encodable === null) return [];
  const wanted = destination.events ?? deliverableEventTypes;
  const lost = wanted.filter((type) => !encodable.has(type));
  if (lost.length === 0) return [];
  const can = [...encodable].join(', ');
  if (destination.events === undefined) {
    return [{ path: ['format'], message: `format: ${format.name} can encode only ${can}; events: is not set, so every other type is read and filtered. Set events: [${can}].` }];
  }
  return [{ path: ['events'], message: `format: ${format.name} cannot encode ${lost.join(', ')}; those records will be filtered (counted in terra_fanout_records_filtered_total{reason="format"}), not delivered. It encodes ${can}.` }];
}
