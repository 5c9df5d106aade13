import { openApiEnvelopeTypes, openApiEventCategories } from './event-types-openapi.js';

/**
 * Every Terra event `type` terra-fanout accepts, derived in one place:
 * - the envelope types of Terra's OpenAPI (`WebhookEventType.yaml`'s union and the Teams webhooks),
 *   generated into event-types-openapi.ts by scripts/generate-event-types.ts;
 * - the category names of `EventType.yaml` that are also envelope types (google_no_datasource,
 *   rate_limit_hit, healthcheck are there but not in the union), minus `notEnvelopeTypes`;
 * - `documentedOnlyTypes`: types Terra documents and sends that no OpenAPI file defines.
 * A type in none of them is `unknown_event_type`. test/terra/event-types.test.ts reads the
 * reference OpenAPI and fails when it has a type this list does not know; the compiler fails when
 * the generated module gains a type `eventTypeKinds` does not classify.
 *
 * Kinds:
 * - `data`: health data (`data[]` items, or the one `athlete` profile), one record per item;
 * - `user`: every other non-data event (connection lifecycle, delivery notices, lab report
 *   notifications), one record per event;
 * - `teams`: Teams API events (coaches, athletes, tests, team activities);
 * - `pointer`: Terra's `s3_payload` form, resolved to the real event before anything else.
 */

export type EventKind = 'data' | 'user' | 'teams' | 'pointer';

/**
 * `EventType.yaml` names that are never an envelope `type` a destination receives, with the reason
 * (reference/terra-delivery-spec.md section 1.3). A message carrying one is `unknown_event_type`.
 */
export const notEnvelopeTypes = {
  processing: 'processing is an HTTP response to a data request; Terra never sends it as an event to a destination',
  s3_upload: 's3_upload is the category name of Terra\'s pointer; its envelope type is s3_payload',
} as const satisfies Partial<Record<(typeof openApiEventCategories)[number], string>>;

/** Types Terra sends that its docs describe but no OpenAPI file defines, with where each comes from. */
export const documentedOnlyTypes = {
  'athlete.deleted': 'Teams API event types page (docs.tryterra.co/reference/teams-api/event-types); not in teams-bundled.yaml webhooks',
  'test.retrieved': 'Teams API event types page; not in teams-bundled.yaml webhooks',
  'activity.retrieved': 'Teams API event types page (body truncated there); not in teams-bundled.yaml webhooks',
} as const;

type CategoryType = Exclude<(typeof openApiEventCategories)[number], keyof typeof notEnvelopeTypes>;

export type TerraEventType = keyof typeof openApiEnvelopeTypes | CategoryType | keyof typeof documentedOnlyTypes;

export const eventTypeKinds = {
  activity: 'data',
  athlete: 'data',
  body: 'data',
  daily: 'data',
  health_observation: 'data',
  hormone: 'data',
  menstruation: 'data',
  nutrition: 'data',
  planned_workout: 'data',
  sleep: 'data',
  access_revoked: 'user',
  auth: 'user',
  auth_cancelled: 'user',
  connection_error: 'user',
  deauth: 'user',
  google_no_datasource: 'user',
  healthcheck: 'user',
  large_request_processing: 'user',
  large_request_sending: 'user',
  permission_change: 'user',
  rate_limit_hit: 'user',
  user_reauth: 'user',
  'lab_report.completed': 'user',
  'lab_report.failed': 'user',
  'activity.retrieved': 'teams',
  'athlete.deleted': 'teams',
  'athlete.registered': 'teams',
  'coach.registered': 'teams',
  'test.retrieved': 'teams',
  s3_payload: 'pointer',
} as const satisfies Readonly<Record<TerraEventType, EventKind>>;

function isKey<T extends object>(record: T, key: string): key is Extract<keyof T, string> {
  return Object.hasOwn(record, key);
}

/** Every known type, in the order of eventTypeKinds. */
export const eventTypes: readonly TerraEventType[] = Object.keys(eventTypeKinds).filter((type) => isKey(eventTypeKinds, type));

export function isKnownEventType(type: string): type is TerraEventType {
  return isKey(eventTypeKinds, type);
}

/** The kind of a known type, or undefined for a type Terra does not send. */
export function eventKind(type: string): EventKind | undefined {
  return isKnownEventType(type) ? eventTypeKinds[type] : undefined;
}

/** Why a type is unknown, for the `unknown_event_type` message: a reason for Terra's non-envelope names. */
export function unknownTypeReason(type: string): string | undefined {
  return isKey(notEnvelopeTypes, type) ? notEnvelopeTypes[type] : undefined;
}

/** Types a destination can receive: every known type except the pointer, which is resolved first. */
export const deliverableEventTypes: readonly TerraEventType[] = eventTypes.filter((type) => eventTypeKinds[type] !== 'pointer');

/**
 * Group names a destination's `events:` accepts besides the exact types, as Terra's own destination
 * settings name them: `lab_report` (Terra's opt-in name for lab reports, spec 4.0) means every
 * `lab_report.*` type.
 */
export const eventFilterGroups: Readonly<Record<string, readonly TerraEventType[]>> = {
  lab_report: deliverableEventTypes.filter((type) => type.startsWith('lab_report.')),
};

/** Every name `events:` accepts: the deliverable types, then the group names. */
export const eventFilterNames: readonly string[] = [...deliverableEventTypes, ...Object.keys(eventFilterGroups)];

/** Why `name` is not accepted in `events:`, or undefined when it is. */
export function eventFilterProblem(name: string): string | undefined {
  if (eventFilterNames.includes(name)) return undefined;
  if (name === 's3_payload' || name === 's3_upload') {
    return `${name} pointers are resolved to the event they point at before filtering; name that event's type (e.g. activity) instead`;
  }
  const reason = unknownTypeReason(name);
  if (reason !== undefined) return `${reason}, so it cannot be filtered on`;
  return `unknown Terra event type; expected one of: ${eventFilterNames.join(', ')}`;
}

/** The exact types an `events:` list selects, groups expanded, each once, in list order. */
export function expandEventFilter(names: readonly string[]): TerraEventType[] {
  const types = new Set<TerraEventType>();
  for (const name of names) {
    const group = Object.hasOwn(eventFilterGroups, name) ? eventFilterGroups[name] : undefined;
    if (group !== undefined) for (const type of group) types.add(type);
    else if (isKnownEventType(name)) types.add(name);
  }
  return [...types];
}
