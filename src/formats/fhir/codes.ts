import type { Coding } from '@medplum/fhirtypes';

/**
 * The codes and units the FHIR mapping writes (docs/fhir-mapping.md lists them per Terra type).
 * LOINC for what LOINC names; UCUM for every unit; the R4 vital-signs profiles where an
 * Observation meets one. Where LOINC has no code (HRV RMSSD, awake time in sleep, Terra's daily
 * summary as a whole) the mapping uses terra-fanout's own code system, TERRA_FANOUT_CODES.
 */

export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
/** terra-fanout's own codes, for what LOINC has no code for. Stable: changing one is a breaking change. */
export const TERRA_FANOUT_CODES = 'urn:terra-fanout:codes';
/** Terra's ActivityType enum (metadata.type), code = the number, display = Terra's title. */
export const TERRA_ACTIVITY_TYPES = 'urn:terra-fanout:terra-activity-type';

export interface Code {
  system: string;
  code: string;
  display: string;
}

const loinc = (code: string, display: string): Code => ({ system: LOINC, code, display });
const local = (code: string, display: string): Code => ({ system: TERRA_FANOUT_CODES, code, display });

export const codes = {
  heartRate: loinc('8867-4', 'Heart rate'),
  restingHeartRate: loinc('40443-4', 'Heart rate --resting'),
  heartRateMean: loinc('55425-3', 'Heart rate unspecified time mean by Pedometer'),
  heartRateMax: loinc('55426-1', 'Heart rate unspecified time maximum by Pedometer'),
  heartRateMin: local('heart-rate-min', 'Minimum heart rate over the period'),
  hrvSdnn: loinc('80404-7', 'R-R interval.standard deviation (Heart rate variability)'),
  hrvRmssd: local('hrv-rmssd', 'Heart rate variability, RMSSD'),
  oxygenSaturation: loinc('2708-6', 'Oxygen saturation in Arterial blood'),
  oxygenSaturationPulseOximetry: loinc('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry'),
  respiratoryRate: loinc('9279-1', 'Respiratory rate'),
  bloodPressurePanel: loinc('85354-9', 'Blood pressure panel with all children optional'),
  systolic: loinc('8480-6', 'Systolic blood pressure'),
  diastolic: loinc('8462-4', 'Diastolic blood pressure'),
  bodyTemperature: loinc('8310-5', 'Body temperature'),
  bodyWeight: loinc('29463-7', 'Body weight'),
  bodyHeight: loinc('8302-2', 'Body height'),
  bmi: loinc('39156-5', 'Body mass index (BMI) [Ratio]'),
  bodyFat: loinc('41982-0', 'Percentage of body fat Measured'),
  bloodGlucose: loinc('2339-0', 'Glucose [Mass/volume] in Blood'),
  steps: loinc('55423-8', 'Number of steps in unspecified time Pedometer'),
  steps24h: loinc('41950-7', 'Number of steps in 24 hour Measured'),
  distance: loinc('55430-3', 'Walking distance unspecified time Pedometer'),
  distance24h: loinc('41953-1', 'Walking distance 24 hour Calculated'),
  caloriesBurned: loinc('55424-6', 'Calories burned in unspecified time Pedometer'),
  caloriesBurned24h: loinc('41979-6', 'Calories burned in 24 hour Calculated'),
  activeCalories: loinc('41981-2', 'Calories burned'),
  energy: local('energy', 'Energy expended'),
  exerciseActivity: loinc('73985-4', 'Exercise activity'),
  exerciseDuration: loinc('55411-3', 'Exercise duration'),
  powerMean: local('power-mean', 'Mean power output'),
  dailySummary: local('daily-summary', 'Daily activity summary'),
  floorsClimbed: local('floors-climbed', 'Floors climbed'),
  sleepDuration: loinc('93832-4', 'Sleep duration'),
  deepSleep: loinc('93831-6', 'Deep sleep duration'),
  lightSleep: loinc('93830-8', 'Light sleep duration'),
  remSleep: loinc('93829-0', 'REM sleep duration'),
  awakeDuration: local('awake-duration', 'Time awake during the sleep period'),
  timeInBed: local('time-in-bed', 'Time in bed'),
  sleepEfficiency: local('sleep-efficiency', 'Sleep efficiency'),
  sleepLatency: local('sleep-latency', 'Time to fall asleep'),
} as const satisfies Record<string, Code>;

export interface Unit {
  /** Human-readable unit (Quantity.unit). */
  unit: string;
  /** The UCUM code (Quantity.code). */
  code: string;
}

export const units = {
  perMinute: { unit: 'beats/minute', code: '/min' },
  breathsPerMinute: { unit: 'breaths/minute', code: '/min' },
  percent: { unit: '%', code: '%' },
  mmHg: { unit: 'mmHg', code: 'mm[Hg]' },
  celsius: { unit: 'C', code: 'Cel' },
  kilogram: { unit: 'kg', code: 'kg' },
  centimetre: { unit: 'cm', code: 'cm' },
  bmi: { unit: 'kg/m2', code: 'kg/m2' },
  mgPerDl: { unit: 'mg/dL', code: 'mg/dL' },
  steps: { unit: 'steps', code: '{steps}' },
  floors: { unit: 'floors', code: '{floors}' },
  metre: { unit: 'm', code: 'm' },
  kilocalorie: { unit: 'kcal', code: 'kcal' },
  kilojoule: { unit: 'kJ', code: 'kJ' },
  minute: { unit: 'min', code: 'min' },
  millisecond: { unit: 'ms', code: 'ms' },
  watt: { unit: 'W', code: 'W' },
} as const satisfies Record<string, Unit>;

/** The R4 vital-signs profiles (http://hl7.org/fhir/R4/observation-vitalsigns.html). */
export const profiles = {
  vitalSigns: 'http://hl7.org/fhir/StructureDefinition/vitalsigns',
  heartRate: 'http://hl7.org/fhir/StructureDefinition/heartrate',
  respiratoryRate: 'http://hl7.org/fhir/StructureDefinition/resprate',
  oxygenSaturation: 'http://hl7.org/fhir/StructureDefinition/oxygensat',
  bloodPressure: 'http://hl7.org/fhir/StructureDefinition/bp',
  bodyTemperature: 'http://hl7.org/fhir/StructureDefinition/bodytemp',
  bodyWeight: 'http://hl7.org/fhir/StructureDefinition/bodyweight',
  bodyHeight: 'http://hl7.org/fhir/StructureDefinition/bodyheight',
  bmi: 'http://hl7.org/fhir/StructureDefinition/bmi',
} as const;

export type Category = 'vital-signs' | 'activity' | 'laboratory';

const categoryDisplay: Record<Category, string> = { 'vital-signs': 'Vital Signs', activity: 'Activity', laboratory: 'Laboratory' };

export function categoryCoding(category: Category): Coding {
  return { system: OBSERVATION_CATEGORY, code: category, display: categoryDisplay[category] };
}
