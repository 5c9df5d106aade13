import type { Format } from '../format.js';
import { block, instantAt } from '../terra-values.js';
import { encodeActivityFile } from './activity-file.js';

export const FIT_CONTENT_TYPE = 'application/vnd.ant.fit';

/**
 * `fit`: an activity record as a FIT activity file (Garmin's FIT SDK encoder), which Garmin
 * Connect, Strava, TrainingPeaks, Golden Cheetah and most sports-science tools open. Activity
 * records only; binary, so never one-per-line.
 */
export const fitFormat: Format = {
  name: 'fit',
  description: 'FIT activity files (Garmin FIT SDK): file_id, device_info, sport, session, laps and per-second records from Terra samples. Activity records only.',
  contentType: FIT_CONTENT_TYPE,
  extension: 'fit',
  lines: null,
  eventTypes: new Set(['activity']),
  accepts(record) {
    if (record.type !== 'activity') return { ok: false, reason: `the fit format writes activity files; a ${record.type} record is not an activity` };
    if (record.item === null) return { ok: false, reason: 'the fit format writes one activity per file; this record is a whole event with several activities (set unit: record)' };
    if (instantAt(block(record.item, 'metadata'), 'start_time') === null) return { ok: false, reason: 'the activity has no readable metadata.start_time' };
    return { ok: true };
  },
  encode(record) {
    const item = record.item;
    const start = instantAt(block(item, 'metadata'), 'start_time');
    if (item === null || start === null) throw new Error('fitFormat.encode called for a record it does not accept');
    const file = encodeActivityFile(item, record.identity, start);
    return { body: Buffer.from(file.buffer, file.byteOffset, file.byteLength), contentType: FIT_CONTENT_TYPE, extension: 'fit' };
  },
};
