#!/usr/bin/env node
/**
 * The command line. Each command is one `program.command(...)` block whose action is wrapped in
 * `commandAction` (src/cli/run-action.ts: expected failures print one line and exit 1 or 2, never
 * a stack) and imports what it needs inside the action, so `--version` and `--help` load no
 * connector SDK.
 */
import { availableParallelism } from 'node:os';
import { Command, CommanderError, Help, InvalidArgumentError, Option } from 'commander';
import { commandAction, exitCode, exitCodesHelp, exitOnError, exitQuietlyWhenOutputCloses } from './run-action.js';
import { version } from './version.js';

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

/** Most worker processes `--processes` accepts; more would only add rebalancing, not speed. */
const MAX_PROCESSES = 256;

function parseProcesses(value: string): number {
  if (value.trim().toLowerCase() === 'auto') return availableParallelism();
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1 || parsed > MAX_PROCESSES) throw new InvalidArgumentError(`Expected a whole number from 1 to ${MAX_PROCESSES}, or auto.`);
  return parsed;
}

exitQuietlyWhenOutputCloses();

const program = new Command()
  .name('terra-fanout')
  .description('Deliver Terra health and fitness events from Kafka to the destinations each tenant chose in YAML.')
  .version(version)
  .showHelpAfterError()
  // Usage errors throw instead of exiting 1, so they end with exit code 2 (could not run) below.
  .exitOverride()
  .configureHelp({
    // Every required option says so in --help.
    optionDescription(this: Help, option: Option): string {
      const description = Help.prototype.optionDescription.call(this, option);
      return option.mandatory ? `(required) ${description}` : description;
    },
  })
  .addHelpText('after', `${exitCodesHelp('an event was rejected, a config problem was found, or a destination check failed')}\nEach command's --help says what 1 means for it.`);

program
  .command('run')
  .description('Run the worker: one lane (consumer group) per tenant destination, until SIGTERM or SIGINT.')
  .requiredOption('-c, --config <worker.yaml>', 'worker config file; tenants are read from its tenants.dir')
  .addOption(
    new Option(
      '-p, --processes <n|auto>',
      'worker processes, each running every lane; they share the consumer groups, so Kafka spreads the partitions over them. auto: one per CPU. Metrics and health stay on the one configured port',
    )
      .env('TERRA_FANOUT_PROCESSES')
      .argParser(parseProcesses)
      .default(1),
  )
  .addHelpText('after', exitCodesHelp('the worker stopped after a failure (a lane or a worker process failed for good, or a second signal cut the drain short); restart it', 'drained and stopped on SIGTERM or SIGINT'))
  .action(
    commandAction(async (options: { config: string; processes: number }) => {
      if (options.processes <= 1) {
        // The young generation is sized from the budget and can only be set at start: start again with it.
        const { dieWithLauncher, relaunchWithWorkerFlags } = await import('./v8-heap.js');
        dieWithLauncher();
        const code = await relaunchWithWorkerFlags(options.config);
        if (code !== null) process.exit(code);
      }
      const { runWorkerCommand } = await import('./run-worker.js');
      await runWorkerCommand(options);
    }),
  );

program
  .command('ingest')
  .description(
    'Run the ingest gateway until SIGTERM or SIGINT: Terra POSTs webhooks to /terra/<tenant>; each is verified with the tenant\'s signing secret and produced, as received, to its topic; 2xx only once Kafka acknowledged.',
  )
  .requiredOption('-c, --config <worker.yaml>', 'worker config file: its ingest section, and the tenants (from tenants.dir) with ingest enabled')
  .addHelpText('after', exitCodesHelp('the gateway stopped after a failure, or a second signal cut the drain short', 'drained and stopped on SIGTERM or SIGINT'))
  .action(
    commandAction(async (options: { config: string }) => {
      const { runIngest } = await import('./ingest.js');
      await runIngest(options.config);
    }),
  );

program
  .command('validate')
  .description('Check worker and tenant YAML files (or directories of them); report every problem with file, line and field path.')
  .argument('<paths...>', 'files or directories; a worker file brings its tenants folder along')
  .option(
    '--check-connections',
    'then build every destination of the tenant files (and of the worker files\' tenants) and run its start-up check: reachable and writable with the rights sending needs (it may write and remove a probe; with autoCreate, missing tables are created as at start). One line per destination, OK or the error code',
  )
  .addHelpText(
    'after',
    exitCodesHelp('a problem was found in a file (one that cannot be read included), or a destination check failed', 'every file valid (and every destination reachable)', 'bad arguments, a path that does not exist'),
  )
  .action(
    commandAction(async (paths: string[], options: { checkConnections?: boolean }) => {
      const { validateCommand } = await import('./validate-command.js');
      await validateCommand(paths, options);
    }),
  );

