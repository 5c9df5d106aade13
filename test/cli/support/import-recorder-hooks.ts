/**
 * Module hooks (node:module register) that append every resolved module URL to a file, one per
 * line, written synchronously so nothing is lost when the process exits. Used by
 * record-imports.ts to see which packages a command loads.
 */
import { appendFileSync } from 'node:fs';

let file = '';

export function initialize(data: { file: string }): void {
  file = data.file;
}

interface ResolveResult {
  url: string;
}

export async function resolve(specifier: string, context: unknown, nextResolve: (specifier: string, context: unknown) => Promise<ResolveResult>): Promise<ResolveResult> {
  const result = await nextResolve(specifier, context);
  if (file !== '') appendFileSync(file, `${result.url}\n`);
  return result;
}
