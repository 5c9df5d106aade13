import { z } from 'zod';
import { Secret } from './secret.js';

/**
 * A config string that is a credential. Parses to a Secret, which never prints its value.
 * The JSON Schema (generated with io: 'input') shows it as a plain string, with `example` (an
 * environment reference) as its example.
 */
export function secretString(description: string, example = '${SECRET_FROM_ENV}') {
  return z
    .string()
    .min(1)
    .meta({ description: `${description} Secret: never logged. Use \${ENV_VAR} rather than a literal.`, examples: [example] })
    .transform((value) => new Secret(value));
}
