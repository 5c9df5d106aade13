import type { Observation, ObservationComponent, Reference } from '@medplum/fhirtypes';
import { terraActivityTypeTitle } from '../terra-activity-types.js';
import { block, instantAt, num, str, type Json } from '../terra-values.js';
import { TERRA_ACTIVITY_TYPES, codes, units } from './codes.js';
import { addObservation, component, type MappingContext } from './observations.js';
import { averageOxygenSaturation, heartRateSeries, heartRateVariability, restingHeartRate } from './vitals.js';

/**
 * An activity: one `Exercise activity` panel (73985-4, category activity) with its type, period
 * and totals as components, plus the heart-rate series and summary vitals as Observations the
 * panel lists in `hasMember`.
 */
export function mapActivity(context: MappingContext, item: Json): void {
  const metadata = block(item, 'metadata');
  const start = instantAt(metadata, 'start_time');
  if (start === null) return;
  const end = instantAt(metadata, 'end_time');
  const period = { start, end };

  const heart = block(item, 'heart_rate_data');
  const heartSummary = block(heart, 'summary');
  const heartDetailed = block(heart, 'detailed');
  const members: Reference<Observation>[] = [
    ...heartRateSeries(context, heartDetailed),
    ...restingHeartRate(context, period, heartSummary),
    ...heartRateVariability(context, period, heartSummary),
    ...averageOxygenSaturation(context, period, block(item, 'oxygen_data')),
  ];

  const distanceSummary = block(block(item, 'distance_data'), 'summary');
  const calories = block(item, 'calories_data');
  const durations = block(item, 'active_durations_data');
  const activeSeconds = num(durations, 'activity_seconds') ?? (end === null ? null : (end.ms - start.ms) / 1000);
  const components: ObservationComponent[] = [
    ...component(codes.exerciseDuration, activeSeconds === null ? null : activeSeconds / 60, units.minute),
    ...component(codes.distance, num(distanceSummary, 'distance_meters'), units.metre),
    ...component(codes.steps, num(distanceSummary, 'steps'), units.steps),
    ...component(codes.caloriesBurned, num(calories, 'total_burned_calories'), units.kilocalorie),
    ...component(codes.activeCalories, num(calories, 'net_activity_calories'), units.kilocalorie),
    ...component(codes.energy, num(block(item, 'energy_data'), 'energy_kilojoules'), units.kilojoule),
    ...component(codes.heartRateMean, num(heartSummary, 'avg_hr_bpm'), units.perMinute),
    ...component(codes.heartRateMax, num(heartSummary, 'max_hr_bpm'), units.perMinute),
    ...component(codes.heartRateMin, num(heartSummary, 'min_hr_bpm'), units.perMinute),
    ...component(codes.powerMean, num(block(item, 'power_data'), 'avg_watts'), units.watt),
  ];

  const type = num(metadata, 'type');
  const title = type === null ? null : terraActivityTypeTitle(type);
  const name = str(metadata, 'name') ?? title ?? 'Activity';
  addObservation(context, {
    role: 'activity',
    codes: [codes.exerciseActivity],
    category: 'activity',
    effective: period,
    value: {
      concept: {
        ...(type === null ? {} : { coding: [{ system: TERRA_ACTIVITY_TYPES, code: String(type), ...(title === null ? {} : { display: title }) }] }),
        text: name,
      },
    },
    components,
    hasMember: members,
  });
}
