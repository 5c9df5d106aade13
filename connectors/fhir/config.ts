import { z } from 'zod';
import { secretString } from '../../src/config/secret-schema.js';
import { strictObject } from '../../src/config/strict-object.js';
import { httpUrlWithoutCredentials } from '../shared/http-url.js';

/** The scopes a SMART backend-services client asks for by default: write what the mapping sends. */
export const DEFAULT_SMART_SCOPE = 'system/Patient.write system/Device.write system/Observation.write system/Basic.write';

const bearerAuthSchema = strictObject({
  type: z.literal('bearer').meta({ description: 'A static bearer token sent as Authorization: Bearer <token>.', examples: ['bearer'] }),
  token: secretString('The access token.', '${FHIR_ACCESS_TOKEN}'),
});

const smartAuthSchema = strictObject({
  type: z.literal('smart').meta({ description: 'SMART Backend Services: a client-credentials token from tokenUrl, obtained with a signed JWT assertion (private_key_jwt).', examples: ['smart'] }),
  tokenUrl: z.url({ protocol: /^https?$/ }).meta({ description: "The authorization server's token endpoint (from the server's .well-known/smart-configuration).", examples: ['https://auth.example.org/oauth2/token'] }),
  clientId: z.string().min(1).meta({ description: 'The client id registered with the authorization server (iss and sub of the assertion).', examples: ['terra-fanout'] }),
  privateKey: secretString('The private key the assertion is signed with, PKCS#8 PEM (-----BEGIN PRIVATE KEY-----).', '${FHIR_CLIENT_PRIVATE_KEY}'),
  algorithm: z.enum(['RS384', 'ES384']).default('RS384').meta({ description: 'Signing algorithm of the assertion; SMART requires servers to support RS384 and ES384.', examples: ['RS384', 'ES384'] }),
  keyId: z.string().min(1).optional().meta({ description: 'The kid of the key in the JWKS registered for the client.', examples: ['terra-fanout-2026'] }),
  scope: z.string().min(1).default(DEFAULT_SMART_SCOPE).meta({ description: 'Scopes asked for, space-separated.', examples: [DEFAULT_SMART_SCOPE] }),
});

const noAuthSchema = strictObject({
  type: z.literal('none').meta({ description: 'No Authorization header (a server on a private network, or behind a proxy that authenticates).', examples: ['none'] }),
});

/** The `config:` block of a `type: fhir` destination. */
export const fhirConfigSchema = z
  .strictObject({
    baseUrl: httpUrlWithoutCredentials('Put credentials in auth, not in the URL.').meta({
      description: 'The FHIR R4 base URL: transactions are POSTed here, /metadata is read from here.',
      examples: ['https://fhir.example.org/r4'],
    }),
    auth: z
      .discriminatedUnion('type', [bearerAuthSchema, smartAuthSchema, noAuthSchema])
      .meta({ description: 'How requests are authorized: bearer (a static token), smart (SMART Backend Services client credentials with a JWT assertion) or none.', examples: [{ type: 'bearer', token: '${FHIR_ACCESS_TOKEN}' }] }),
    bundleType: z
      .enum(['transaction', 'batch'])
      .default('transaction')
      .meta({
        description:
          'transaction: one atomic transaction per record (all of its resources or none). batch: the same requests, each applied on its own; use it for servers that limit transactions with conditional requests (Medplum allows 8 entries).',
        examples: ['transaction', 'batch'],
      }),
    timeoutMs: z.int().min(100).max(300_000).default(30_000).meta({ description: 'How long one request (token or FHIR) may take before it counts as a timeout (retried). Milliseconds.', examples: [30_000] }),
    concurrency: z.int().min(1).max(64).default(4).meta({ description: 'Bundles in flight at once. Records of the same user always go one after another, so their Patient is created once.', examples: [4] }),
    checkWrite: z
      .boolean()
      .default(true)
      .meta({
        description:
          'true: check() also writes a probe (a conditional update of one Basic resource per host, identifier {identifierSystemBase}:probe), which proves write access. false: check() only reads /metadata.',
        examples: [true, false],
      }),
  })
  .meta({ description: 'Settings of a FHIR server destination: base URL, authorization, bundle type. See connectors/fhir/README.md.' });

export type FhirConfig = z.infer<typeof fhirConfigSchema>;
export type FhirAuth = FhirConfig['auth'];
