import { block, instantAt, list, num, type Json } from '../terra-values.js';
import { codes, profiles, units } from './codes.js';
import { addObservation, addQuantity, addSeries, quantity, type MappingContext } from './observations.js';
import { points } from './points.js';
import { averageOxygenSaturation, heartRateSeries, oxygenSaturationSeries, restingHeartRate } from './vitals.js';

/** Terra's OxygenSaturationType: 0 blood (SpO2), 1 muscle (SmO2, not a vital sign; left out). */
const MUSCLE_SATURATION = 1;

/**
 * A body record: each measurement (weight, height, BMI, body fat) as its own Observation at its
 * measurement time; blood pressure samples as panels; temperature, glucose, SpO2 and heart-rate
 * samples as series; the day's resting heart rate and average SpO2 over the record's period.
 */
export function mapBody(context: MappingContext, item: Json): void {
  const metadata = block(item, 'metadata');
  const start = instantAt(metadata, 'start_time');
  if (start === null) return;
  const day = { start, end: instantAt(metadata, 'end_time') };

  list(block(item, 'measurements_data'), 'measurements').forEach((measurement, index) => {
    const at = instantAt(measurement, 'measurement_time');
    if (at === null) return;
    const when = { at };
    addQuantity(context, { role: `weight/${index}`, codes: [codes.bodyWeight], category: 'vital-signs', profile: profiles.bodyWeight, effective: when, value: num(measurement, 'weight_kg'), unit: units.kilogram });
    addQuantity(context, { role: `height/${index}`, codes: [codes.bodyHeight], category: 'vital-signs', profile: profiles.bodyHeight, effective: when, value: num(measurement, 'height_cm'), unit: units.centimetre });
    addQuantity(context, { role: `bmi/${index}`, codes: [codes.bmi], category: 'vital-signs', profile: profiles.bmi, effective: when, value: num(measurement, 'BMI'), unit: units.bmi });
    addQuantity(context, { role: `body-fat/${index}`, codes: [codes.bodyFat], category: 'vital-signs', effective: when, value: num(measurement, 'bodyfat_percentage'), unit: units.percent });
  });

  list(block(item, 'blood_pressure_data'), 'blood_pressure_samples').forEach((sample, index) => {
    const at = instantAt(sample, 'timestamp');
    const systolic = num(sample, 'systolic_bp');
    const diastolic = num(sample, 'diastolic_bp');
    // The bp profile needs both; a sample with one of them is left out (documented).
    if (at === null || systolic === null || diastolic === null || index >= context.maxSampleObservations) return;
    addObservation(context, {
      role: `blood-pressure/${index}`,
      codes: [codes.bloodPressurePanel],
      category: 'vital-signs',
      // Shaped for the bp profile; claims vitalsigns because Medplum's validator cannot evaluate
      // bp's component slices (it rejects HL7's own bp example), see docs/fhir-mapping.md.
      profile: profiles.vitalSigns,
      effective: { at },
      components: [
        { code: { coding: [{ ...codes.systolic }], text: codes.systolic.display }, valueQuantity: quantity(systolic, units.mmHg) },
        { code: { coding: [{ ...codes.diastolic }], text: codes.diastolic.display }, valueQuantity: quantity(diastolic, units.mmHg) },
      ],
    });
  });

  addSeries(context, {
    role: 'body-temperature',
    codes: [codes.bodyTemperature],
    category: 'vital-signs',
    unit: units.celsius,
    pointProfile: profiles.bodyTemperature,
    points: points(list(block(item, 'temperature_data'), 'body_temperature_samples'), 'temperature_celsius'),
  });
  addSeries(context, {
    role: 'blood-glucose',
    codes: [codes.bloodGlucose],
    category: 'laboratory',
    unit: units.mgPerDl,
    points: points(list(block(item, 'glucose_data'), 'blood_glucose_samples'), 'blood_glucose_mg_per_dL'),
  });
  const oxygen = block(item, 'oxygen_data');
  oxygenSaturationSeries(context, list(oxygen, 'saturation_samples').filter((sample) => num(sample, 'type') !== MUSCLE_SATURATION));
  averageOxygenSaturation(context, day, oxygen, 'oxygen-saturation/average');

  const heart = block(block(item, 'heart_data'), 'heart_rate_data');
  heartRateSeries(context, block(heart, 'detailed'));
  restingHeartRate(context, day, block(heart, 'summary'));
}
