import type { Logger } from 'pino';
import { connectorRegistry } from '../../connectors/registry.js';
import { formatProblem, loadWorkerWithTenants, type LoadedDeployment } from '../config/load-config.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import { deadLetterSelectionSchema, filterOf, type DeadLetterSelection } from '../dead-letters/dead-letter-filter.js';
import { defaultRedriveMaxAttempts } from '../dead-letters/dead-letter-operations.js';
import { inspectDeadLetters, type DeadLetterSummary } from '../dead-letters/inspect-dead-letters.js';
import { formatPosition, type ParkedRecord } from '../dead-letters/parked-record.js';
import { redriveDeadLetters, type RedriveOutcome, type RedriveProgress } from '../dead-letters/redrive-dead-letters.js';
import { createKafkaClient, type KafkaClient } from '../kafka/kafka-client.js';
import { createLogger } from '../observability/logger.js';

/**
 * `terra-fanout dlq inspect` and `dlq redrive`: the dead-letter tools, run against a worker file
 * (for the Kafka connection and the tenants folder; the tenant's current file is what a redrive
 * sends with, so a fixed destination config applies).
 */
export interface DlqSelectionOptions {
  config: string;
  tenant: string;
  destination?: string | undefined;
  code?: string[] | undefined;
  since?: string | undefined;
  until?: string | undefined;
  identity?: string | undefined;
  user?: string | undefined;
  limit?: number | undefined;
  json?: boolean | undefined;
}

export interface DlqRedriveOptions extends DlqSelectionOptions {
  dryRun?: boolean | undefined;
  rate?: number | undefined;
  maxAttempts?: number | undefined;
}

export interface CommandIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** Aborts on SIGINT/SIGTERM: the command stops after the dead letter in hand. */
  signal: AbortSignal;
}

/** Exit codes: 0 done, 1 something failed or was parked again, 2 bad config or arguments, 130 interrupted. */
export const exitCodes = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

interface Prepared {
  deployment: LoadedDeployment;
  tenant: TenantConfig;
  selection: DeadLetterSelection;
  kafka: KafkaClient;
  logger: Logger;
}

async function prepare(options: DlqSelectionOptions, io: CommandIo): Promise<Prepared | null> {
  const parsed = deadLetterSelectionSchema.safeParse({
    tenant: options.tenant,
    ...(options.destination === undefined ? {} : { destination: options.destination }),
    ...(options.code === undefined ? {} : { code: options.code }),
    ...(options.since === undefined ? {} : { since: options.since }),
    ...(options.until === undefined ? {} : { until: options.until }),
    ...(options.identity === undefined ? {} : { identity: options.identity }),
    ...(options.user === undefined ? {} : { user_id: options.user }),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) io.err.write(`--${String(issue.path[0] ?? '').replace('user_id', 'user')}: ${issue.message}\n`);
    return null;
  }
  const loaded = await loadWorkerWithTenants(options.config);
  if (!loaded.ok) {
    for (const problem of loaded.problems) io.err.write(`${formatProblem(problem)}\n`);
    io.err.write(`${loaded.problems.length} problem(s) in the config; fix them first (validate shows the same).\n`);
    return null;
  }
  const tenant = loaded.value.tenants.find((candidate) => candidate.tenant === parsed.data.tenant);
  if (tenant === undefined) {
    io.err.write(`No tenant ${parsed.data.tenant} in ${loaded.value.worker.tenants.dir}; tenants: ${loaded.value.tenants.map((candidate) => candidate.tenant).join(', ')}\n`);
    return null;
  }
  const selected = parsed.data.destination;
  if (selected !== undefined && !tenant.destinations.some((destination) => destination.name === selected)) {
    io.err.write(`Note: tenant ${tenant.tenant} has no destination ${selected} in its current config.\n`);
  }
  const logger = createLogger('warn', io.err);
  return { deployment: loaded.value, tenant, selection: parsed.data, kafka: createKafkaClient(loaded.value.worker.kafka, logger), logger };
}

/** One dead letter as a line: time, destination, code, attempts, source position, identity, type, user. */
export function formatParkedLine(record: ParkedRecord): string {
  return [
    record.parkedAt,
    record.destination ?? '-',
    record.code,
    `attempts=${record.attempts}${record.redriven > 0 ? ` redriven=${record.redriven}` : ''}`,
    record.source === null ? '-' : formatPosition(record.source),
    `id=${record.identity ?? '(whole message)'}`,
    record.type ?? '-',
    `user=${record.userId ?? '-'}`,
  ].join('  ');
}

const CODE_HINTS: Readonly<Record<string, string>> = {
  s3_payload_expired:
    "Terra's s3_payload URLs expired before the lane could fetch them; a redrive cannot fetch them either. Ask Terra to resend these users' data for these times (README, Operations).",
};

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record).sort(([, a], [, b]) => b - a);
  return entries.length === 0 ? '-' : entries.map(([name, count]) => `${name} ${count}`).join(', ');
}

