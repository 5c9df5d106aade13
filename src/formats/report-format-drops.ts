import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { FormatDrop } from './apply-format.js';

/**
 * Counts and logs the records a lane's format filtered (docs/metrics.md, reason="format"). The
 * first drop of each record type is logged at INFO with its reason; later ones at DEBUG, since a
 * fit destination reading every type would otherwise log every sleep and daily record.
 */
export function createFormatDropReport(metrics: Metrics, logger: Logger, labels: { tenant: string; destination: string; connector: string }) {
  const seen = new Set<string>();
  return (drops: readonly FormatDrop[], wholeMessage: boolean): void => {
    if (wholeMessage) metrics.messagesFiltered.inc({ ...labels, reason: 'format' });
    else metrics.recordsFiltered.inc({ ...labels, reason: 'format' }, drops.length);
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
