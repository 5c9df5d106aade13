/**
 * Every Terra event `type` terra-fanout accepts, with its kind:
 * - `data`: health data (`data[]` items, or the one `athlete` profile), one record per item;
 * - `user`: connection lifecycle and delivery notices, one record per event;
 * - `teams`: Teams API events (coaches, athletes, tests, team activities);
 * - `pointer`: Terra's `s3_payload` form, resolved to the real event before anything else.
 * Sources: reference/terra-delivery-spec.md sections 1.3 and 5. Anything else is
 * `unknown_event_type` (including `processing`, which Terra never sends to a destination).
 */

export type EventKind = 'data' | 'user' | 'teams' | 'pointer';

/** The type strings, for config validation of event filters. */
export const eventTypes = [
  'activity',
  'athlete',
  'body',
  'daily',
  'health_observation',
  'hormone',
  'menstruation',
  'nutrition',
  'planned_workout',
  'sleep',
  'access_revoked',
  'auth',
  'auth_cancelled',
  'connection_error',
  'deauth',
  'google_no_datasource',
  'healthcheck',
  'large_request_processing',
  'large_request_sending',
  'permission_change',
  'rate_limit_hit',
  'user_reauth',
  'activity.retrieved',
  'athlete.deleted',
  'athlete.registered',
  'coach.registered',
  'test.retrieved',
  's3_payload',
] as const;

export type TerraEventType = (typeof eventTypes)[number];

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
  'activity.retrieved': 'teams',
  'athlete.deleted': 'teams',
  'athlete.registered': 'teams',
  'coach.registered': 'teams',
  'test.retrieved': 'teams',
  s3_payload: 'pointer',
} as const satisfies Readonly<Record<TerraEventType, EventKind>>;

export function isKnownEventType(type: string): type is TerraEventType {
  return Object.hasOwn(eventTypeKinds, type);
}

/** The kind of a known type, or undefined for a type Terra does not send. */
export function eventKind(type: string): EventKind | undefined {
  return isKnownEventType(type) ? eventTypeKinds[type] : undefined;
}
