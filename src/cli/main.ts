#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { formatProblem, type ConfigProblem } from '../config/config-problem.js';
import { loadTenantFile, loadWorkerFile, loadWorkerWithTenants, validatePaths } from '../config/load-config.js';
import { workerConfigSchema } from '../config/worker-schema.js';
import { createLogger } from '../observability/logger.js';
import { SHUTDOWN_MARGIN_MS, startWorker } from '../worker/worker.js';
import { createTenantsLoader } from '../worker/reload-tenants.js';
import { checkConnections, formatConnectionResult, tenantsOf } from './check-connections.js';
import { checkEvents, type CheckInput } from './check-event.js';
import { runDev } from './dev.js';
import { onReloadSignal } from './reload-signal.js';
import { onShutdownSignal } from './shutdown-signal.js';
import { version } from './version.js';

function printProblems(problems: readonly ConfigProblem[]): void {
  for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
  process.stderr.write(`${problems.length} problem${problems.length === 1 ? '' : 's'} found.\n`);
}

function parseHeader(value: string, previous: Record<string, string>): Record<string, string> {
  const separator = value.indexOf('=');
  if (separator <= 0) throw new InvalidArgumentError('Expected name=value.');
  return { ...previous, [value.slice(0, separator).toLowerCase()]: value.slice(separator + 1) };
}

function parseInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new InvalidArgumentError('Expected a non-negative integer.');
  return parsed;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

const program = new Command()
  .name('terra-fanout')
  .description('Deliver Terra health and fitness events from Kafka to the destinations each tenant chose in YAML.')
  .version(version)
  .showHelpAfterError();

program
  .command('run')
  .description('Run the worker: one lane (consumer group) per tenant destination, until SIGTERM or SIGINT.')
  .requiredOption('-c, --config <worker.yaml>', 'worker config file; tenants are read from its tenants.dir')
  .action(async (options: { config: string }) => {
    const loaded = await loadWorkerWithTenants(options.config);
    if (!loaded.ok) {
      printProblems(loaded.problems);
      process.exit(2);
    }
    const logger = createLogger(loaded.value.worker.log.level);
    logger.info({ version, config: options.config, tenants: loaded.value.tenants.map((tenant) => tenant.tenant) }, 'Starting terra-fanout.');
    const worker = await startWorker(loaded.value, { logger, loadTenants: createTenantsLoader(options.config, loaded.value.worker, logger) });
    onReloadSignal((reason) => worker.reload(reason));
    // worker.stop() resolves by the drain deadline plus SHUTDOWN_MARGIN_MS; the hard deadline is a last resort.
    onShutdownSignal(() => worker.stop(), (message) => logger.info(message), loaded.value.worker.shutdown.drainTimeoutMs + SHUTDOWN_MARGIN_MS + 2_000);
    void worker.fatal.then(async (error) => {
      logger.fatal({ err: error }, 'A lane failed for good; draining the others and exiting so the worker is restarted.');
      await worker.stop().catch(() => undefined);
      process.exit(1);
    });
  });

program
  .command('validate')
  .description('Check worker and tenant YAML files (or directories of them); report every problem with file, line and field path.')
  .argument('<paths...>', 'files or directories')
  .option(
    '--check-connections',
    'then build every destination of the tenant files (and of the worker files\' tenants) and run its start-up check: reachable and writable with the rights sending needs (it may write and remove a probe; with autoCreate, missing tables are created as at start). One line per destination, OK or the error code; exit code 1 when any fails',
  )
  .action(async (paths: string[], options: { checkConnections?: boolean }) => {
    const result = await validatePaths(paths);
    if (result.problems.length > 0) {
      printProblems(result.problems);
      process.exit(1);
    }
    process.stdout.write(`ok: ${result.checked.length} file${result.checked.length === 1 ? '' : 's'} valid\n`);
    if (options.checkConnections !== true) return;
    const { tenants, problems } = await tenantsOf(result.checked);
    if (problems.length > 0) {
      printProblems(problems);
      process.exit(1);
    }
    const results = await checkConnections(tenants, { logger: createLogger('warn', process.stderr) });
    for (const line of results.map(formatConnectionResult)) process.stdout.write(`${line}\n`);
    const failed = results.filter((checked) => !checked.ok).length;
    process.stdout.write(`${results.length - failed} of ${results.length} destination${results.length === 1 ? '' : 's'} reachable and writable.\n`);
    if (failed > 0) process.exitCode = 1;
  });

