import { z } from 'zod';
import {
  enumNumber,
  idString,
  isoDateTime,
  nullableBoolean,
  nullableIdString,
  nullableIsoDateTime,
  nullableNumber,
  nullableString,
  objectArrayBlock,
  objectBlock,
} from './fields.js';

/**
 * The items of Terra data events, written from `tryterra/openapi/schemas/core/*.yaml` [OA-S].
 * `metadata` is checked field by field where the schema requires a field (identity and keys use
 * it); every other top-level block is checked only for its kind (object, array, number, string).
 * Unknown fields pass untouched.
 */

// ActivityMetadata.yaml: summary_id, start_time, end_time, type, upload_type required.
export const activityMetadataSchema = z.looseObject({
  summary_id: idString,
  start_time: isoDateTime,
  end_time: isoDateTime,
  type: enumNumber,
  upload_type: enumNumber,
  name: nullableString,
  city: nullableString,
  state: nullableString,
  country: nullableString,
  timestamp_localization: nullableNumber,
});

// Activity.yaml
export const activitySchema = z.looseObject({
  metadata: activityMetadataSchema,
  active_durations_data: objectBlock,
  calories_data: objectBlock,
  cheat_detection: nullableNumber,
  data_enrichment: objectBlock,
  device_data: objectBlock,
  distance_data: objectBlock,
  energy_data: objectBlock,
  heart_rate_data: objectBlock,
  lap_data: objectBlock,
  MET_data: objectBlock,
  movement_data: objectBlock,
  oxygen_data: objectBlock,
  polyline_map_data: objectBlock,
  position_data: objectBlock,
  power_data: objectBlock,
  strain_data: objectBlock,
  TSS_data: objectBlock,
  work_data: objectBlock,
});

// BodyMetadata.yaml, NutritionMetadata.yaml, MenstruationMetadata.yaml: start_time, end_time required.
const dayMetadataSchema = z.looseObject({
  start_time: isoDateTime,
  end_time: isoDateTime,
  timestamp_localization: nullableNumber,
});

// Body.yaml
export const bodySchema = z.looseObject({
  metadata: dayMetadataSchema,
  blood_pressure_data: objectBlock,
  device_data: objectBlock,
  heart_data: objectBlock,
  hydration_data: objectBlock,
  ketone_data: objectBlock,
  measurements_data: objectBlock,
  oxygen_data: objectBlock,
  temperature_data: objectBlock,
  glucose_data: objectBlock,
});

// DailyMetadata.yaml: start_time, end_time, upload_type required.
const dailyMetadataSchema = z.looseObject({
  start_time: isoDateTime,
  end_time: isoDateTime,
  upload_type: enumNumber,
  timestamp_localization: nullableNumber,
});

// Daily.yaml
export const dailySchema = z.looseObject({
  metadata: dailyMetadataSchema,
  active_durations_data: objectBlock,
  calories_data: objectBlock,
  data_enrichment: objectBlock,
  device_data: objectBlock,
  distance_data: objectBlock,
  heart_rate_data: objectBlock,
  MET_data: objectBlock,
  oxygen_data: objectBlock,
  scores: objectBlock,
  strain_data: objectBlock,
  stress_data: objectBlock,
  tag_data: objectBlock,
});

// SleepMetadata.yaml: start_time, end_time, upload_type required; summary_id nullable.
const sleepMetadataSchema = z.looseObject({
  start_time: isoDateTime,
  end_time: isoDateTime,
  upload_type: enumNumber,
  summary_id: nullableIdString,
  is_nap: nullableBoolean,
  timestamp_localization: nullableNumber,
});

// Sleep.yaml
export const sleepSchema = z.looseObject({
  metadata: sleepMetadataSchema,
  data_enrichment: objectBlock,
  device_data: objectBlock,
  heart_rate_data: objectBlock,
  readiness_data: objectBlock,
  respiration_data: objectBlock,
  scores: objectBlock,
  sleep_durations_data: objectBlock,
  temperature_data: objectBlock,
});

// Nutrition.yaml
export const nutritionSchema = z.looseObject({
  metadata: dayMetadataSchema,
  drink_samples: objectArrayBlock,
  meals: objectArrayBlock,
  summary: objectBlock,
});

// Menstruation.yaml
export const menstruationSchema = z.looseObject({
  metadata: dayMetadataSchema,
  menstruation_data: objectBlock,
});

// Athlete.yaml (the `athlete` event carries one, not a data[] array). Nothing is required.
export const athleteSchema = z.looseObject({
  age: nullableNumber,
  bio: nullableString,
  city: nullableString,
  state: nullableString,
  country: nullableString,
  email: nullableString,
  first_name: nullableString,
  last_name: nullableString,
  sex: nullableString,
  gender: nullableString,
  date_of_birth: nullableString,
  account_creation_date: nullableString,
  provider_user_id: nullableString,
});

// PlannedWorkout.yaml. Nothing is required. `metadata` is the older model's block (llms.txt and
// Terra's skills key planned workouts on `metadata.id` / `metadata.summary_id`); the newest model has
// `planned_workout_id` and `details.metadata.id` instead.
// The ids and planned dates below key planned workouts (identity.ts plannedWorkoutKey, the start time).
const plannedWorkoutLegacyMetadataSchema = z.looseObject({
  id: nullableIdString,
  summary_id: nullableIdString,
});
const plannedWorkoutDetailsSchema = z.looseObject({
  metadata: z.looseObject({ id: nullableIdString, planned_date: nullableIsoDateTime }).nullable().optional(),
  steps: objectArrayBlock,
});
export const plannedWorkoutSchema = z.looseObject({
  planned_workout_id: nullableIdString,
  workout_id: nullableString,
  planned_date: nullableIsoDateTime,
  provider_workout_id: nullableString,
  coercion_warnings: nullableString,
  created_at: nullableString,
  last_updated_at: nullableString,
  is_external: nullableBoolean,
  athlete_metrics: objectBlock,
  details: plannedWorkoutDetailsSchema.nullable().optional(),
  metadata: plannedWorkoutLegacyMetadataSchema.nullable().optional(),
});

// HormoneSample.yaml: timestamp required.
export const hormoneSampleSchema = z.looseObject({
  timestamp: isoDateTime,
  lh_mIU_per_ml: nullableNumber,
  e3g_ng_per_ml: nullableNumber,
  pdg_ug_per_ml: nullableNumber,
  hcg_mIU_per_ml: nullableNumber,
  fsh_mIU_per_ml: nullableNumber,
});

// HealthObservationMetadata.yaml: start_time, summary_id required.
const healthObservationMetadataSchema = z.looseObject({
  start_time: isoDateTime,
  end_time: nullableIsoDateTime,
  summary_id: idString,
  timestamp_localization: nullableNumber,
});

// HealthObservationData.yaml: observation_type required.
const healthObservationDataSchema = z.looseObject({
  observation_type: z.string(),
  category: nullableNumber,
  codes: objectArrayBlock,
  value: objectBlock,
  severity: nullableNumber,
  components: objectArrayBlock,
  status: nullableNumber,
  notes: nullableString,
});

// HealthObservation.yaml: metadata, observation_data required.
export const healthObservationSchema = z.looseObject({
  metadata: healthObservationMetadataSchema,
  observation_data: healthObservationDataSchema,
});
