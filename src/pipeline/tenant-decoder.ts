import { FanoutError, toFanoutError } from '../errors/catalogue.js';
import type { InboundMessage, RawHeaders } from '../kafka/kafka-client.js';
import type { DeliveryUnit, SourcePosition, TerraRecord } from '../records/record.js';
import { decodeEvent, type DecodedEventKind } from '../terra/decode-event.js';
import { SPLIT_FROM_BYTES } from '../terra/decode-large-event.js';
import { explodeEvent } from '../terra/explode-event.js';
import { resolveS3Payload, type S3PayloadOptions } from '../terra/resolve-s3-payload.js';
import type { TerraEvent } from '../terra/schemas/event-schema.js';
import type { S3PayloadPointer } from '../terra/schemas/s3-payload.js';

/** Everything that decides how a tenant's message bytes become an event: the same for all its lanes. */
export interface DecoderSettings {
  maxMessageBytes: number;
  maxDepth?: number | undefined;
  signature?: { secret: string; required: boolean; toleranceSeconds: number } | undefined;
  s3Payload: Omit<S3PayloadOptions, 'nowMs' | 'sentAtMs' | 'fetch'>;
  fetch?: typeof fetch | undefined;
  now?: () => number;
  /**
   * Estimated bytes of decoded messages kept so the tenant's other lanes need not decode them again;
   * 0 turns the cache off. A message whose estimate exceeds it is never cached.
   */
  cacheBytes: number;
}

/** From this size on a Terra event is mostly sample arrays: many small objects, each with its own timestamp string. */
const SAMPLE_HEAVY_BYTES = 1024 * 1024;

/**
 * Bytes a decoded message holds besides its raw value: the parsed JSON and the record objects.
 * Measured: 1.05-1.35x the raw bytes for ordinary Terra events (bench "decoded size"), 2.2x for
 * events made of samples (a 30 MB heart-rate series: 65 MiB of live heap once parsed), so large
 * messages count at 2.25x, which lets fewer of them into a lane at once.
 */
export function estimateDecodedBytes(valueBytes: number): number {
  return Math.ceil(valueBytes * (valueBytes >= SAMPLE_HEAVY_BYTES ? 2.25 : 1.5)) + 512;
}

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});

/** Large events are decoded in parts (decode-large-event.ts); one object, not one per message. */
const SPLIT = Object.freeze({ fromBytes: SPLIT_FROM_BYTES });

/** Kafka headers as the decoder sees them: lower-case names, first value, UTF-8. */
export function headersToStrings(headers: RawHeaders): Readonly<Record<string, string>> {
  let result: Record<string, string> | undefined;
  for (const name in headers) {
    const first = headers[name]?.[0];
    if (first === undefined) continue;
    result ??= {};
    result[name.toLowerCase()] = first.toString('utf8');
  }
  return result ?? noHeaders;
}

/**
 * One Kafka message decoded for a tenant: an event (with its records cut per delivery unit on first
 * use), an `s3_payload` pointer still to fetch, or a refusal. Shared by the tenant's lanes through
 * the decode cache, so it is never changed after it is built (the memoized records are themselves
 * immutable).
 */
export class DecodedMessage {
  /** The envelope's `type` when it could be read (also for most refusals), else null. */
  readonly type: string | null;
  readonly error: FanoutError | null;
  readonly pointer: S3PayloadPointer | null;
  readonly event: TerraEvent | null;
  readonly kind: DecodedEventKind | null;
  /** The event's bytes: the message value, or the fetched bytes when it came through a pointer. */
  readonly body: Buffer | null;
  readonly viaPointer: boolean;
  /** The event's large sample arrays were validated from the bytes and are empty in `event` (decode-event.ts). */
  readonly partial: boolean;
  readonly source: SourcePosition;
  /** Estimated bytes this decode holds besides the message value (0 for refusals). */
  readonly decodedBytes: number;
  #byRecord: TerraRecord[] | FanoutError | undefined;
  #byEvent: TerraRecord[] | FanoutError | undefined;