program
  .command('check-event')
  .description(
    'Decode Terra event JSON exactly as the worker would and print one JSON line per record: type, user_id, identity and where it lands in each destination of the tenant (the Terra-parity object key without a tenant). Reads stdin when no file is given. Exit code 1 when any event is rejected.',
  )
  .argument('[files...]', 'files, each holding one event exactly as a Kafka message value')
  .option('-t, --tenant <tenant.yaml>', 'tenant file whose destinations to show')
  .option('-w, --worker <worker.yaml>', 'worker file for budgets and s3Payload limits (defaults otherwise)')
  .option('--ndjson', 'treat each non-empty line of the input as one event')
  .option('--timestamp <unix-ms>', 'Kafka record timestamp to assume (default: now); user events are keyed by it', parseInteger)
  .option('-H, --header <name=value>', 'a Kafka header of the message, e.g. x-terra-ordering-timestamp=1719820800000 (repeatable)', parseHeader, {})
  .action(async (files: string[], options: { tenant?: string; worker?: string; ndjson?: boolean; timestamp?: number; header: Record<string, string> }) => {
    const problems: ConfigProblem[] = [];
    let tenant;
    if (options.tenant !== undefined) {
      const loaded = await loadTenantFile(options.tenant);
      if (loaded.ok) tenant = loaded.value;
      else problems.push(...loaded.problems);
    }
    let worker = workerConfigSchema.parse({ kafka: { brokers: ['127.0.0.1:9092'] } });
    if (options.worker !== undefined) {
      const loaded = await loadWorkerFile(options.worker);
      if (loaded.ok) worker = loaded.value;
      else problems.push(...loaded.problems);
    }
    if (problems.length > 0) {
      printProblems(problems);
      process.exit(2);
    }
    const sources = files.length === 0 ? [{ name: '<stdin>', value: await readStdin() }] : await Promise.all(files.map(async (file) => ({ name: file, value: await readFile(file) })));
    const inputs: CheckInput[] = [];
    for (const source of sources) {
      if (!options.ndjson) {
        inputs.push(source);
        continue;
      }
      source.value
        .toString('utf8')
        .split('\n')
        .forEach((line, index) => {
          if (line.trim() !== '') inputs.push({ name: `${source.name}:${index + 1}`, value: Buffer.from(line) });
        });
    }
    const lines = await checkEvents(inputs, { tenant, worker, timestampMs: options.timestamp ?? Date.now(), headers: options.header });
    for (const line of lines) process.stdout.write(`${JSON.stringify(line)}\n`);
    if (lines.some((line) => 'rejected' in line)) process.exitCode = 1;
  });

program
  .command('dev')
  .description(
    'Run on the embedded default: a local Kafka-protocol broker (librdkafka mock cluster), the sample tenant in config/tenants writing to the file destination, and sample Terra events fed in.',
  )
  .option('-c, --config <worker.yaml>', 'worker config to start from', 'config/worker.yaml')
  .option('--samples <events.ndjson>', 'Terra events to feed in, one JSON per line', 'config/samples/events.ndjson')
  .option('--http-port <port>', 'port for /metrics, /healthz and /readyz', parseInteger)
  .action(async (options: { config: string; samples: string; httpPort?: number }) => {
    await runDev(options);
  });

function parsePositiveNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('Expected a positive number.');
  return parsed;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The options every dead-letter command takes. */
function withDeadLetterSelection(command: Command): Command {
  return command
    .requiredOption('-c, --config <worker.yaml>', 'worker config file (Kafka connection; the tenant is read from its tenants folder)')
    .requiredOption('-t, --tenant <name>', 'the tenant whose dead-letter topic to read')
    .option('-d, --destination <name>', 'only records parked by this destination')
    .option('--code <code>', 'only records parked with this error code (repeatable)', collect, [])
    .option('--since <iso-time>', 'only records parked at or after this time, e.g. 2026-07-01T00:00:00Z')
    .option('--until <iso-time>', 'only records parked before this time')
    .option('--identity <id>', 'only the record with this identity')
    .option('--user <user-id>', 'only records of this Terra user')
    .option('--limit <n>', 'at most this many records', parseInteger)
    .option('--json', 'one JSON object per line instead of text');
}

const dlq = program.command('dlq').description('Dead letters: see what was parked and why, and send it again to the destination that parked it.');

withDeadLetterSelection(
  dlq
    .command('inspect')
    .description(
      "Read the tenant's dead-letter topic up to its current end (committing nothing) and print one line per parked record: time, destination, code, attempts, source position, identity, type, user; then a summary by code and destination.",
    ),
).action(async (options: import('./dlq.js').DlqSelectionOptions) => {
  const { runDlqInspect } = await import('./dlq.js');
  const { interruptSignal } = await import('./interrupt-signal.js');
  process.exitCode = await runDlqInspect(options, { out: process.stdout, err: process.stderr, signal: interruptSignal() });
});

