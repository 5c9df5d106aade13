import { z } from 'zod';
import { Secret } from './secret.js';

/**
 * A config string that is a credential. Parses to a Secret, which never prints its value.
 * The JSON Schema (generated with io: 'input') shows it as a plain string.
 */
export function secretString(description: string) {
  return z
    .string()
    .min(1)
    .meta({ description: `${description} Secret: never logged. Use \${ENV_VAR} rather than a literal.`, examples: ['${TERRA_SIGNING_SECRET}'] })
    .transform((value) => new Secret(value));
}
