/**
 * moto (https://github.com/getmoto/moto), a real S3 and SQS API server in one process, on
 * 127.0.0.1 and a free port. Preinstalled on these machines (`moto_server`); see
 * shared/reference/local-services.md. Use explicit credentials and `forcePathStyle: true`.
 */
import { answersHttp, freePort, startServerProcess } from './server-process.js';

/** Credentials and region every test client uses with moto; moto accepts any. */
export const motoCredentials = { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' } as const;
export const motoRegion = 'us-east-1';

export interface Moto {
  /** e.g. http://127.0.0.1:40123 */
  endpoint: string;
  /** Forgets every bucket, object and queue. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: 'moto_server',
    command: process.env['MOTO_SERVER'] ?? 'moto_server',
    args: ['-H', '127.0.0.1', '-p', String(port)],
    env: { AWS_EC2_METADATA_DISABLED: 'true' },
    ready: () => answersHttp(`${endpoint}/moto-api/`),
  });
  return {
    endpoint,
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
    },
    stop: () => server.stop(),
  };
}
