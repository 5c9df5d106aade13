import type { Logger } from 'pino';
import type { LaneReader } from '../lane/lane.js';
import type { Metrics } from '../observability/metrics.js';
import type { Selection } from '../pipeline/read-message.js';
import type { FormatDrop } from './apply-format.js';

export type FormatDropReport = (drops: readonly FormatDrop[], wholeMessage: boolean) => void;

/**
 * Counts and logs the records a lane's format filtered (docs/metrics.md, reason="format"). A
 * message that gave nothing is counted by the lane itself (a `filtered` selection with reason
 * `format`, terra_fanout_messages_filtered_total); records dropped from a message that still gave
 * others are counted here (terra_fanout_records_filtered_total). The first drop of each record
 * type is logged at INFO with its reason, later ones at DEBUG: a fit destination reading every
 * type would otherwise log every sleep and daily record.
 */
export function createFormatDropReport(metrics: Metrics, logger: Logger, labels: { tenant: string; destination: string; connector: string }): FormatDropReport {
  const seen = new Set<string>();
  return (drops, wholeMessage) => {
    if (!wholeMessage) metrics.recordsFiltered.inc({ ...labels, reason: 'format' }, drops.length);
    for (const { record, reason } of drops) {
      const context = { ...labels, type: record.type, identity: record.identity, reason };
      if (seen.has(record.type)) {
        logger.debug(context, 'The destination format cannot express this record; it is filtered.');
        continue;
      }
      if (seen.size < 1000) seen.add(record.type);
      logger.info(context, `The destination format cannot express ${record.type} records; they are filtered and counted in terra_fanout_records_filtered_total{reason="format"} (logged once per type).`);
    }
  };
}

/** A lane reader that hands the format's drops of every selection to `report`. */
export function reportFormatDrops(reader: LaneReader, report: FormatDropReport): LaneReader {
  const inspect = (selection: Selection): Selection => {
    if ((selection.kind === 'records' || selection.kind === 'filtered') && selection.formatDrops !== undefined && selection.formatDrops.length > 0) {
      report(selection.formatDrops, selection.kind === 'filtered');
    }
    return selection;
  };
  return { select: (message) => inspect(reader.select(message)), resolve: async (message) => inspect(await reader.resolve(message)) };
}
