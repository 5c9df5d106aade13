import { fhirFormat } from './fhir/fhir-format.js';
import { fitFormat } from './fit/fit-format.js';
import type { Format, FormatName } from './format.js';
import { terraFormat } from './terra.js';

/** Every format, by name. A destination's `format:` picks one. */
export const formats: Readonly<Record<FormatName, Format>> = {
  terra: terraFormat,
  fhir: fhirFormat,
  fit: fitFormat,
};
