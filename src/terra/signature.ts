import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Terra's webhook signature: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * Source: reference/terra-delivery-spec.md section 2 (docs, llms.txt and the terra-api SDK's utils.ts).
 */

export function computeTerraSignature(body: Buffer | string, secret: string, unixSeconds: number): string {
  const t = String(Math.floor(unixSeconds));
  return `t=${t},v1=${signedDigest(body, secret, t).toString('hex')}`;
}

function signedDigest(body: Buffer | string, secret: string, timestamp: string): Buffer {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestamp}.`, 'utf8');
  hmac.update(body);
  return hmac.digest();
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Verifies a `terra-signature` header value against the raw body, as Terra's SDK does:
 * every `v1` is compared in constant time, other schemes are ignored, and `t` must be within
 * `toleranceSeconds` of `nowSeconds` in either direction.
 */
export function verifyTerraSignature(
  body: Buffer | string,
  header: string,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): SignatureCheck {
  let timestamp: string | undefined;
  const candidates: string[] = [];
  for (const element of header.split(',')) {
    const separator = element.indexOf('=');
    if (separator < 0) continue;
    const prefix = element.slice(0, separator).trim();
    const value = element.slice(separator + 1).trim();
    if (prefix === 't') timestamp = value;
    else if (prefix === 'v1') candidates.push(value);
  }
  if (timestamp === undefined || !/^\d+$/.test(timestamp)) return { ok: false, reason: 'no t= timestamp in the signature header' };
  if (candidates.length === 0) return { ok: false, reason: 'no v1= signature in the signature header' };
  const t = Number(timestamp);
  if (nowSeconds - t > toleranceSeconds) return { ok: false, reason: 'signature timestamp is too old' };
  if (t - nowSeconds > toleranceSeconds) return { ok: false, reason: 'signature timestamp is too far in the future' };
  const expected = signedDigest(body, secret, timestamp);
  for (const candidate of candidates) {
    const given = Buffer.from(candidate, 'hex');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true };
  }
  return { ok: false, reason: 'no v1 signature matches the body' };
}
