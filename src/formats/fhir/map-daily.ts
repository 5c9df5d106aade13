import { block, instantAt, num, type Json } from '../terra-values.js';
import { codes, units } from './codes.js';
import { addObservation, component, type MappingContext } from './observations.js';
import { averageOxygenSaturation, heartRateSeries, restingHeartRate } from './vitals.js';

/**
 * A daily record: a `daily-summary` panel (terra-fanout code; LOINC has none for a whole day)
 * whose components are the day's totals (24-hour LOINC codes), plus the resting heart rate, the
 * heart-rate series and the average SpO2 as Observations the panel lists in `hasMember`.
 */
export function mapDaily(context: MappingContext, item: Json): void {
  const metadata = block(item, 'metadata');
  const start = instantAt(metadata, 'start_time');
  if (start === null) return;
  const day = { start, end: instantAt(metadata, 'end_time') };
  const heart = block(item, 'heart_rate_data');
  const heartSummary = block(heart, 'summary');

  const members = [
    ...restingHeartRate(context, day, heartSummary),
    ...heartRateSeries(context, block(heart, 'detailed')),
    ...averageOxygenSaturation(context, day, block(item, 'oxygen_data')),
  ];

  const distance = block(item, 'distance_data');
  const calories = block(item, 'calories_data');
  addObservation(context, {
    role: 'daily-summary',
    codes: [codes.dailySummary],
    category: 'activity',
    effective: day,
    components: [
      ...component(codes.steps24h, num(distance, 'steps'), units.steps),
      ...component(codes.distance24h, num(distance, 'distance_meters'), units.metre),
      ...component(codes.floorsClimbed, num(distance, 'floors_climbed'), units.floors),
      ...component(codes.caloriesBurned24h, num(calories, 'total_burned_calories'), units.kilocalorie),
      ...component(codes.activeCalories, num(calories, 'net_activity_calories'), units.kilocalorie),
      ...component(codes.exerciseDuration, secondsToMinutes(num(block(item, 'active_durations_data'), 'activity_seconds')), units.minute),
      ...component(codes.heartRateMean, num(heartSummary, 'avg_hr_bpm'), units.perMinute),
      ...component(codes.heartRateMax, num(heartSummary, 'max_hr_bpm'), units.perMinute),
      ...component(codes.heartRateMin, num(heartSummary, 'min_hr_bpm'), units.perMinute),
    ],
    hasMember: members,
  });
}

export function secondsToMinutes(seconds: number | null): number | null {
  return seconds === null ? null : seconds / 60;
}
