/** `terra-fanout check-event`: reads the events, decodes them as a lane would, prints one JSON line per record. */
import { readFile } from 'node:fs/promises';
import type { ConfigProblem } from '../config/config-problem.js';
import { loadTenantFile, loadWorkerFile } from '../config/load-config.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import { type WorkerConfig, workerConfigSchema } from '../config/worker-schema.js';
import { checkEvents, type CheckInput } from './check-event.js';
import { CommandError, describeSystemError, exitCode, failWithProblems } from './run-action.js';

export interface CheckEventOptions {
  tenant?: string;
  worker?: string;
  ndjson?: boolean;
  timestamp?: number;
  header: Record<string, string>;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

/** An input file, or the command ends with exit code 2 naming it (`missing.json: file not found`). */
async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new CommandError(describeSystemError(error) ?? `${file}: cannot be read`);
  }
}

export async function checkEventCommand(files: string[], options: CheckEventOptions): Promise<void> {
  const problems: ConfigProblem[] = [];
  let tenant: TenantConfig | undefined;
  if (options.tenant !== undefined) {
    const loaded = await loadTenantFile(options.tenant);
    if (loaded.ok) tenant = loaded.value;
    else problems.push(...loaded.problems);
  }
  let worker: WorkerConfig = workerConfigSchema.parse({ kafka: { brokers: ['127.0.0.1:9092'] } });
  if (options.worker !== undefined) {
    const loaded = await loadWorkerFile(options.worker);
    if (loaded.ok) worker = loaded.value;
    else problems.push(...loaded.problems);
  }
  if (problems.length > 0) failWithProblems(problems, exitCode.cannotRun);

  const sources = files.length === 0 ? [{ name: '<stdin>', value: await readStdin() }] : await Promise.all(files.map(async (file) => ({ name: file, value: await readInput(file) })));
  const inputs: CheckInput[] = [];
  for (const source of sources) {
    if (!options.ndjson) {
      inputs.push(source);
      continue;
    }
    // Lines are cut from the bytes as read, so an event is checked with exactly its own bytes.
    let start = 0;
    for (let number = 1; start <= source.value.length; number += 1) {
      const newline = source.value.indexOf(0x0a, start);
      const end = newline < 0 ? source.value.length : newline;
      const line = source.value.subarray(start, end);
      if (line.toString('utf8').trim() !== '') inputs.push({ name: `${source.name}:${number}`, value: line });
      start = end + 1;
    }
  }
  const lines = await checkEvents(inputs, { tenant, worker, timestampMs: options.timestamp ?? Date.now(), headers: options.header });
  // The verdict is known before the first line is written, so a reader that stops early
  // (`| head -1`) still sees the right exit code.
  if (lines.some((line) => 'rejected' in line)) process.exitCode = exitCode.rejected;
  for (const line of lines) process.stdout.write(`${JSON.stringify(line)}\n`);
}
