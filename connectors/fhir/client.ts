import type { FhirAuth } from './config.js';
import { createSmartTokenSource, type TokenSource } from './smart-token.js';
import { readJsonBody } from './read-body.js';

/** One request to the FHIR server, relative to the base URL (`''` for the base, `metadata`). */
export interface FhirRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer | undefined;
  /** Aborts the request and any token exchange it needs (timeout or shutdown). */
  signal: AbortSignal;
}

/** What the destination reads from an answer: status, Retry-After, and the JSON body (bounded), or null. */
export interface FhirAnswer {
  status: number;
  retryAfter: string | null;
  body: unknown;
}

/** The calls the fhir destination makes. */
export interface FhirPort {
  /**
   * Sends one authorized request. Resolves for every HTTP answer (redirects are not followed);
   * rejects when no answer arrived (network failure, timeout, abort) or the token exchange failed
   * (a FanoutError from the token endpoint). With SMART auth, a 401 drops the cached token and the
   * request is sent once more with a new one.
   */
  request(request: FhirRequest): Promise<FhirAnswer>;
  /** Releases connections. Safe to call more than once. */
  close(): Promise<void>;
}

export interface FhirClientOptions {
  baseUrl: string;
  auth: FhirAuth;
  timeoutMs: number;
  userAgent: string;
}

/** The real port over Node's fetch. The only place the token and the private key are revealed. */
export function createFhirClient(options: FhirClientOptions): FhirPort {
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  const auth = options.auth;
  const tokens: TokenSource | null = auth.type === 'smart' ? createSmartTokenSource({ ...auth, timeoutMs: options.timeoutMs }) : null;

  const authorization = async (signal: AbortSignal): Promise<Record<string, string>> => {
    if (auth.type === 'bearer') return { authorization: `Bearer ${auth.token.reveal()}` };
    if (tokens !== null) return { authorization: `Bearer ${await tokens.token(signal)}` };
    return {};
  };

  const once = async (request: FhirRequest): Promise<FhirAnswer> => {
    const headers: Record<string, string> = {
      accept: 'application/fhir+json',
      'user-agent': options.userAgent,
      ...(request.body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      ...(await authorization(request.signal)),
    };
    const response = await fetch(new URL(request.path, base), { method: request.method, headers, body: request.body, redirect: 'manual', signal: request.signal });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await readJsonBody(response) };
  };

  return {
    async request(request) {
      const answer = await once(request);
      if (answer.status !== 401 || tokens === null) return answer;
      tokens.invalidate();
      return once(request);
    },
    async close() {
      // fetch pools connections globally; nothing is held per destination.
    },
  };
}
