import type { Observation, Reference } from '@medplum/fhirtypes';
import { list, num, type Json } from '../terra-values.js';
import { codes, profiles, units } from './codes.js';
import { addQuantity, addSeries, type Effective, type MappingContext } from './observations.js';
import { points } from './points.js';

/**
 * The Observations several Terra types share (heart rate, resting heart rate, HRV, SpO2), written
 * the same way wherever they appear. Each returns references for a panel's `hasMember`.
 */

/** `hr_samples` of a Terra heart-rate block's `detailed` part: LOINC 8867-4, points in the heartrate profile. */
export function heartRateSeries(context: MappingContext, detailed: Json | null): Reference<Observation>[] {
  return addSeries(context, {
    role: 'heart-rate',
    codes: [codes.heartRate],
    category: 'vital-signs',
    unit: units.perMinute,
    pointProfile: profiles.heartRate,
    points: points(list(detailed, 'hr_samples'), 'bpm'),
  });
}

/** `resting_hr_bpm` over the record's period: LOINC 40443-4. */
export function restingHeartRate(context: MappingContext, effective: Effective, summary: Json | null): Reference<Observation>[] {
  return addQuantity(context, { role: 'resting-heart-rate', codes: [codes.restingHeartRate], category: 'vital-signs', effective, value: num(summary, 'resting_hr_bpm'), unit: units.perMinute });
}

/** `avg_hrv_sdnn` (LOINC 80404-7) and `avg_hrv_rmssd` (terra-fanout code; LOINC has none) over the period. */
export function heartRateVariability(context: MappingContext, effective: Effective, summary: Json | null): Reference<Observation>[] {
  return [
    ...addQuantity(context, { role: 'hrv-sdnn', codes: [codes.hrvSdnn], category: 'vital-signs', effective, value: num(summary, 'avg_hrv_sdnn'), unit: units.millisecond }),
    ...addQuantity(context, { role: 'hrv-rmssd', codes: [codes.hrvRmssd], category: 'vital-signs', effective, value: num(summary, 'avg_hrv_rmssd'), unit: units.millisecond }),
  ];
}

const SPO2 = [codes.oxygenSaturation, codes.oxygenSaturationPulseOximetry];

/** An average SpO2 (`avg_saturation_percentage`) over the period: LOINC 2708-6 and 59408-5. */
export function averageOxygenSaturation(context: MappingContext, effective: Effective, block: Json | null, role = 'oxygen-saturation'): Reference<Observation>[] {
  return addQuantity(context, { role, codes: SPO2, category: 'vital-signs', effective, value: num(block, 'avg_saturation_percentage'), unit: units.percent });
}

/** SpO2 samples (`percentage`): LOINC 2708-6 and 59408-5, points in the oxygensat profile. */
export function oxygenSaturationSeries(context: MappingContext, samples: readonly Json[]): Reference<Observation>[] {
  return addSeries(context, { role: 'oxygen-saturation', codes: SPO2, category: 'vital-signs', unit: units.percent, pointProfile: profiles.oxygenSaturation, points: points(samples, 'percentage') });
}