  private constructor(fields: {
    type: string | null;
    error?: FanoutError;
    pointer?: S3PayloadPointer;
    event?: TerraEvent;
    kind?: DecodedEventKind;
    body?: Buffer;
    viaPointer?: boolean;
    partial?: boolean;
    source: SourcePosition;
    decodedBytes: number;
  }) {
    this.type = fields.type;
    this.error = fields.error ?? null;
    this.pointer = fields.pointer ?? null;
    this.event = fields.event ?? null;
    this.kind = fields.kind ?? null;
    this.body = fields.body ?? null;
    this.viaPointer = fields.viaPointer ?? false;
    this.partial = fields.partial ?? false;
    this.source = fields.source;
    this.decodedBytes = fields.decodedBytes;
  }

  static refused(type: string | null, error: FanoutError, source: SourcePosition): DecodedMessage {
    return new DecodedMessage({ type, error, source, decodedBytes: 0 });
  }

  static pointerTo(pointer: S3PayloadPointer, source: SourcePosition): DecodedMessage {
    return new DecodedMessage({ type: 's3_payload', pointer, source, decodedBytes: 512 });
  }

  static decoded(event: TerraEvent, kind: DecodedEventKind, body: Buffer, source: SourcePosition, viaPointer: boolean, partial = false): DecodedMessage {
    return new DecodedMessage({ type: event.type, event, kind, body, viaPointer, partial, source, decodedBytes: estimateDecodedBytes(body.length) + (viaPointer ? body.length : 0) });
  }

  /**
   * The records of the event for a delivery unit, cut once and shared. A FanoutError when the event
   * cannot be cut (a programming error: the explode contract says it never fails on a valid event).
   */
  records(unit: DeliveryUnit): TerraRecord[] | FanoutError {
    if (unit === 'record') return (this.#byRecord ??= this.#explode(unit));
    return (this.#byEvent ??= this.#explode(unit));
  }

  #explode(unit: DeliveryUnit): TerraRecord[] | FanoutError {
    if (this.event === null || this.kind === null || this.body === null) return new FanoutError('internal_error', 'records() called on a message that is not a decoded event.');
    try {
      return explodeEvent(this.event, this.kind, this.body, this.source, unit, this.partial);
    } catch (error) {
      return toFanoutError(error);
    }
  }
}

interface CacheEntry {
  /** null once dropped: a dropped entry may wait in the eviction order a while, holding nothing. */
  decoded: DecodedMessage | null;
  timestampMs: number;
  valueLength: number;
  bytes: number;
  /** Lanes still expected to ask for it; at 0 it is dropped. */
  waiting: number;
  /** The partition's entries, and this entry's offset in them. */
  offsets: Map<number, CacheEntry>;
  offset: number;
}

const keyOf = (message: InboundMessage): string => `${message.topic}\u0000${message.partition}\u0000${message.offset}`;

/**
 * Decodes a tenant's messages once for all its lanes. Lanes that read the same topics move
 * together most of the time, so the first lane to reach an offset decodes it (and fetches its
 * `s3_payload`) and the others find it here; a lane that lags behind the cache's byte budget misses
 * and decodes on its own. Each lane still filters, batches, retries, parks and commits on its own:
 * the cache shares only the pure step from bytes to records.
 *
 * An entry is dropped as soon as every other lane has taken it: what the cache holds is only the
 * distance between its fastest and slowest lanes, so little of it lives long enough to be copied
 * into V8's old generation (a cache that held a full budget of decoded messages cost more in
 * collections than the decoding it saved). The byte budget bounds what a lagging lane leaves
 * behind; eviction is oldest first.
 *
 * An entry is keyed by topic, partition and offset and checked against the message's timestamp
 * and size, so a recreated topic never returns another message's decode.
 */
export class TenantDecoder {
  readonly #settings: DecoderSettings;
  readonly #now: () => number;
  /** topic -> partition -> offset -> entry. */
  readonly #topics = new Map<string, Map<number, Map<number, CacheEntry>>>();
  /** Entries in insertion order (with `#head` as the start of what may still be live); dropped ones are skipped. */
  #order: CacheEntry[] = [];
  #head = 0;
  readonly #fetches = new Map<string, Promise<DecodedMessage>>();
  #bytes = 0;
  /** Entries not dropped. */
  #live = 0;
  /** Lanes reading through this decoder; with one, nobody could hit the cache, so nothing is kept. */
  #readers = 2;
  hits = 0;
  misses = 0;

