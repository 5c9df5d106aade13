import { z } from 'zod';
import { nullableString } from './fields.js';

/**
 * Terra's pointer form [OA-S `S3PayloadEvent.yaml`; D-Q]: the real event is at `url`, a presigned
 * URL valid for `expires_in` seconds from when the pointer was sent. Some doc versions add
 * `payload_reference`, `user_id` or `reference_id`; they pass through untouched.
 */
export const s3PayloadEventSchema = z.looseObject({
  type: z.literal('s3_payload'),
  status: z.string(),
  url: z.string().min(1),
  expires_in: z.number().int(),
  payload_reference: nullableString,
  user_id: nullableString,
  reference_id: nullableString,
});

export type S3PayloadPointer = z.infer<typeof s3PayloadEventSchema>;
