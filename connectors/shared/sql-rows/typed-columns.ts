/**
 * Layout `typed`: the fields analysts query most, read from the data item into real columns.
 * Paths follow Terra's data models (reference/terra-delivery-spec.md, Appendix A); a value that
 * is missing or not of the column's kind becomes NULL, so an unexpected payload never fails a write.
 * Score columns come from `data_enrichment` and follow Terra's COALESCE rule.
 */
import { isPlainObject } from '../../../src/json/json-value.js';
import type { MergeRule } from './tables.js';

export interface TypedColumn {
  name: string;
  type: 'double' | 'integer' | 'boolean' | 'text';
  merge: Extract<MergeRule, 'newest' | 'coalesce'>;
  description: string;
  /** Reads the value from the data item; never throws. */
  read(item: Readonly<Record<string, unknown>>, times: { startMs: number | null; endMs: number | null }): number | boolean | string | null;
}

export interface TypedTableDefinition {
  dataType: string;
  columns: readonly TypedColumn[];
}

/** The value at `path` inside `value`, or undefined. Arrays are indexed with numbers. */
export function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let current = value;
  for (const segment of path) {
    if (typeof segment === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[segment];
    } else {
      if (!isPlainObject(current) || !Object.hasOwn(current, segment)) return undefined;
      current = current[segment];
    }
  }
  return current;
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function number(name: string, path: readonly (string | number)[], description: string): TypedColumn {
  return { name, type: 'double', merge: 'newest', description, read: (item) => finite(valueAt(item, path)) };
}

function score(name: string, description: string): TypedColumn {
  return { name, type: 'double', merge: 'coalesce', description: `${description} (data_enrichment.${name}; a later null keeps the stored score).`, read: (item) => finite(valueAt(item, ['data_enrichment', name])) };
}

/** The first sample in `samples` (an array at `path`) with a number at `field`. */
function firstSample(path: readonly string[], field: string) {
  return (item: Readonly<Record<string, unknown>>): number | null => {
    const samples = valueAt(item, path);
    if (!Array.isArray(samples)) return null;
    for (const sample of samples) {
      const value = finite(valueAt(sample, [field]));
      if (value !== null) return value;
    }
    return null;
  };
}

/** The day average when present, else the last measurement that has the field. */
function bodyMeasurement(name: string, dayAverage: string, field: string, description: string): TypedColumn {
  return {
    name,
    type: 'double',
    merge: 'newest',
    description,
    read: (item) => {
      const average = finite(valueAt(item, ['measurements_data', dayAverage]));
      if (average !== null) return average;
      const measurements = valueAt(item, ['measurements_data', 'measurements']);
      if (!Array.isArray(measurements)) return null;
      for (let index = measurements.length - 1; index >= 0; index -= 1) {
        const value = finite(valueAt(measurements[index], [field]));
        if (value !== null) return value;
      }
      return null;
    },
  };
}

