import { FanoutError, toFanoutError } from '../errors/catalogue.js';
import { decodeEvent, type DecodedEventKind, type DecodeOptions } from './decode-event.js';
import { resolveS3Payload, type S3PayloadOptions } from './resolve-s3-payload.js';
import type { TerraEvent } from './schemas/event-schema.js';

export interface ReadOptions extends DecodeOptions {
  s3Payload: Omit<S3PayloadOptions, 'nowMs' | 'sentAtMs'>;
  /** When the message was produced (the Kafka timestamp): an s3_payload's `expires_in` counts from it. */
  sentAtMs: number;
}

export type ReadResult =
  | {
      ok: true;
      kind: DecodedEventKind;
      event: TerraEvent;
      /** The event's bytes: the message value, or the fetched bytes when it came through a pointer. */
      body: Buffer;
      /** True when the message was an s3_payload pointer and the event was fetched from its URL. */
      viaPointer: boolean;
    }
  | { ok: false; error: FanoutError };

/**
 * Message bytes to a Terra event, following an `s3_payload` pointer when there is one. The worker and
 * the `check-event` command both call this, so they agree on every verdict.
 *
 * The pointer message itself gets every check of decodeEvent (size, signature, schema). The fetched
 * bytes are decoded with `s3Payload.maxBytes` as their size limit, no signature check (Terra signs
 * the delivery, not the stored object) and no further pointer allowed (`s3_payload_nested`).
 * Never throws: every failure is a FanoutError in the result.
 */
export async function readTerraEvent(raw: Buffer | null, options: ReadOptions): Promise<ReadResult> {
  const decoded = decodeEvent(raw, options);
  if (!decoded.ok) return decoded;
  if (decoded.kind !== 'pointer') return { ...decoded, viaPointer: false };

  let fetched: Buffer;
  try {
    fetched = await resolveS3Payload(decoded.pointer, { ...options.s3Payload, nowMs: options.nowMs, sentAtMs: options.sentAtMs });
  } catch (error) {
    return { ok: false, error: toFanoutError(error) };
  }
  const inner = decodeEvent(fetched, {
    maxMessageBytes: options.s3Payload.maxBytes,
    ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }),
    headers: options.headers,
    nowMs: options.nowMs,
    allowPointer: false,
  });
  if (!inner.ok) {
    const { code, message, detail } = inner.error;
    return { ok: false, error: new FanoutError(code, `The fetched s3_payload body was refused: ${message}`, { detail: { ...detail, viaPointer: true }, cause: inner.error }) };
  }
  if (inner.kind === 'pointer') {
    return { ok: false, error: new FanoutError('s3_payload_nested', 'The s3_payload body is itself an s3_payload pointer.') };
  }
  return { ...inner, viaPointer: true };
}
