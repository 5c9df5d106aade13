import { randomUUID } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import type { Secret } from '../../src/config/secret.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import { classifyNetworkError, safeUrlLabel } from '../shared/http-errors.js';
import { classifyTokenAnswer } from './errors.js';
import { readJsonBody } from './read-body.js';

/**
 * SMART Backend Services (client credentials with private_key_jwt): a signed JWT assertion
 * (iss = sub = client id, aud = token URL, 5-minute expiry, unique jti) is exchanged at the token
 * endpoint for an access token, cached until shortly before it expires. One exchange at a time.
 */

export interface SmartSettings {
  tokenUrl: string;
  clientId: string;
  privateKey: Secret;
  algorithm: 'RS384' | 'ES384';
  keyId?: string | undefined;
  scope: string;
  timeoutMs: number;
}

/** Renew this long before the token expires, so a request never goes out with a token about to lapse. */
const RENEW_BEFORE_MS = 60_000;
const ASSERTION_LIFETIME_SECONDS = 300;

export interface TokenSource {
  /** A valid access token, exchanging a new assertion when needed. Throws a FanoutError. */
  token(signal: AbortSignal): Promise<string>;
  /** Forget the cached token (the server answered 401 to it). */
  invalidate(): void;
}

export function createSmartTokenSource(settings: SmartSettings, now: () => number = Date.now): TokenSource {
  const target = `SMART token endpoint ${safeUrlLabel(settings.tokenUrl)}`;
  let cached: { token: string; expiresAtMs: number } | undefined;
  let pending: Promise<string> | undefined;

  const exchange = async (signal: AbortSignal): Promise<string> => {
    let key;
    try {
      key = await importPKCS8(settings.privateKey.reveal(), settings.algorithm);
    } catch (error) {
      throw new FanoutError('destination_misconfigured', `auth.privateKey is not a PKCS#8 PEM ${settings.algorithm} private key.`, { cause: error });
    }
    const issuedAt = Math.floor(now() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: settings.algorithm, typ: 'JWT', ...(settings.keyId === undefined ? {} : { kid: settings.keyId }) })
      .setIssuer(settings.clientId)
      .setSubject(settings.clientId)
      .setAudience(settings.tokenUrl)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ASSERTION_LIFETIME_SECONDS)
      .setJti(randomUUID())
      .sign(key);
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: settings.scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    const timeout = AbortSignal.timeout(settings.timeoutMs);
    let response: Response;
    let body: unknown;
    try {
      response = await fetch(settings.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form, signal: AbortSignal.any([signal, timeout]), redirect: 'manual' });
      body = await readJsonBody(response);
    } catch (error) {
      throw classifyNetworkError(error, { target, shutdown: signal.aborted, timedOut: timeout.aborted && !signal.aborted });
    }
    if (response.status < 200 || response.status >= 300) throw classifyTokenAnswer(response.status, response.headers.get('retry-after'), body, target);
    const token = typeof body === 'object' && body !== null && 'access_token' in body && typeof body.access_token === 'string' ? body.access_token : null;
    if (token === null || token === '') throw new FanoutError('destination_auth_failed', `${target} answered ${response.status} without an access_token.`, { detail: { status: response.status } });
    const expiresIn = typeof body === 'object' && body !== null && 'expires_in' in body && typeof body.expires_in === 'number' ? body.expires_in : 300;
    cached = { token, expiresAtMs: now() + Math.max(0, expiresIn * 1000 - RENEW_BEFORE_MS) };
    return token;
  };

  return {
    async token(signal) {
      if (cached !== undefined && now() < cached.expiresAtMs) return cached.token;
      pending ??= exchange(signal).finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
