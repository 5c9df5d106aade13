import type { z } from 'zod';
import type { TerraEventType } from '../event-types.js';
import {
  activityEventSchema,
  athleteEventSchema,
  bodyEventSchema,
  dailyEventSchema,
  healthObservationEventSchema,
  hormoneEventSchema,
  menstruationEventSchema,
  nutritionEventSchema,
  plannedWorkoutEventSchema,
  sleepEventSchema,
  type DataEvent,
} from './data-events.js';
import { labReportCompletedEventSchema, labReportFailedEventSchema, type LabReportEvent } from './lab-report-events.js';
import { s3PayloadEventSchema, type S3PayloadPointer } from './s3-payload.js';
import {
  activityRetrievedEventSchema,
  athleteDeletedEventSchema,
  athleteRegisteredEventSchema,
  coachRegisteredEventSchema,
  testRetrievedEventSchema,
  type TeamsEvent,
} from './teams-events.js';
import {
  accessRevokedEventSchema,
  authCancelledEventSchema,
  authLegacyErrorEventSchema,
  authSuccessEventSchema,
  connectionErrorEventSchema,
  deauthEventSchema,
  googleNoDatasourceEventSchema,
  healthcheckEventSchema,
  largeRequestProcessingEventSchema,
  largeRequestSendingEventSchema,
  permissionChangeEventSchema,
  rateLimitHitEventSchema,
  userReauthEventSchema,
  type UserEvent,
} from './user-events.js';

/** A decoded Terra event (not a pointer): the original parse output, known to match its schema. */
export type TerraEvent = DataEvent | UserEvent | TeamsEvent | LabReportEvent;

type EventType = Exclude<TerraEventType, 's3_payload'>;

const eventSchemas: Readonly<Record<Exclude<EventType, 'auth'>, z.ZodType<TerraEvent>>> = {
  activity: activityEventSchema,
  athlete: athleteEventSchema,
  body: bodyEventSchema,
  daily: dailyEventSchema,
  health_observation: healthObservationEventSchema,
  hormone: hormoneEventSchema,
  menstruation: menstruationEventSchema,
  nutrition: nutritionEventSchema,
  planned_workout: plannedWorkoutEventSchema,
  sleep: sleepEventSchema,
  access_revoked: accessRevokedEventSchema,
  auth_cancelled: authCancelledEventSchema,
  connection_error: connectionErrorEventSchema,
  deauth: deauthEventSchema,
  google_no_datasource: googleNoDatasourceEventSchema,
  healthcheck: healthcheckEventSchema,
  large_request_processing: largeRequestProcessingEventSchema,
  large_request_sending: largeRequestSendingEventSchema,
  permission_change: permissionChangeEventSchema,
  rate_limit_hit: rateLimitHitEventSchema,
  user_reauth: userReauthEventSchema,
  'lab_report.completed': labReportCompletedEventSchema,
  'lab_report.failed': labReportFailedEventSchema,
  'activity.retrieved': activityRetrievedEventSchema,
  'athlete.deleted': athleteDeletedEventSchema,
  'athlete.registered': athleteRegisteredEventSchema,
  'coach.registered': coachRegisteredEventSchema,
  'test.retrieved': testRetrievedEventSchema,
};

/** The schema a value of `type` must match; `auth` picks its legacy error shape by `status`. */
export function eventSchemaFor(type: EventType, value: Readonly<Record<string, unknown>>): z.ZodType<TerraEvent> {
  if (type === 'auth') return value['status'] === 'error' ? authLegacyErrorEventSchema : authSuccessEventSchema;
  return eventSchemas[type];
}

export const pointerSchema: z.ZodType<S3PayloadPointer> = s3PayloadEventSchema;

export type { S3PayloadPointer };
