import { block, instantAt, list, num, type Json } from '../terra-values.js';
import { codes, profiles, units } from './codes.js';
import { secondsToMinutes } from './map-daily.js';
import { addObservation, addQuantity, addSeries, component, quantity, type MappingContext } from './observations.js';
import { points } from './points.js';
import { averageOxygenSaturation, heartRateSeries, heartRateVariability, oxygenSaturationSeries, restingHeartRate } from './vitals.js';

/**
 * A sleep record: a `Sleep duration` Observation (93832-4, the time asleep) whose components are
 * the stages (deep, light, REM: LOINC; awake, in bed, latency, efficiency: terra-fanout codes),
 * plus the night's heart rate, HRV, respiratory rate and SpO2 as Observations it lists in `hasMember`.
 */
export function mapSleep(context: MappingContext, item: Json): void {
  const metadata = block(item, 'metadata');
  const start = instantAt(metadata, 'start_time');
  if (start === null) return;
  const night = { start, end: instantAt(metadata, 'end_time') };

  const heart = block(item, 'heart_rate_data');
  const heartSummary = block(heart, 'summary');
  const respiration = block(item, 'respiration_data');
  const breaths = block(respiration, 'breaths_data');
  const saturation = block(respiration, 'oxygen_saturation_data');
  const members = [
    ...addQuantity(context, { role: 'heart-rate-mean', codes: [codes.heartRateMean], category: 'vital-signs', effective: night, value: num(heartSummary, 'avg_hr_bpm'), unit: units.perMinute }),
    ...restingHeartRate(context, night, heartSummary),
    ...heartRateVariability(context, night, heartSummary),
    ...heartRateSeries(context, block(heart, 'detailed')),
    ...addQuantity(context, { role: 'respiratory-rate', codes: [codes.respiratoryRate], category: 'vital-signs', effective: night, value: num(breaths, 'avg_breaths_per_min'), unit: units.breathsPerMinute }),
    ...addSeries(context, {
      role: 'respiratory-rate',
      codes: [codes.respiratoryRate],
      category: 'vital-signs',
      unit: units.breathsPerMinute,
      pointProfile: profiles.respiratoryRate,
      points: points(list(breaths, 'samples'), 'breaths_per_min'),
    }),
    ...averageOxygenSaturation(context, night, saturation),
    ...oxygenSaturationSeries(context, list(saturation, 'samples')),
  ];

  const durations = block(item, 'sleep_durations_data');
  const asleep = block(durations, 'asleep');
  const awake = block(durations, 'awake');
  const other = block(durations, 'other');
  const efficiency = num(durations, 'sleep_efficiency');
  const asleepMinutes = secondsToMinutes(num(asleep, 'duration_asleep_state_seconds'));
  addObservation(context, {
    role: 'sleep',
    codes: [codes.sleepDuration],
    category: 'activity',
    effective: night,
    ...(asleepMinutes === null ? {} : { value: { quantity: quantity(asleepMinutes, units.minute) } }),
    components: [
      ...component(codes.deepSleep, secondsToMinutes(num(asleep, 'duration_deep_sleep_state_seconds')), units.minute),
      ...component(codes.lightSleep, secondsToMinutes(num(asleep, 'duration_light_sleep_state_seconds')), units.minute),
      ...component(codes.remSleep, secondsToMinutes(num(asleep, 'duration_REM_sleep_state_seconds')), units.minute),
      ...component(codes.awakeDuration, secondsToMinutes(num(awake, 'duration_awake_state_seconds')), units.minute),
      ...component(codes.sleepLatency, secondsToMinutes(num(awake, 'sleep_latency_seconds')), units.minute),
      ...component(codes.timeInBed, secondsToMinutes(num(other, 'duration_in_bed_seconds')), units.minute),
      // Terra gives efficiency as a fraction (0.91); FHIR gets a percentage.
      ...component(codes.sleepEfficiency, efficiency === null ? null : efficiency * 100, units.percent),
    ],
    hasMember: members,
  });
}
