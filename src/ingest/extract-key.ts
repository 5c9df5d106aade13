import { isPlainObject } from '../json/json-value.js';
import { defaultMaxDepth } from '../terra/decode-event.js';
import { SPLIT_FROM_BYTES, decodeLargeEvent } from '../terra/decode-large-event.js';

/** What the gateway reads from a body: enough to key and route it, never a rebuilt payload. */
export interface EventFacts {
  /** The envelope `type`, when the body is a JSON object with a string `type`. */
  type: string | null;
  /** `user.user_id`, or `new_user.user_id` for `user_reauth`; null when there is none (teams, auth_cancelled, healthcheck, unparseable). */
  userId: string | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Facts of an already parsed event (the JSON.parse output), e.g. the one decodeEvent returns. */
export function eventFacts(value: unknown): EventFacts {
  if (!isPlainObject(value)) return { type: null, userId: null };
  const type = typeof value['type'] === 'string' ? value['type'] : null;
  const owner = type === 'user_reauth' ? value['new_user'] : value['user'];
  const userId = isPlainObject(owner) && typeof owner['user_id'] === 'string' && owner['user_id'] !== '' ? owner['user_id'] : null;
  return { type, userId };
}

/**
 * Parses the body only to read its facts. A body that is not UTF-8 JSON has none (it is still
 * produced, unkeyed, for the lanes to park with a reason). A large data event is read in parts
 * (decode-large-event.ts checks the whole body's JSON and keeps the envelope exact), never whole.
 */
export function readEventFacts(body: Buffer): EventFacts {
  const large = body.length >= SPLIT_FROM_BYTES ? decodeLargeEvent(body, { maxDepth: defaultMaxDepth }) : undefined;
  if (large !== undefined) return eventFacts(large.skeleton);
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    return { type: null, userId: null };
  }
  return eventFacts(value);
}

/** The Kafka key: the user id's UTF-8 bytes, so one user's events stay on one partition. */
export function eventKey(facts: EventFacts): Buffer | null {
  return facts.userId === null ? null : Buffer.from(facts.userId, 'utf8');
}
