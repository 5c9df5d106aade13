import type { CodeableConcept, Device, Observation, ObservationComponent, Patient, Quantity, Reference } from '@medplum/fhirtypes';
import type { Instant } from '../terra-values.js';
import { UCUM, categoryCoding, type Category, type Code, type Unit } from './codes.js';
import { deterministicUuid, type FhirSystems } from './ids.js';

/**
 * Building Observations for one record. A MappingContext collects them; every Observation's id
 * and identifier derive from the record identity and a `role` unique within the record
 * (`heart-rate/series`, `blood-pressure/2`...), so a replay gives the same resources.
 */

export interface MappingContext {
  identity: string;
  systems: FhirSystems;
  patient: Reference<Patient>;
  device: Reference<Device>;
  maxSampleObservations: number;
  observations: Observation[];
}

/** When an Observation applies: a moment or a period. */
export type Effective = { at: Instant } | { start: Instant; end: Instant | null };

export interface ObservationSpec {
  role: string;
  codes: readonly Code[];
  category: Category;
  profile?: string | undefined;
  effective: Effective;
  value?: { quantity: Quantity } | { concept: CodeableConcept } | { sampled: NonNullable<Observation['valueSampledData']> };
  components?: readonly ObservationComponent[];
  hasMember?: readonly Reference<Observation>[];
  note?: string | undefined;
}

/** Numbers as FHIR decimals: no float noise past 6 decimals. */
export function decimal(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

export function quantity(value: number, unit: Unit): Quantity {
  return { value: decimal(value), unit: unit.unit, system: UCUM, code: unit.code };
}

export function concept(codes: readonly Code[], text?: string): CodeableConcept {
  const first = codes[0];
  return { coding: codes.map((code) => ({ ...code })), text: text ?? first?.display ?? '' };
}

/** A component with a Quantity value, or nothing when the value is missing. */
export function component(code: Code, value: number | null, unit: Unit): ObservationComponent[] {
  return value === null ? [] : [{ code: concept([code]), valueQuantity: quantity(value, unit) }];
}

function effective(spec: Effective): Pick<Observation, 'effectiveDateTime' | 'effectivePeriod'> {
  if ('at' in spec) return { effectiveDateTime: spec.at.text };
  return { effectivePeriod: spec.end === null ? { start: spec.start.text } : { start: spec.start.text, end: spec.end.text } };
}

/** Adds an Observation to the context and returns a reference to it (its urn:uuid fullUrl). */
export function addObservation(context: MappingContext, spec: ObservationSpec): Reference<Observation> {
  const id = deterministicUuid(`${context.identity}/observation/${spec.role}`);
  // A profile is claimed only by point-in-time Observations: the vital-signs invariant vs-1 is
  // evaluated as failed on effectivePeriod by Medplum's validator, and an Observation over a
  // period (a night's average) is a summary rather than a vital-sign measurement anyway.
  const profile = 'at' in spec.effective ? spec.profile : undefined;
  const observation: Observation = {
    resourceType: 'Observation',
    id,
    ...(profile === undefined ? {} : { meta: { profile: [profile] } }),
    identifier: [{ system: context.systems.observation, value: `${context.identity}/${spec.role}` }],
    status: 'final',
    category: [{ coding: [categoryCoding(spec.category)] }],
    code: concept(spec.codes),
    subject: context.patient,
    ...effective(spec.effective),
    device: context.device,
  };
  if (spec.value !== undefined) {
    if ('quantity' in spec.value) observation.valueQuantity = spec.value.quantity;
    else if ('concept' in spec.value) observation.valueCodeableConcept = spec.value.concept;
    else observation.valueSampledData = spec.value.sampled;
  }
  if (spec.components !== undefined && spec.components.length > 0) observation.component = [...spec.components];
  if (spec.hasMember !== undefined && spec.hasMember.length > 0) observation.hasMember = [...spec.hasMember];
  if (spec.note !== undefined) observation.note = [{ text: spec.note }];
  context.observations.push(observation);
  return { reference: `urn:uuid:${id}` };
}

/** One Quantity Observation, or nothing when the value is missing. */
export function addQuantity(
  context: MappingContext,
  spec: Omit<ObservationSpec, 'value' | 'components'> & { value: number | null; unit: Unit },
): Reference<Observation>[] {
  if (spec.value === null) return [];
  const { value, unit, ...rest } = spec;
  return [addObservation(context, { ...rest, value: { quantity: quantity(value, unit) } })];
}

export interface SeriesPoint {
  at: Instant;
  value: number;
}

export interface SeriesSpec {
  role: string;
  codes: readonly Code[];
  category: Category;
  unit: Unit;
  /** The profile an individual point meets (e.g. heartrate); a SampledData series (over a period) claims none. */
  pointProfile?: string | undefined;
  points: readonly SeriesPoint[];
}

/** Milliseconds between points when every gap is the same (and positive), else null. */
export function regularPeriodMs(points: readonly SeriesPoint[]): number | null {
  if (points.length < 2) return null;
  const first = points[0];
  const second = points[1];
  if (first === undefined || second === undefined) return null;
  const period = second.at.ms - first.at.ms;
  if (period <= 0) return null;
  for (let i = 2; i < points.length; i += 1) {
    const previous = points[i - 1];
    const current = points[i];
    if (previous === undefined || current === undefined || current.at.ms - previous.at.ms !== period) return null;
  }
  return period;
}

/**
 * A time series: one Observation with SampledData when the points are evenly spaced, else one
 * Observation per point up to `maxSampleObservations` (the last one kept says how many were left out).
 */
export function addSeries(context: MappingContext, spec: SeriesSpec): Reference<Observation>[] {
  const points = spec.points;
  if (points.length === 0) return [];
  const period = regularPeriodMs(points);
  const first = points[0];
  const last = points[points.length - 1];
  if (period !== null && first !== undefined && last !== undefined) {
    return [
      addObservation(context, {
        role: `${spec.role}/series`,
        codes: spec.codes,
        category: spec.category,
        effective: { start: first.at, end: last.at },
        value: {
          sampled: {
            origin: { value: 0, unit: spec.unit.unit, system: UCUM, code: spec.unit.code },
            period,
            dimensions: 1,
            data: points.map((point) => String(decimal(point.value))).join(' '),
          },
        },
      }),
    ];
  }
  const kept = points.slice(0, context.maxSampleObservations);
  const leftOut = points.length - kept.length;
  return kept.map((point, index) =>
    addObservation(context, {
      role: `${spec.role}/${index}`,
      codes: spec.codes,
      category: spec.category,
      profile: spec.pointProfile,
      effective: { at: point.at },
      value: { quantity: quantity(point.value, spec.unit) },
      note: leftOut > 0 && index === kept.length - 1 ? `${leftOut} later samples of this series were left out (fhir.maxSampleObservations is ${context.maxSampleObservations}).` : undefined,
    }),
  );
}
