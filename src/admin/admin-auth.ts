import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Secret } from '../config/secret.js';

/**
 * Whether a request carries the admin token (`Authorization: Bearer <token>`). Both sides are
 * hashed first, so the comparison takes the same time whatever the given token's length or
 * content (timingSafeEqual needs equal lengths).
 */
export function hasAdminToken(request: IncomingMessage, token: Secret): boolean {
  const header = request.headers.authorization;
  if (header === undefined) return false;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  const given = match?.[1] ?? '';
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  const equal = timingSafeEqual(digest(given), digest(token.reveal()));
  return equal && given !== '';
}

/**
 * Who asked, for the logs: the `X-Operator` header (printable ASCII, cut at 100 characters), or
 * null when the request does not say.
 */
export function operatorOf(request: IncomingMessage): string | null {
  const header = request.headers['x-operator'];
  const value = (Array.isArray(header) ? header[0] : header)?.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 100);
  return value === undefined || value === '' ? null : value;
}
