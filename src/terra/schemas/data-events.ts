import { z } from 'zod';
import {
  activitySchema,
  athleteSchema,
  bodySchema,
  dailySchema,
  healthObservationSchema,
  hormoneSampleSchema,
  menstruationSchema,
  nutritionSchema,
  plannedWorkoutSchema,
  sleepSchema,
} from './data-items.js';
import { idString, nullableString, terraUserSchema } from './fields.js';

/**
 * Terra data events [OA-S `<Type>Event.yaml`]: `{type, user, data: Item[], version}`, all four
 * required; `athlete` carries one `athlete` object instead of `data[]`. `version` names the object
 * key's folder, so it is held to the identifier rule.
 */

function dataEventSchema<T extends string, I extends z.ZodType>(type: T, item: I) {
  return z.looseObject({
    type: z.literal(type),
    status: nullableString,
    user: terraUserSchema,
    data: z.array(item),
    version: idString,
  });
}

export const activityEventSchema = dataEventSchema('activity', activitySchema);
export const bodyEventSchema = dataEventSchema('body', bodySchema);
export const dailyEventSchema = dataEventSchema('daily', dailySchema);
export const sleepEventSchema = dataEventSchema('sleep', sleepSchema);
export const nutritionEventSchema = dataEventSchema('nutrition', nutritionSchema);
export const menstruationEventSchema = dataEventSchema('menstruation', menstruationSchema);
export const plannedWorkoutEventSchema = dataEventSchema('planned_workout', plannedWorkoutSchema);
export const hormoneEventSchema = dataEventSchema('hormone', hormoneSampleSchema);
export const healthObservationEventSchema = dataEventSchema('health_observation', healthObservationSchema);

/**
 * The item schema of each data event type whose records are keyed by metadata alone, not by the
 * whole item (planned_workout may hash its item): the types decode-large-event.ts may split.
 */
export const dataItemSchemas = {
  activity: activitySchema,
  body: bodySchema,
  daily: dailySchema,
  sleep: sleepSchema,
  nutrition: nutritionSchema,
  menstruation: menstruationSchema,
  hormone: hormoneSampleSchema,
  health_observation: healthObservationSchema,
} as const;

export const athleteEventSchema = z.looseObject({
  type: z.literal('athlete'),
  status: nullableString,
  user: terraUserSchema,
  athlete: athleteSchema,
  version: idString,
});

export type ActivityEvent = z.infer<typeof activityEventSchema>;
export type BodyEvent = z.infer<typeof bodyEventSchema>;
export type DailyEvent = z.infer<typeof dailyEventSchema>;
export type SleepEvent = z.infer<typeof sleepEventSchema>;
export type NutritionEvent = z.infer<typeof nutritionEventSchema>;
export type MenstruationEvent = z.infer<typeof menstruationEventSchema>;
export type PlannedWorkoutEvent = z.infer<typeof plannedWorkoutEventSchema>;
export type HormoneEvent = z.infer<typeof hormoneEventSchema>;
export type HealthObservationEvent = z.infer<typeof healthObservationEventSchema>;
export type AthleteEvent = z.infer<typeof athleteEventSchema>;

/** Data events that carry `data[]`. */
export type DataArrayEvent =
  | ActivityEvent
  | BodyEvent
  | DailyEvent
  | SleepEvent
  | NutritionEvent
  | MenstruationEvent
  | PlannedWorkoutEvent
  | HormoneEvent
  | HealthObservationEvent;

export type DataEvent = DataArrayEvent | AthleteEvent;