withDeadLetterSelection(
  dlq
    .command('redrive')
    .description(
      "Deliver the selected dead letters again to the destination that parked each (all of the tenant's destinations, one after another, unless --destination), through its connector with the tenant's current config. Progress is kept in the consumer group <groupPrefix>.<tenant>.redrive.<destination>[.<filter hash>]: stop it (Ctrl-C) or kill it and run the same command to resume. Records that fail again are parked again with their attempts and a redriven count.",
    ),
)
  .option('--dry-run', 'list what would be sent; send, park and commit nothing')
  .option('--rate <records-per-second>', 'send at most this many records per second', parsePositiveNumber)
  .option('--max-attempts <n>', 'attempts per record in this redrive, under the destination\'s retry policy (default 5)', parseInteger)
  .action(async (options: import('./dlq.js').DlqRedriveOptions) => {
    const { runDlqRedrive } = await import('./dlq.js');
    const { interruptSignal } = await import('./interrupt-signal.js');
    const signal = interruptSignal((received) => process.stderr.write(`Received ${received}; stopping after the dead letter in hand.\n`));
    process.exitCode = await runDlqRedrive(options, { out: process.stdout, err: process.stderr, signal });
  });

/** The options of the admin API clients. */
function withAdminClient(command: Command): Command {
  return command
    .requiredOption('-u, --url <url>', "the worker's HTTP address, e.g. http://127.0.0.1:9464")
    .option('--token <token>', 'admin token (default: $TERRA_FANOUT_ADMIN_TOKEN)')
    .option('--operator <name>', 'who you are, for the worker\'s log (default: $USER)')
    .option('--timeout <ms>', 'how long a request may take', parseInteger, 10_000);
}

interface AdminClientFlags {
  url: string;
  token?: string;
  operator?: string;
  timeout: number;
}

function adminClientOf(flags: AdminClientFlags): import('./admin-client.js').AdminClientOptions {
  return { url: flags.url, token: flags.token ?? process.env['TERRA_FANOUT_ADMIN_TOKEN'], operator: flags.operator ?? process.env['USER'], timeoutMs: flags.timeout };
}

withAdminClient(program.command('status').description("Print a running worker's lanes as a table (state, lag, last delivery, last error, delivered, parked), from its admin API."))
  .option('-w, --watch', 'refresh until Ctrl-C')
  .option('--interval <ms>', 'refresh interval with --watch', parseInteger, 2000)
  .option('--json', 'print the lanes as JSON')
  .action(async (flags: AdminClientFlags & { watch?: boolean; interval: number; json?: boolean }) => {
    const { runStatus } = await import('./status.js');
    const { interruptSignal } = await import('./interrupt-signal.js');
    process.exitCode = await runStatus({
      client: adminClientOf(flags),
      watch: flags.watch === true,
      intervalMs: Math.max(250, flags.interval),
      json: flags.json === true,
      out: process.stdout,
      err: process.stderr,
      signal: interruptSignal(),
    });
  });

withAdminClient(program.command('tap').description("Print records as a running worker's lanes deliver, park or filter them (identity, location, outcome), from its admin API."))
  .option('-t, --tenant <name>', 'only this tenant')
  .option('-d, --destination <name>', 'only this destination')
  .option('--type <type>', 'only this Terra event type')
  .option('--user <user-id>', 'only this Terra user')
  .option('--outcome <outcome>', 'only delivered, parked or filtered')
  .option('--bodies', 'include record bodies (health data: mind where the output goes)')
  .option('--limit <n>', 'exit after this many records', parseInteger)
  .option('--json', 'one JSON event per line')
  .action(
    async (flags: AdminClientFlags & { tenant?: string; destination?: string; type?: string; user?: string; outcome?: string; bodies?: boolean; limit?: number; json?: boolean }) => {
      const { runTap } = await import('./tap.js');
      const { interruptSignal } = await import('./interrupt-signal.js');
      process.exitCode = await runTap({
        client: adminClientOf(flags),
        filter: { tenant: flags.tenant, destination: flags.destination, type: flags.type, userId: flags.user, outcome: flags.outcome },
        bodies: flags.bodies === true,
        json: flags.json === true,
        limit: flags.limit ?? null,
        out: process.stdout,
        err: process.stderr,
        signal: interruptSignal(),
      });
    },
  );

await program.parseAsync(process.argv);