program
  .command('check-event')
  .description(
    'Decode Terra event JSON exactly as the worker would and print one JSON line per record: type, user_id, identity and where it lands in each destination of the tenant (the Terra-parity object key without a tenant). Reads stdin when no file is given.',
  )
  .argument('[files...]', 'files, each holding one event exactly as a Kafka message value')
  .option('-t, --tenant <tenant.yaml>', 'tenant file whose destinations to show')
  .option('-w, --worker <worker.yaml>', 'worker file for budgets and s3Payload limits (defaults otherwise)')
  .option('--ndjson', 'treat each non-empty line of the input as one event')
  .option('--timestamp <unix-ms>', 'Kafka record timestamp to assume (default: now); user events are keyed by it', parseInteger)
  .option('-H, --header <name=value>', 'a Kafka header of the message, e.g. x-terra-ordering-timestamp=1719820800000 (repeatable)', parseHeader, {})
  .addHelpText('after', exitCodesHelp('an event was rejected (its line says the code and the reason)', 'every event accepted (an event with no records, data: [], is accepted)'))
  .action(
    commandAction(async (files: string[], options: { tenant?: string; worker?: string; ndjson?: boolean; timestamp?: number; header: Record<string, string> }) => {
      const { checkEventCommand } = await import('./check-event-command.js');
      await checkEventCommand(files, options);
    }),
  );

program
  .command('dev')
  .description(
    'Run on the embedded default: a local Kafka-protocol broker (librdkafka mock cluster), the sample tenant in config/tenants writing to the file destination, and sample Terra events fed in.',
  )
  .option('-c, --config <worker.yaml>', 'worker config to start from', 'config/worker.yaml')
  .option('--samples <events.ndjson>', 'Terra events to feed in, one JSON per line', 'config/samples/events.ndjson')
  .option('--http-port <port>', 'port for /metrics, /healthz and /readyz', parseInteger)
  .option('--ingest-port <port>', 'port of the ingest gateway (POST /terra/<tenant>); default the worker file\'s ingest.port', parseInteger)
  .addHelpText('after', exitCodesHelp('the worker stopped after a failure', 'stopped on Ctrl-C'))
  .action(
    commandAction(async (options: { config: string; samples: string; httpPort?: number; ingestPort?: number }) => {
      const { runDev } = await import('./dev.js');
      await runDev(options);
    }),
  );

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
)
  .addHelpText('after', exitCodesHelp('the scan failed', 'the dead letters were read to the end seen at start', 'bad arguments or invalid config; 130: interrupted'))
  .action(
    commandAction(async (options: import('./dlq.js').DlqSelectionOptions) => {
      const { runDlqInspect } = await import('./dlq.js');
      const { interruptSignal } = await import('./interrupt-signal.js');
      process.exitCode = await runDlqInspect(options, { out: process.stdout, err: process.stderr, signal: interruptSignal() });
    }),
  );

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
  .addHelpText('after', exitCodesHelp('a record was parked again or skipped, a destination fails its check, or the scan failed', 'every selected dead letter landed (or, with --dry-run, was listed)', 'bad arguments or invalid config; 130: interrupted (run the same command to resume)'))
  .action(
    commandAction(async (options: import('./dlq.js').DlqRedriveOptions) => {
      const { runDlqRedrive } = await import('./dlq.js');
      const { interruptSignal } = await import('./interrupt-signal.js');
      const signal = interruptSignal((received) => process.stderr.write(`Received ${received}; stopping after the dead letter in hand.\n`));
      process.exitCode = await runDlqRedrive(options, { out: process.stdout, err: process.stderr, signal });
    }),
  );

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
  .addHelpText('after', exitCodesHelp('the worker could not be asked (unreachable, a wrong token, admin API off)'))
  .action(
    commandAction(async (flags: AdminClientFlags & { watch?: boolean; interval: number; json?: boolean }) => {
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
    }),
  );

withAdminClient(program.command('tap').description("Print records as a running worker's lanes deliver, park or filter them (identity, location, outcome), from its admin API."))
  .option('-t, --tenant <name>', 'only this tenant')
  .option('-d, --destination <name>', 'only this destination')
  .option('--type <type>', 'only this Terra event type')
  .option('--user <user-id>', 'only this Terra user')
  .option('--outcome <outcome>', 'only delivered, parked or filtered')
  .option('--bodies', 'include record bodies (health data: mind where the output goes)')
  .option('--limit <n>', 'exit after this many records', parseInteger)
  .option('--json', 'one JSON event per line')
  .addHelpText('after', exitCodesHelp('the stream could not be opened or was lost', 'stopped at --limit, on Ctrl-C, or when the worker ended the stream'))
  .action(
    commandAction(async (flags: AdminClientFlags & { tenant?: string; destination?: string; type?: string; user?: string; outcome?: string; bodies?: boolean; limit?: number; json?: boolean }) => {
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
    }),
  );

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its message (and the help after a usage error).
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? exitCode.ok : exitCode.cannotRun);
  exitOnError(error);
}
