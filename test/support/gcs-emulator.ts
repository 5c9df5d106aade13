/**
 * The Firebase Storage emulator's GCS JSON API (firebase-tools 15.34.2, tools/test-servers), run
 * in-process by test/support/gcs-emulator-launcher.cjs on 127.0.0.1 and a free port; see
 * shared/reference/local-services.md section 3. Point the SDK at it with `apiEndpoint` (it then
 * sends no token).
 *
 * What it is not: buckets exist as soon as they are named (a missing bucket cannot be shown),
 * every caller may do everything (no IAM: 401/403 cannot be shown), ifGenerationMatch is not
 * enforced, and signed URLs are served without checking their signature.
 *
 *   const gcs = useGcsEmulator();
 *   it('...', () => { gcs.current.endpoint ... });
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answersHttp, freePort, startServerProcess, useServer, type UsedServer } from './server-process.js';

/** One request the emulator received: method and URL (path and query). */
export interface EmulatorRequest {
  method: string;
  url: string;
}

export interface GcsEmulator {
  /** e.g. http://127.0.0.1:40123 */
  endpoint: string;
  pid: number;
  /** Every request received so far, oldest first (the launcher keeps the last 5000). */
  requests(): Promise<EmulatorRequest[]>;
  stop(): Promise<void>;
}

/**
 * Keeps Google's SDKs in this process on 127.0.0.1 whatever the caller's shell has set: no
 * metadata-server probe (169.254.169.254), no credentials file, no emulator override. Call at
 * the top of every GCS test file (scripts/test.sh sets the same; this covers a file run alone).
 */
export function isolateGoogleSdks(): void {
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  delete process.env['GOOGLE_APPLICATION_CREDENTIALS'];
  delete process.env['STORAGE_EMULATOR_HOST'];
  delete process.env['GOOGLE_CLOUD_PROJECT'];
  // Where gcloud keeps application default credentials; a folder that does not exist has none.
  process.env['CLOUDSDK_CONFIG'] = join(tmpdir(), 'terra-fanout-no-gcloud-config');
}

export interface FakeServiceAccount {
  clientEmail: string;
  /** The key file's JSON, as `credentials` or a keyFile would hold it. */
  json: string;
  /** To verify what the key signed. */
  publicKey: KeyObject;
}

/** A service-account key made here (RSA 2048): signs locally, never valid at Google. */
export function fakeServiceAccount(name = 'terra-fanout-test'): FakeServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = `${name}@demo-terra-fanout.iam.gserviceaccount.com`;
  const json = JSON.stringify({
    type: 'service_account',
    project_id: 'demo-terra-fanout',
    private_key_id: 'test-key-id',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: clientEmail,
    client_id: '1',
    token_uri: 'http://127.0.0.1:9/token',
  });
  return { clientEmail, json, publicKey };
}

/** The launcher is plain JavaScript and runs from the source tree (dist/ has no copy). */
const launcher = fileURLToPath(new URL('../../../test/support/gcs-emulator-launcher.cjs', import.meta.url));

function isRequestLog(value: unknown): value is EmulatorRequest[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'object' && entry !== null && 'method' in entry && 'url' in entry);
}

export async function startGcsEmulator(): Promise<GcsEmulator> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // The emulator stages blobs under os.tmpdir() and deletes that folder on stop: one per emulator.
  const blobs = await mkdtemp(join(tmpdir(), 'terra-fanout-gcs-emulator-'));
  const server = await startServerProcess({
    name: 'gcs emulator',
    command: process.execPath,
    args: [launcher],
    env: { HOST: '127.0.0.1', PORT: String(port), TMPDIR: blobs, METADATA_SERVER_DETECTION: 'none' },
    ready: () => answersHttp(`${endpoint}/__launcher/requests`),
    scratchDir: blobs,
  });
  return {
    endpoint,
    pid: server.pid,
    async requests() {
      const response = await fetch(`${endpoint}/__launcher/requests`);
      const log: unknown = await response.json();
      if (!isRequestLog(log)) throw new Error('the gcs emulator launcher returned an unexpected request log');
      return log;
    },
    stop: () => server.stop(),
  };
}

/** One emulator for the calling file (or suite): started in before(), stopped in after(). */
export function useGcsEmulator(): UsedServer<GcsEmulator> {
  return useServer(() => startGcsEmulator());
}
