import { instantAt, num, type Json } from '../terra-values.js';
import type { SeriesPoint } from './observations.js';

/** The valid (timestamp, value) points of a Terra sample list, in Terra's order. */
export function points(samples: readonly Json[], valueKey: string, timeKey = 'timestamp'): SeriesPoint[] {
  const result: SeriesPoint[] = [];
  for (const sample of samples) {
    const at = instantAt(sample, timeKey);
    const value = num(sample, valueKey);
    if (at !== null && value !== null) result.push({ at, value });
  }
  return result;
}