export const typedTableDefinitions: readonly TypedTableDefinition[] = [
  {
    dataType: 'activity',
    columns: [
      {
        name: 'activity_type',
        type: 'integer',
        merge: 'newest',
        description: 'metadata.type (Terra ActivityType; 0 is In Vehicle, not missing).',
        read: (item) => {
          const value = valueAt(item, ['metadata', 'type']);
          return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
        },
      },
      {
        name: 'activity_name',
        type: 'text',
        merge: 'newest',
        description: 'metadata.name.',
        read: (item) => {
          const value = valueAt(item, ['metadata', 'name']);
          return typeof value === 'string' ? value : null;
        },
      },
      {
        name: 'duration_seconds',
        type: 'double',
        merge: 'newest',
        description: 'end_time minus start_time, in seconds.',
        read: (_item, times) => (times.startMs !== null && times.endMs !== null ? (times.endMs - times.startMs) / 1000 : null),
      },
      number('active_seconds', ['active_durations_data', 'activity_seconds'], 'active_durations_data.activity_seconds.'),
      number('distance_meters', ['distance_data', 'summary', 'distance_meters'], 'distance_data.summary.distance_meters.'),
      number('steps', ['distance_data', 'summary', 'steps'], 'distance_data.summary.steps.'),
      number('calories', ['calories_data', 'total_burned_calories'], 'calories_data.total_burned_calories.'),
      number('avg_hr_bpm', ['heart_rate_data', 'summary', 'avg_hr_bpm'], 'heart_rate_data.summary.avg_hr_bpm.'),
      number('max_hr_bpm', ['heart_rate_data', 'summary', 'max_hr_bpm'], 'heart_rate_data.summary.max_hr_bpm.'),
      { name: 'tss', type: 'double', merge: 'newest', description: 'TSS_data.TSS_samples: the first sample\'s `actual`.', read: firstSample(['TSS_data', 'TSS_samples'], 'actual') },
      score('efficiency_score', 'Efficiency score'),
      score('strain_score', 'Strain score'),
      score('rcrs_score', 'RCRS score'),
      score('trimp_score', 'TRIMP score'),
    ],
  },
  {
    dataType: 'daily',
    columns: [
      number('steps', ['distance_data', 'steps'], 'distance_data.steps.'),
      number('distance_meters', ['distance_data', 'distance_meters'], 'distance_data.distance_meters.'),
      number('calories', ['calories_data', 'total_burned_calories'], 'calories_data.total_burned_calories.'),
      number('active_seconds', ['active_durations_data', 'activity_seconds'], 'active_durations_data.activity_seconds.'),
      number('resting_hr_bpm', ['heart_rate_data', 'summary', 'resting_hr_bpm'], 'heart_rate_data.summary.resting_hr_bpm.'),
      number('avg_hr_bpm', ['heart_rate_data', 'summary', 'avg_hr_bpm'], 'heart_rate_data.summary.avg_hr_bpm.'),
      score('total_stress_score', 'Total stress score'),
      score('respiratory_score', 'Respiratory score'),
      score('immune_index', 'Immune index'),
      score('resilience_score', 'Resilience score'),
      score('strain_index', 'Strain index'),
    ],
  },
  {
    dataType: 'sleep',
    columns: [
      {
        name: 'is_nap',
        type: 'boolean',
        merge: 'newest',
        description: 'metadata.is_nap.',
        read: (item) => {
          const value = valueAt(item, ['metadata', 'is_nap']);
          return typeof value === 'boolean' ? value : null;
        },
      },
      number('asleep_seconds', ['sleep_durations_data', 'asleep', 'duration_asleep_state_seconds'], 'sleep_durations_data.asleep.duration_asleep_state_seconds.'),
      number('deep_seconds', ['sleep_durations_data', 'asleep', 'duration_deep_sleep_state_seconds'], 'sleep_durations_data.asleep.duration_deep_sleep_state_seconds.'),
      number('light_seconds', ['sleep_durations_data', 'asleep', 'duration_light_sleep_state_seconds'], 'sleep_durations_data.asleep.duration_light_sleep_state_seconds.'),
      number('rem_seconds', ['sleep_durations_data', 'asleep', 'duration_REM_sleep_state_seconds'], 'sleep_durations_data.asleep.duration_REM_sleep_state_seconds.'),
      number('awake_seconds', ['sleep_durations_data', 'awake', 'duration_awake_state_seconds'], 'sleep_durations_data.awake.duration_awake_state_seconds.'),
      number('in_bed_seconds', ['sleep_durations_data', 'other', 'duration_in_bed_seconds'], 'sleep_durations_data.other.duration_in_bed_seconds.'),
      number('efficiency', ['sleep_durations_data', 'sleep_efficiency'], 'sleep_durations_data.sleep_efficiency.'),
      score('sleep_score', 'Sleep score'),
      score('readiness_score', 'Readiness score'),
    ],
  },
  {
    dataType: 'body',
    columns: [
      bodyMeasurement('weight_kg', 'day_avg_weight_kg', 'weight_kg', 'measurements_data.day_avg_weight_kg, else the last measurement\'s weight_kg.'),
      bodyMeasurement('bmi', 'day_avg_bmi', 'BMI', 'measurements_data.day_avg_bmi, else the last measurement\'s BMI.'),
      bodyMeasurement('bodyfat_percentage', 'day_avg_bodyfat_percentage', 'bodyfat_percentage', 'measurements_data.day_avg_bodyfat_percentage, else the last measurement\'s bodyfat_percentage.'),
    ],
  },
  {
    dataType: 'nutrition',
    columns: [
      number('calories', ['summary', 'macros', 'calories'], 'summary.macros.calories.'),
      number('protein_g', ['summary', 'macros', 'protein_g'], 'summary.macros.protein_g.'),
      number('carbohydrates_g', ['summary', 'macros', 'carbohydrates_g'], 'summary.macros.carbohydrates_g.'),
      number('fat_g', ['summary', 'macros', 'fat_g'], 'summary.macros.fat_g.'),
      number('water_ml', ['summary', 'water_ml'], 'summary.water_ml.'),
    ],
  },
];
