import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey } from 'jose';
import { pino } from 'pino';
import { createFhirClient } from '../../../connectors/fhir/client.js';
import { fhirConfigSchema, type FhirConfig } from '../../../connectors/fhir/config.js';
import { createFhirDestination } from '../../../connectors/fhir/destination.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { startMedplumFhirServer, type MedplumServer } from '../../support/medplum-fhir-server.js';

/**
 * SMART Backend Services against a token endpoint that checks the assertion as the spec asks
 * (signature with the registered public key, iss = sub = client id, aud = token URL, exp, jti,
 * grant and assertion types), issuing tokens the Medplum-backed FHIR server accepts.
 */

const CLIENT_ID = 'terra-fanout-test-client';

interface TokenEndpoint {
  url: string;
  exchanges: { ok: boolean; jti: string | undefined; scope: string | null }[];
  issued: string | undefined;
  close(): Promise<void>;
}

async function startTokenEndpoint(publicKey: CryptoKey, algorithm: 'RS384' | 'ES384'): Promise<TokenEndpoint> {
  const endpoint: TokenEndpoint = { url: '', exchanges: [], issued: undefined, close: async () => undefined };
  let counter = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const refuse = (status: number, error: string): void => {
        endpoint.exchanges.push({ ok: false, jti: undefined, scope: form.get('scope') });
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error, error_description: `assertion rejected for "${CLIENT_ID}"` }));
      };
      if (form.get('grant_type') !== 'client_credentials' || form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return refuse(400, 'invalid_request');
      jwtVerify(form.get('client_assertion') ?? '', publicKey, { issuer: CLIENT_ID, subject: CLIENT_ID, audience: endpoint.url, algorithms: [algorithm], maxTokenAge: '5m' })
        .then(({ payload, protectedHeader }) => {
          if (typeof payload.jti !== 'string' || typeof payload.exp !== 'number' || protectedHeader.kid !== 'test-key') return refuse(401, 'invalid_client');
          counter += 1;
          endpoint.issued = `issued-token-${counter}`;
          endpoint.exchanges.push({ ok: true, jti: payload.jti, scope: form.get('scope') });
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ access_token: endpoint.issued, token_type: 'bearer', expires_in: 3600, scope: form.get('scope') }));
        })
        .catch(() => refuse(401, 'invalid_client'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
  endpoint.close = () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error === undefined ? resolve() : reject(error)));
    });
  return endpoint;
}

function destinationFor(config: FhirConfig) {
  return createFhirDestination(config, createFhirClient({ baseUrl: config.baseUrl, auth: config.auth, timeoutMs: config.timeoutMs, userAgent: 'terra-fanout-test' }), { tenant: 'acme', destination: 'ehr', logger: pino({ level: 'silent' }) });
}

for (const algorithm of ['RS384', 'ES384'] as const) {
  describe(`fhir destination with SMART backend-services auth (${algorithm})`, () => {
    let tokens: TokenEndpoint;
    let server: MedplumServer;
    let privateKeyPem: string;
    let otherKeyPem: string;
    before(async () => {
      const pair = await generateKeyPair(algorithm, { extractable: true });
      privateKeyPem = await exportPKCS8(pair.privateKey);
      otherKeyPem = await exportPKCS8((await generateKeyPair(algorithm, { extractable: true })).privateKey);
      tokens = await startTokenEndpoint(pair.publicKey, algorithm);
      server = await startMedplumFhirServer({ token: () => tokens.issued ?? 'no-token-issued-yet' });
    });
    after(async () => {
      await server.close();
      await tokens.close();
    });

    const config = (privateKey: string): FhirConfig =>
      fhirConfigSchema.parse({ baseUrl: server.baseUrl, auth: { type: 'smart', tokenUrl: tokens.url, clientId: CLIENT_ID, privateKey, algorithm, keyId: 'test-key' }, timeoutMs: 10_000 });

    it('exchanges a signed assertion for a token, sends with it, and reuses it until it expires', async () => {
      const destination = destinationFor(config(privateKeyPem));
      await destination.check();
      await destination.check();
      const good = tokens.exchanges.filter((exchange) => exchange.ok);
      assert.equal(good.length, 1, 'one exchange for two checks: the token is cached');
      assert.match(good[0]?.scope ?? '', /system\/Observation\.write/);
      const fhirCalls = server.requests.filter((request) => request.authorization !== undefined);
      assert.ok(fhirCalls.length >= 4 && fhirCalls.every((request) => request.authorization === `Bearer ${tokens.issued ?? ''}` && request.status < 300));
    });

    it('gets a new token when the server answers 401 to the cached one', async () => {
      const destination = destinationFor(config(privateKeyPem));
      await destination.check();
      const before = tokens.exchanges.filter((exchange) => exchange.ok).length;
      tokens.issued = 'revoked-by-the-server';
      await destination.check();
      assert.equal(tokens.exchanges.filter((exchange) => exchange.ok).length, before + 1);
    });

    it('an assertion signed with an unregistered key is destination_auth_failed, without the OAuth description', async () => {
      await assert.rejects(destinationFor(config(otherKeyPem)).check(), (error: unknown) => {
        assert.ok(error instanceof FanoutError);
        assert.equal(error.code, 'destination_auth_failed');
        assert.match(error.message, /token endpoint .* answered 401.*invalid_client/);
        assert.ok(!error.message.includes('assertion rejected'), 'the error_description is not copied');
        return true;
      });
    });

    it('a private key that is not PKCS#8 PEM is destination_misconfigured and never shown', async () => {
      await assert.rejects(destinationFor(config('not-a-key-at-all')).check(), (error: unknown) => {
        assert.ok(error instanceof FanoutError);
        assert.equal(error.code, 'destination_misconfigured');
        assert.ok(!error.message.includes('not-a-key-at-all'));
        return true;
      });
    });
  });
}