  constructor(settings: DecoderSettings) {
    this.#settings = settings;
    this.#now = settings.now ?? Date.now;
  }

  get cachedBytes(): number {
    return this.#bytes;
  }

  /**
   * How many lanes decode through this decoder. With one, entries would only be costs: kept objects
   * survive young-generation collections and get copied into the old one (measured: ~10 µs per
   * message), so the cache keeps nothing.
   */
  setReaders(count: number): void {
    this.#readers = count;
    if (count <= 1) this.#clear();
  }

  #clear(): void {
    this.#topics.clear();
    this.#order = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#live = 0;
  }

  #offsetsOf(message: InboundMessage): Map<number, CacheEntry> {
    let partitions = this.#topics.get(message.topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.#topics.set(message.topic, partitions);
    }
    let offsets = partitions.get(message.partition);
    if (offsets === undefined) {
      offsets = new Map();
      partitions.set(message.partition, offsets);
    }
    return offsets;
  }

  #drop(entry: CacheEntry): void {
    if (entry.decoded === null) return;
    entry.decoded = null;
    if (entry.offsets.get(entry.offset) === entry) entry.offsets.delete(entry.offset);
    this.#bytes -= entry.bytes;
    this.#live -= 1;
  }

  /** Synchronous: the cached decode, or a fresh one (then cached). A pointer comes back unresolved. */
  decode(message: InboundMessage): DecodedMessage {
    if (this.#settings.cacheBytes <= 0 || this.#readers <= 1) return this.#decodeNow(message);
    // Kafka offsets stay far below 2^53, so a number keys them exactly (one that does not is never cached).
    const offset = Number(message.offset);
    if (!Number.isSafeInteger(offset)) return this.#decodeNow(message);
    const offsets = this.#offsetsOf(message);
    const entry = offsets.get(offset);
    const cached = entry?.decoded;
    if (entry !== undefined && cached !== null && cached !== undefined && entry.timestampMs === message.timestampMs && entry.valueLength === (message.value?.length ?? -1)) {
      this.hits += 1;
      entry.waiting -= 1;
      if (entry.waiting <= 0) this.#drop(entry);
      return cached;
    }
    this.misses += 1;
    const decoded = this.#decodeNow(message);
    this.#remember(offsets, offset, message, decoded);
    return decoded;
  }

  /**
   * Fetches the event behind a pointer (one fetch at a time per message for all lanes). A retryable
   * failure (`s3_payload_unavailable`) is returned, never cached, so each lane retries on its own
   * schedule; any other outcome is cached like a decode.
   */
  resolve(message: InboundMessage, pointerMessage: DecodedMessage): Promise<DecodedMessage> {
    const key = keyOf(message);
    const running = this.#fetches.get(key);
    if (running !== undefined) return running;
    const fetching = this.#fetch(pointerMessage).then((resolved) => {
      this.#fetches.delete(key);
      const offset = Number(message.offset);
      if (this.#readers > 1 && Number.isSafeInteger(offset) && (resolved.error === null || !resolved.error.retryable)) this.#remember(this.#offsetsOf(message), offset, message, resolved);
      return resolved;
    });
    this.#fetches.set(key, fetching);
    return fetching;
  }

  #decodeNow(message: InboundMessage): DecodedMessage {
    const source: SourcePosition = { topic: message.topic, partition: message.partition, offset: message.offset, timestampMs: message.timestampMs, headers: headersToStrings(message.headers) };
    const settings = this.#settings;
    const decoded = decodeEvent(message.value, {
      maxMessageBytes: settings.maxMessageBytes,
      ...(settings.maxDepth === undefined ? {} : { maxDepth: settings.maxDepth }),
      headers: source.headers,
      ...(settings.signature === undefined ? {} : { signature: settings.signature }),
      // The signature's `t` is checked against when the message was stored (its Kafka timestamp, set
      // by the ingest gateway or webhook receiver that accepted it within Terra's tolerance), not
      // against now: a lane that lags longer than toleranceSeconds must not park its backlog.
      nowMs: Number.isFinite(message.timestampMs) && message.timestampMs > 0 ? message.timestampMs : this.#now(),
      split: SPLIT,
    });
    if (!decoded.ok) return DecodedMessage.refused(decoded.type, decoded.error, source);
    if (decoded.kind === 'pointer') return DecodedMessage.pointerTo(decoded.pointer, source);
    return DecodedMessage.decoded(decoded.event, decoded.kind, decoded.body, source, false, decoded.partial === true);
  }

  async #fetch(pointerMessage: DecodedMessage): Promise<DecodedMessage> {
    const { pointer, source } = pointerMessage;
    if (pointer === null) return pointerMessage;
    const settings = this.#settings;
    const nowMs = this.#now();
    let fetched: Buffer;
    try {
      fetched = await resolveS3Payload(pointer, { ...settings.s3Payload, ...(settings.fetch === undefined ? {} : { fetch: settings.fetch }), nowMs, sentAtMs: source.timestampMs });
    } catch (error) {
      return DecodedMessage.refused('s3_payload', toFanoutError(error), source);
    }
    const inner = decodeEvent(fetched, {
      maxMessageBytes: settings.s3Payload.maxBytes,
      ...(settings.maxDepth === undefined ? {} : { maxDepth: settings.maxDepth }),
      headers: source.headers,
      nowMs,
      allowPointer: false,
      split: SPLIT,
    });
    if (!inner.ok) {
      const { code, message, detail } = inner.error;
      return DecodedMessage.refused(inner.type, new FanoutError(code, `The fetched s3_payload body was refused: ${message}`, { detail: { ...detail, viaPointer: true }, cause: inner.error }), source);
    }
    if (inner.kind === 'pointer') return DecodedMessage.refused('s3_payload', new FanoutError('s3_payload_nested', 'The s3_payload body is itself an s3_payload pointer.'), source);
    return DecodedMessage.decoded(inner.event, inner.kind, inner.body, source, true, inner.partial === true);
  }

  #remember(offsets: Map<number, CacheEntry>, offset: number, message: InboundMessage, decoded: DecodedMessage): void {
    const bytes = (message.value?.length ?? 0) + decoded.decodedBytes;
    const limit = this.#settings.cacheBytes;
    const previous = offsets.get(offset);
    if (previous !== undefined) this.#drop(previous);
    if (bytes > limit) return;
    const entry: CacheEntry = { decoded, timestampMs: message.timestampMs, valueLength: message.value?.length ?? -1, bytes, waiting: this.#readers - 1, offsets, offset };
    offsets.set(offset, entry);
    this.#order.push(entry);
    this.#bytes += bytes;
    this.#live += 1;
    while (this.#bytes > limit && this.#head < this.#order.length) {
      const oldest = this.#order[this.#head] as CacheEntry;
      this.#head += 1;
      this.#drop(oldest);
    }
    // Dropped entries keep their slot until the order is compacted: once they outnumber the live
    // ones by 1,024. So the order stays bounded even while a live entry no lane will ask for again
    // (one lane skipped its offset) sits at its head.
    if (this.#order.length - this.#live > this.#live + 1024) {
      this.#order = this.#order.filter((kept) => kept.decoded !== null);
      this.#head = 0;
    }
  }
}
