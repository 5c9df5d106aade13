import { z } from 'zod';
import { idString, nullableBoolean, nullableIdString, nullableMicros, nullableNumber, nullableString, objectArrayBlock, objectBlock } from './fields.js';

/**
 * Terra Teams API webhook events [OA-TEAMS `teams-bundled.yaml`, D-TEAMS-ET]. They carry no `user`
 * and no `version`. The ids the engine keys on (coach_id, athlete_id, test_id, activity_id) are
 * required and non-empty; everything else is optional and may be null (the bundle marks most
 * fields as plain strings, but the engine does not read them, so a null there must not park data).
 * Teams timestamps are integer microseconds; those that become a record's start or end time are
 * held to the years terra-time.ts allows. Ids and providers that reach keys follow identifier.ts.
 */

// components.schemas.Coach
export const coachSchema = z.looseObject({
  coach_id: idString,
  external_coach_id: nullableString,
  reference_id: nullableIdString,
  region: nullableString,
  provider: nullableIdString,
  created_at: nullableString,
});

// components.schemas.Athlete
export const teamsAthleteSchema = z.looseObject({
  athlete_id: idString,
  coach_id: nullableIdString,
  external_athlete_id: nullableString,
  reference_id: nullableIdString,
  provider: nullableIdString,
  first_name: nullableString,
  last_name: nullableString,
  email: nullableString,
  created_at: nullableString,
  date_of_birth: nullableString,
  last_updated_at: nullableString,
  active: nullableBoolean,
});

// components.schemas.Test
export const teamsTestSchema = z.looseObject({
  test_id: idString,
  display_name: nullableString,
  timestamp_us: nullableMicros,
  duration_us: nullableNumber,
  tz_offset_seconds: nullableNumber,
  athlete_weight: nullableNumber,
  notes: nullableString,
  device: nullableString,
  test_result_metrics: objectArrayBlock,
  sets: objectArrayBlock,
});

// components.schemas.TeamActivity
export const teamActivitySchema = z.looseObject({
  activity_id: idString,
  start_timestamp_us: nullableMicros,
  end_timestamp_us: nullableMicros,
  description: nullableString,
  teams: objectArrayBlock,
  athletes: objectArrayBlock,
  athlete_participation: objectBlock,
  tz_offset_seconds: nullableNumber,
  periods: objectArrayBlock,
  activity_metrics: objectArrayBlock,
  athlete_metrics: objectBlock,
});

// webhooks.coachRegistered: `data` is one Coach, not an array.
export const coachRegisteredEventSchema = z.looseObject({
  type: z.literal('coach.registered'),
  message: nullableString,
  data: coachSchema,
});

// webhooks.athleteRegistered: `data` is Athlete[].
export const athleteRegisteredEventSchema = z.looseObject({
  type: z.literal('athlete.registered'),
  message: nullableString,
  data: z.array(teamsAthleteSchema),
});

// D-TEAMS-ET: `{"data": [athlete], "message": ..., "type": "athlete.deleted"}`.
export const athleteDeletedEventSchema = z.looseObject({
  type: z.literal('athlete.deleted'),
  message: nullableString,
  data: z.array(teamsAthleteSchema),
});

// D-TEAMS-ET: `{"data": [Test], "coach": Coach, "type": "test.retrieved"}`.
export const testRetrievedEventSchema = z.looseObject({
  type: z.literal('test.retrieved'),
  coach: coachSchema.nullable().optional(),
  data: z.array(teamsTestSchema),
});

// D-TEAMS-ET (body truncated in the source): `{"data": [TeamActivity], "coach": Coach, ...}`.
export const activityRetrievedEventSchema = z.looseObject({
  type: z.literal('activity.retrieved'),
  coach: coachSchema.nullable().optional(),
  data: z.array(teamActivitySchema),
});

export type Coach = z.infer<typeof coachSchema>;
export type CoachRegisteredEvent = z.infer<typeof coachRegisteredEventSchema>;
export type AthleteRegisteredEvent = z.infer<typeof athleteRegisteredEventSchema>;
export type AthleteDeletedEvent = z.infer<typeof athleteDeletedEventSchema>;
export type TestRetrievedEvent = z.infer<typeof testRetrievedEventSchema>;
export type ActivityRetrievedEvent = z.infer<typeof activityRetrievedEventSchema>;

export type TeamsEvent =
  | CoachRegisteredEvent
  | AthleteRegisteredEvent
  | AthleteDeletedEvent
  | TestRetrievedEvent
  | ActivityRetrievedEvent;