export function formatSummary(summary: DeadLetterSummary, topic: string): string {
  const lines = [
    `${summary.selected} dead letter(s) selected of ${summary.scanned} read from ${topic}${summary.firstParkedAt === null ? '' : `, parked ${summary.firstParkedAt} .. ${summary.lastParkedAt ?? ''}`}${summary.complete ? '' : ' (stopped before the end)'}`,
    `  by code:        ${counts(summary.byCode)}`,
    `  by destination: ${counts(summary.byDestination)}`,
  ];
  if (summary.listed < summary.selected) lines.push(`  listed the first ${summary.listed}; raise --limit to see more`);
  for (const code of Object.keys(summary.byCode)) {
    const hint = CODE_HINTS[code];
    if (hint !== undefined) lines.push(`  ${code}: ${hint}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runDlqInspect(options: DlqSelectionOptions, io: CommandIo): Promise<number> {
  const prepared = await prepare(options, io);
  if (prepared === null) return exitCodes.usage;
  const { tenant, selection, kafka, logger, deployment } = prepared;
  try {
    const { summary } = await inspectDeadLetters(
      { tenant: tenant.tenant, deadLetterTopic: tenant.deadLetterTopic, filter: filterOf(selection), limit: selection.limit ?? null },
      {
        kafka,
        groupPrefix: deployment.worker.kafka.groupPrefix,
        sessionTimeoutMs: deployment.worker.kafka.sessionTimeoutMs,
        logger,
        signal: io.signal,
        onRecord: (record) => io.out.write(options.json === true ? `${JSON.stringify(record)}\n` : `${formatParkedLine(record)}\n`),
      },
    );
    io.out.write(options.json === true ? `${JSON.stringify({ summary })}\n` : formatSummary(summary, tenant.deadLetterTopic));
    return io.signal.aborted ? exitCodes.interrupted : exitCodes.ok;
  } catch (error) {
    io.err.write(`dlq inspect: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodes.failed;
  }
}

function outcomeText(outcome: RedriveOutcome): string {
  switch (outcome.kind) {
    case 'delivered':
      return `=> delivered ${outcome.records}`;
    case 'parked_again':
      return `=> parked again (${outcome.code}, ${outcome.records} record(s))`;
    case 'would_redrive':
      return '=> would redrive';
    case 'skipped':
      return `=> skipped (${outcome.reason})`;
  }
}

export function formatRedriveTotals(progress: RedriveProgress): string {
  const skipped = Object.values(progress.skipped).reduce((sum, count) => sum + count, 0);
  const verb = progress.dryRun ? 'would redrive' : 'selected';
  const sent = progress.dryRun ? '' : `, ${progress.delivered} record(s) delivered, ${progress.parkedAgain} parked again, ${skipped} skipped`;
  return `redrive ${progress.tenant}/${progress.destination}: ${progress.selected} dead letter(s) ${verb} of ${progress.scanned} read${sent} (${progress.ended ?? 'running'}; group ${progress.group}; ${(progress.elapsedMs / 1000).toFixed(1)} s)`;
}

export async function runDlqRedrive(options: DlqRedriveOptions, io: CommandIo): Promise<number> {
  const prepared = await prepare(options, io);
  if (prepared === null) return exitCodes.usage;
  const { tenant, selection, kafka, logger, deployment } = prepared;
  const destinations = selection.destination === undefined ? tenant.destinations.map((destination) => destination.name) : [selection.destination];
  let failed = false;
  for (const destination of destinations) {
    if (io.signal.aborted) break;
    try {
      const totals = await redriveDeadLetters(
        {
          tenant,
          destination,
          filter: filterOf(selection),
          limit: selection.limit ?? null,
          dryRun: options.dryRun === true,
          ratePerSecond: options.rate ?? null,
          maxAttempts: options.maxAttempts ?? defaultRedriveMaxAttempts,
        },
        {
          kafka,
          worker: deployment.worker,
          connectors: connectorRegistry,
          logger,
          signal: io.signal,
          progressIntervalMs: 10_000,
          onProgress: (progress) => {
            if (progress.ended === null) io.err.write(`${formatRedriveTotals(progress)}\n`);
          },
          onRecord: (record, outcome) =>
            io.out.write(options.json === true ? `${JSON.stringify({ record, outcome })}\n` : `${formatParkedLine(record)}  ${outcomeText(outcome)}\n`),
        },
      );
      io.out.write(options.json === true ? `${JSON.stringify({ totals })}\n` : `${formatRedriveTotals(totals)}\n`);
      const { duplicate: _duplicates, ...trouble } = totals.skipped;
      if (totals.parkedAgain > 0 || Object.values(trouble).some((count) => count > 0)) failed = true;
    } catch (error) {
      io.err.write(`dlq redrive ${tenant.tenant}/${destination}: ${error instanceof Error ? error.message : String(error)}\n`);
      failed = true;
    }
  }
  if (io.signal.aborted) {
    io.err.write('Stopped. Run the same command again to resume after the last dead letter settled.\n');
    return exitCodes.interrupted;
  }
  return failed ? exitCodes.failed : exitCodes.ok;
}
