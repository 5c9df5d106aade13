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

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its message (and the help after a usage error).
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? exitCode.ok : exitCode.cannotRun);
  exitOnError(error);
}
