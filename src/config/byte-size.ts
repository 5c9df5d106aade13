import { z } from 'zod';

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

const BYTE_SIZE = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i;

/**
 * Parses `64MiB`, `500KB`, `1GiB`, `512B` or a plain `1048576` into bytes.
 * KB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024 (units are case-insensitive).
 * Returns null when the text is not a byte size or is not a whole number of bytes.
 */
export function parseByteSize(text: string): number | null {
  const match = BYTE_SIZE.exec(text);
  if (match === null) return null;
  const amount = Number(match[1]);
  const unit = UNITS[(match[2] ?? 'b').toLowerCase()];
  if (unit === undefined) return null;
  const bytes = amount * unit;
  return Number.isSafeInteger(bytes) ? bytes : null;
}

const EXPECTED = 'expected a whole number of bytes or a size such as 500KB, 64MiB or 1GiB';

/**
 * A byte size field: a positive whole number of bytes, or a string with a unit. Parses to a number.
 * The metadata sits on the input side so the generated JSON Schema keeps the example and default.
 */
export function byteSizeSchema(description: string, example: string, documentedDefault?: string) {
  return z
    .union([z.number(), z.string()], { error: () => EXPECTED })
    .meta({
      description: `${description} Bytes, or a size with a unit (KB, MB, GB: powers of 1000; KiB, MiB, GiB: powers of 1024).`,
      examples: [example],
      ...(documentedDefault === undefined ? {} : { default: documentedDefault }),
    })
    .transform((value, context) => {
      const bytes = typeof value === 'number' ? value : parseByteSize(value);
      if (bytes === null || !Number.isSafeInteger(bytes) || bytes < 1) {
        context.addIssue({ code: 'custom', message: `not a valid byte size; ${EXPECTED}` });
        return z.NEVER;
      }
      return bytes;
    });
}
