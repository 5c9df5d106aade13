import type { Bundle, BundleEntry, Device, Patient, Resource } from '@medplum/fhirtypes';
import type { TerraRecord } from '../../records/record.js';
import type { FhirFormatOptions } from '../format.js';
import { block, str, type Json } from '../terra-values.js';
import { deterministicUuid, fhirSystems, type FhirSystems } from './ids.js';
import { mapActivity } from './map-activity.js';
import { mapBody } from './map-body.js';
import { mapDaily } from './map-daily.js';
import { mapSleep } from './map-sleep.js';
import type { MappingContext } from './observations.js';

/** The Terra types the FHIR mapping covers, with the function for each. */
const mappers: Readonly<Record<string, (context: MappingContext, item: Json) => void>> = {
  activity: mapActivity,
  body: mapBody,
  daily: mapDaily,
  sleep: mapSleep,
};

export const fhirEventTypes: ReadonlySet<string> = new Set(Object.keys(mappers));

/** What one record maps to: the Patient, the Device and the Observations, each with its fullUrl. */
export interface MappedRecord {
  systems: FhirSystems;
  patient: Patient;
  device: Device;
  observations: Resource[];
}

function patientFor(record: TerraRecord, userId: string, systems: FhirSystems): Patient {
  return {
    resourceType: 'Patient',
    // From the user, not the record: every record of a user points at the same Patient.
    id: deterministicUuid(`patient/${systems.userId}|${userId}`),
    identifier: [{ system: systems.userId, value: userId }, ...(record.referenceId === null || record.referenceId.trim() === '' ? [] : [{ system: systems.referenceId, value: record.referenceId.trim() }])],
  };
}

function deviceFor(record: TerraRecord, item: Json, userId: string, patientId: string, systems: FhirSystems): Device {
  const data = block(item, 'device_data');
  const provider = record.provider?.trim() || 'UNKNOWN';
  const name = str(data, 'name');
  const manufacturer = str(data, 'manufacturer');
  const software = str(data, 'software_version');
  // One Device per user, provider and device model: the source the Observations came from.
  const value = deterministicUuid(`device/${userId}|${provider}|${manufacturer ?? ''}|${name ?? ''}`);
  return {
    resourceType: 'Device',
    id: value,
    identifier: [{ system: systems.device, value }],
    ...(manufacturer === null ? {} : { manufacturer }),
    deviceName: [{ name: name ?? provider, type: name === null ? 'user-friendly-name' : 'model-name' }],
    type: { text: `Terra provider ${provider}` },
    ...(software === null ? {} : { version: [{ value: software }] }),
    patient: { reference: `urn:uuid:${patientId}` },
  };
}

/** Maps an accepted record (fhirFormat.accepts said ok) to its resources. */
export function mapRecord(record: TerraRecord, item: Json, userId: string, options: FhirFormatOptions): MappedRecord {
  const systems = fhirSystems(options.identifierSystemBase);
  const patient = patientFor(record, userId, systems);
  const device = deviceFor(record, item, userId, patient.id ?? '', systems);
  const context: MappingContext = {
    identity: record.identity,
    systems,
    patient: { reference: `urn:uuid:${patient.id ?? ''}` },
    device: { reference: `urn:uuid:${device.id ?? ''}` },
    maxSampleObservations: options.maxSampleObservations,
    observations: [],
  };
  mappers[record.type]?.(context, item);
  return { systems, patient, device, observations: context.observations };
}

/** The identifier a resource is matched on by a server: its first identifier, as a search token. */
function identifierQuery(resource: Patient | Device | Resource): string {
  const identifier = 'identifier' in resource && Array.isArray(resource.identifier) ? resource.identifier[0] : undefined;
  if (identifier?.system === undefined || identifier.value === undefined) throw new Error(`A mapped ${resource.resourceType} has no identifier`);
  return `identifier=${encodeURIComponent(identifier.system)}|${encodeURIComponent(identifier.value)}`;
}

/** A resource without its id: a server assigns ids; conditional requests match on the identifier. */
function withoutId<T extends Resource>(resource: T): T {
  const copy = { ...resource };
  delete copy.id;
  return copy;
}

/**
 * The Bundle a FHIR server gets for a record (`transaction`, or `batch`): the Patient and Device
 * as conditional creates (`ifNoneExist` on the identifier: an existing Patient, with whatever the
 * EHR knows about them, is never overwritten), every Observation as a conditional update
 * (`PUT Observation?identifier=...`), so a replay updates the same Observations. References stay
 * `urn:uuid:` fullUrls, which the server resolves to the matched or created resources.
 */
export function requestBundle(record: TerraRecord, mapped: MappedRecord, type: 'transaction' | 'batch'): Bundle {
  const creates: BundleEntry[] = [mapped.patient, mapped.device].map((resource) => ({
    fullUrl: `urn:uuid:${resource.id ?? ''}`,
    resource: withoutId(resource),
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: identifierQuery(resource) },
  }));
  const updates: BundleEntry[] = mapped.observations.map((resource) => ({
    fullUrl: `urn:uuid:${resource.id ?? ''}`,
    resource: withoutId(resource),
    request: { method: 'PUT', url: `${resource.resourceType}?${identifierQuery(resource)}` },
  }));
  return {
    resourceType: 'Bundle',
    id: deterministicUuid(`${record.identity}/bundle`),
    identifier: { system: mapped.systems.record, value: record.identity },
    type,
    timestamp: record.eventTime,
    entry: [...creates, ...updates],
  };
}

/**
 * The `collection` Bundle stored for a record: Patient, Device, Observations, each entry's fullUrl
 * `urn:uuid:<id>`; Bundle id and identifier from the record identity.
 */
export function collectionBundle(record: TerraRecord, mapped: MappedRecord): Bundle {
  const entries: BundleEntry[] = [mapped.patient, mapped.device, ...mapped.observations].map((resource) => ({ fullUrl: `urn:uuid:${resource.id ?? ''}`, resource }));
  return {
    resourceType: 'Bundle',
    id: deterministicUuid(`${record.identity}/bundle`),
    identifier: { system: mapped.systems.record, value: record.identity },
    type: 'collection',
    timestamp: record.eventTime,
    entry: entries,
  };
}
