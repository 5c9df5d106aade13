import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { KafkaClient } from '../kafka/kafka-client.js';
import { matchesFilter, type DeadLetterFilter } from './dead-letter-filter.js';
import { readParkedRecord, type ParkedRecord } from './parked-record.js';
import { scanDeadLetters } from './scan-dead-letters.js';

/**
 * `dlq inspect`: reads a tenant's dead-letter topic once, from its earliest retained record to the
 * high watermarks seen at start, through a throwaway consumer group that commits nothing, and
 * reports the records the filter selects plus a summary by code and destination.
 */
export interface InspectRequest {
  tenant: string;
  deadLetterTopic: string;
  filter: DeadLetterFilter;
  /** Most records listed (the summary still counts every selected one); null for all. */
  limit: number | null;
}

export interface InspectEnvironment {
  kafka: KafkaClient;
  groupPrefix: string;
  sessionTimeoutMs: number;
  logger: Logger;
  signal?: AbortSignal | undefined;
  /** Called for each listed record as it is read (the CLI prints as it goes). */
  onRecord?: ((record: ParkedRecord) => void) | undefined;
}

export interface DeadLetterSummary {
  /** Dead letters read from the topic. */
  scanned: number;
  /** Of them, selected by the filter. */
  selected: number;
  /** Selected ones listed (at most the limit). */
  listed: number;
  byCode: Record<string, number>;
  byDestination: Record<string, number>;
  /** Earliest and latest parked time among the selected, ISO-8601. */
  firstParkedAt: string | null;
  lastParkedAt: string | null;
  /** False when the pass was stopped before the end of the topic. */
  complete: boolean;
}

export interface InspectResult {
  records: ParkedRecord[];
  summary: DeadLetterSummary;
}

/** The throwaway group of one inspect pass; it never commits, so it leaves no offsets behind. */
export function inspectGroupId(groupPrefix: string, tenant: string): string {
  return `${groupPrefix}.${tenant}.dlq-inspect.${randomUUID().slice(0, 8)}`;
}

export function emptySummary(): DeadLetterSummary {
  return { scanned: 0, selected: 0, listed: 0, byCode: {}, byDestination: {}, firstParkedAt: null, lastParkedAt: null, complete: true };
}

/** Adds one selected record to a summary. */
export function countInSummary(summary: DeadLetterSummary, record: ParkedRecord): void {
  summary.selected += 1;
  summary.byCode[record.code] = (summary.byCode[record.code] ?? 0) + 1;
  const destination = record.destination ?? '(unknown)';
  summary.byDestination[destination] = (summary.byDestination[destination] ?? 0) + 1;
  if (summary.firstParkedAt === null || record.parkedAt < summary.firstParkedAt) summary.firstParkedAt = record.parkedAt;
  if (summary.lastParkedAt === null || record.parkedAt > summary.lastParkedAt) summary.lastParkedAt = record.parkedAt;
}

export async function inspectDeadLetters(request: InspectRequest, environment: InspectEnvironment): Promise<InspectResult> {
  const summary = emptySummary();
  const records: ParkedRecord[] = [];
  const result = await scanDeadLetters(
    {
      kafka: environment.kafka,
      topic: request.deadLetterTopic,
      groupId: inspectGroupId(environment.groupPrefix, request.tenant),
      commit: false,
      logger: environment.logger,
      signal: environment.signal,
      idleTimeoutMs: Math.max(60_000, 2 * environment.sessionTimeoutMs),
    },
    async (message) => {
      summary.scanned += 1;
      const record = readParkedRecord(message);
      if (!matchesFilter(record, request.filter)) return 'continue';
      countInSummary(summary, record);
      if (request.limit === null || records.length < request.limit) {
        records.push(record);
        environment.onRecord?.(record);
      }
      return 'continue';
    },
  );
  summary.listed = records.length;
  summary.complete = result.ended === 'end_of_topic' || result.ended === 'empty_topic';
  return { records, summary };
}
