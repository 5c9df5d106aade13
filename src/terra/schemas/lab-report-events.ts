import { z } from 'zod';
import { idString, instantDateTime, nullableIdString, nullableString, objectArray, objectArrayBlock } from './fields.js';

/**
 * Lab Reports webhook events [OA-S `LabReportCompletedEvent.yaml`, `LabReportFailedEvent.yaml`;
 * spec 1.3]: `{type, event_id, occurred_at, upload_id?, data}`, no `user` and no `version`.
 * `event_id` is stable across redeliveries of one event (Terra: "dedup on it"), so it is the
 * natural key; `occurred_at` (an RFC 3339 UTC instant) is the event's time. `data.session_id` is the
 * report's own id. The results are checked only as an array of objects: the engine does not read
 * them, and dates printed on the report (`report_date`, `collection_date`) are OCR output kept as
 * sent, not timestamps the engine keys on.
 */

const labReportEnvelope = {
  event_id: idString,
  occurred_at: instantDateTime,
  upload_id: nullableString,
};

// LabReportEventData.yaml: session_id, results_count, results required.
const labReportDataSchema = z.looseObject({
  session_id: idString,
  reference_id: nullableIdString,
  report_date: nullableString,
  report_time: nullableString,
  report_locale: nullableString,
  results_count: z.number().int(),
  results: objectArray,
  panels: objectArrayBlock,
  report_notes: nullableString,
});

// LabReportEventError.yaml: code, message, retriable required.
const labReportErrorSchema = z.looseObject({
  code: z.string(),
  message: z.string(),
  retriable: z.boolean(),
});

// LabReportFailureData.yaml: session_id, error required.
const labReportFailureSchema = z.looseObject({
  session_id: idString,
  reference_id: nullableIdString,
  error: labReportErrorSchema,
});

export const labReportCompletedEventSchema = z.looseObject({
  type: z.literal('lab_report.completed'),
  ...labReportEnvelope,
  data: labReportDataSchema,
});

export const labReportFailedEventSchema = z.looseObject({
  type: z.literal('lab_report.failed'),
  ...labReportEnvelope,
  data: labReportFailureSchema,
});

export type LabReportCompletedEvent = z.infer<typeof labReportCompletedEventSchema>;
export type LabReportFailedEvent = z.infer<typeof labReportFailedEventSchema>;
export type LabReportEvent = LabReportCompletedEvent | LabReportFailedEvent;
