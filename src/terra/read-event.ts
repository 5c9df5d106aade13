import { FanoutError } from '../errors/catalogue.js';
import type { InboundMessage } from '../kafka/kafka-client.js';
import { TenantDecoder } from '../pipeline/tenant-decoder.js';
import type { DecodedEventKind, DecodeOptions } from './decode-event.js';
import type { S3PayloadOptions } from './resolve-s3-payload.js';
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
 * Message bytes to a Terra event, following an `s3_payload` pointer when there is one, through the
 * same TenantDecoder the lanes use (without its cache). Never throws.
 *
 * The pointer message itself gets every check of decodeEvent (size, signature, schema). The fetched
 * bytes are decoded with `s3Payload.maxBytes` as their size limit, no signature check (Terra signs
 * the delivery, not the stored object) and no further pointer allowed (`s3_payload_nested`).
 */
export async function readTerraEvent(raw: Buffer | null, options: ReadOptions): Promise<ReadResult> {
  const { fetch, ...s3Payload } = options.s3Payload;
  const decoder = new TenantDecoder({
    maxMessageBytes: options.maxMessageBytes,
    maxDepth: options.maxDepth,
    signature: options.signature,
    s3Payload,
    fetch,
    now: () => options.nowMs,
    cacheBytes: 0,
  });
  const headers: Record<string, Buffer[]> = {};
  for (const [name, value] of Object.entries(options.headers)) headers[name] = [Buffer.from(value)];
  const message: InboundMessage = { topic: '', partition: 0, offset: '0', timestampMs: options.sentAtMs, key: null, value: raw, headers, sizeBytes: raw?.length ?? 0 };
  let decoded = decoder.decode(message);
  if (decoded.pointer !== null) decoded = await decoder.resolve(message, decoded);
  if (decoded.error !== null) return { ok: false, error: decoded.error };
  if (decoded.event === null || decoded.kind === null || decoded.body === null) return { ok: false, error: new FanoutError('internal_error', 'A decoded message has no event.') };
  // A large event decoded in parts has its sample arrays emptied: callers get the whole event.
  const event = decoded.partial ? (JSON.parse(decoded.body.toString('utf8')) as TerraEvent) : decoded.event;
  return { ok: true, kind: decoded.kind, event, body: decoded.body, viaPointer: decoded.viaPointer };
}
